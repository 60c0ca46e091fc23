/// A read-only ZIP archive held in memory, parsed from its central directory, with the
/// zip-bomb limits of ``TextExtractor/Configuration``.
///
/// ZIPFoundation's reader is not used for reading: on Linux (0.9.20) it spins forever on a
/// deflate stream that ends before the file does, so this type bounds every read itself and
/// inflates with zlib directly (see `ZipArchive+Inflate.swift`).
struct ZipArchive {
    struct Member {
        var path: String
        var method: UInt16
        var flags: UInt16
        var crc32: UInt32
        var compressedSize: UInt64
        var uncompressedSize: UInt64
        var localHeaderOffset: UInt64
        /// The high byte of "version made by" (3: Unix, so ``externalAttributes`` >> 16 is
        /// `st_mode`).
        var madeBy: UInt8 = 0
        var externalAttributes: UInt32 = 0
    }

    let bytes: [UInt8]
    let limits: TextExtractor.Configuration
    /// Names the archive in messages, e.g. "Word document (.docx)".
    var kind: String
    /// Central-directory order.
    private(set) var members: [Member] = []
    /// Lower-cased path -> index of its first member (OOXML part names ignore case).
    private var index: [String: Int] = [:]
    /// Bytes inflated so far, against `maxTotalUncompressedBytes`.
    var inflatedTotal = 0

    /// Parses the central directory. Throws `corrupt_file` when it is malformed, `too_large`
    /// when it lists more than `maxArchiveEntries` members.
    init(bytes: [UInt8], limits: TextExtractor.Configuration, kind: String) throws {
        self.bytes = bytes
        self.limits = limits
        self.kind = kind
        let directory = try locateCentralDirectory()
        guard directory.count <= UInt64(limits.maxArchiveEntries) else {
            throw ExtractionError(.tooLarge, "The \(kind) has \(directory.count) archive members; at most \(limits.maxArchiveEntries) are accepted.")
        }
        var position = directory.offset
        let end = directory.offset + directory.size
        for _ in 0..<directory.count {
            let member = try readDirectoryRecord(at: &position, end: end)
            if index[member.path.lowercased()] == nil { index[member.path.lowercased()] = members.count }
            members.append(member)
        }
    }

    /// The member stored under `path` (case-insensitive), if any.
    func member(_ path: String) -> Member? {
        index[path.lowercased()].map { members[$0] }
    }

    /// Whether any member's path starts with `prefix` (case-insensitive).
    func containsMember(withPrefix prefix: String) -> Bool {
        let prefix = prefix.lowercased()
        return index.keys.contains { $0.hasPrefix(prefix) }
    }

    func corrupt(_ what: String) -> ExtractionError {
        ExtractionError(.corruptFile, "The \(kind) is corrupt: \(what).")
    }

    // MARK: - Structure

    private struct CentralDirectory {
        var count: UInt64
        var size: UInt64
        var offset: UInt64
    }

    private func locateCentralDirectory() throws -> CentralDirectory {
        // The end record is 22 bytes plus a comment of at most 65,535 bytes.
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        var candidate = bytes.count - 22
        while candidate >= lowest, readUInt32(at: candidate) != 0x0605_4B50 { candidate -= 1 }
        guard candidate >= lowest else { throw corrupt("its ZIP end-of-directory record is missing (truncated file?)") }
        guard readUInt16(at: candidate + 4) == 0, readUInt16(at: candidate + 6) == 0 else {
            throw corrupt("multi-volume ZIP archives are not supported")
        }
        var directory = CentralDirectory(
            count: UInt64(readUInt16(at: candidate + 10)),
            size: UInt64(readUInt32(at: candidate + 12)),
            offset: UInt64(readUInt32(at: candidate + 16))
        )
        if directory.count == 0xFFFF || directory.size == 0xFFFF_FFFF || directory.offset == 0xFFFF_FFFF {
            directory = try readZip64Directory(endRecord: candidate)
        }
        guard directory.offset <= UInt64(bytes.count), directory.size <= UInt64(bytes.count) - directory.offset else {
            throw corrupt("its ZIP central directory lies outside the file")
        }
        return directory
    }

    private func readZip64Directory(endRecord: Int) throws -> CentralDirectory {
        let locator = endRecord - 20
        guard locator >= 0, readUInt32(at: locator) == 0x0706_4B50 else {
            throw corrupt("its ZIP64 directory locator is missing")
        }
        let recordOffset = readUInt64(at: locator + 8)
        guard bytes.count >= 56, recordOffset <= UInt64(bytes.count - 56), readUInt32(at: Int(recordOffset)) == 0x0606_4B50 else {
            throw corrupt("its ZIP64 end-of-directory record is missing")
        }
        let record = Int(recordOffset)
        return CentralDirectory(count: readUInt64(at: record + 32), size: readUInt64(at: record + 40), offset: readUInt64(at: record + 48))
    }

    private func readDirectoryRecord(at position: inout UInt64, end: UInt64) throws -> Member {
        guard position + 46 <= end, readUInt32(at: Int(position)) == 0x0201_4B50 else {
            throw corrupt("its ZIP central directory is malformed")
        }
        let start = Int(position)
        let nameLength = Int(readUInt16(at: start + 28))
        let extraLength = Int(readUInt16(at: start + 30))
        let commentLength = Int(readUInt16(at: start + 32))
        let recordEnd = position + 46 + UInt64(nameLength + extraLength + commentLength)
        guard recordEnd <= end else { throw corrupt("its ZIP central directory is truncated") }
        var member = Member(
            path: String(decoding: bytes[(start + 46)..<(start + 46 + nameLength)], as: UTF8.self),
            method: readUInt16(at: start + 10),
            flags: readUInt16(at: start + 8),
            crc32: readUInt32(at: start + 16),
            compressedSize: UInt64(readUInt32(at: start + 20)),
            uncompressedSize: UInt64(readUInt32(at: start + 24)),
            localHeaderOffset: UInt64(readUInt32(at: start + 42)),
            madeBy: UInt8(readUInt16(at: start + 4) >> 8),
            externalAttributes: readUInt32(at: start + 38)
        )
        applyZip64Extra(to: &member, extra: (start + 46 + nameLength)..<(start + 46 + nameLength + extraLength))
        position = recordEnd
        return member
    }

    /// Replaces 32-bit fields saturated at 0xFFFFFFFF with their ZIP64 extra-field values.
    private func applyZip64Extra(to member: inout Member, extra: Range<Int>) {
        var field = extra.lowerBound
        while field + 4 <= extra.upperBound {
            let id = readUInt16(at: field)
            let size = Int(readUInt16(at: field + 2))
            let dataEnd = min(field + 4 + size, extra.upperBound)
            if id == 0x0001 {
                var cursor = field + 4
                func next() -> UInt64? {
                    guard cursor + 8 <= dataEnd else { return nil }
                    defer { cursor += 8 }
                    return readUInt64(at: cursor)
                }
                if member.uncompressedSize == 0xFFFF_FFFF, let value = next() { member.uncompressedSize = value }
                if member.compressedSize == 0xFFFF_FFFF, let value = next() { member.compressedSize = value }
                if member.localHeaderOffset == 0xFFFF_FFFF, let value = next() { member.localHeaderOffset = value }
                return
            }
            field = dataEnd
        }
    }

    /// Where the member's stored bytes are, checked against the file's bounds.
    func dataRange(of member: Member) throws -> Range<Int> {
        let header = member.localHeaderOffset
        guard header <= UInt64(bytes.count), UInt64(bytes.count) - header >= 30,
              readUInt32(at: Int(header)) == 0x0403_4B50
        else { throw corrupt("the local header of \(member.path) is missing") }
        let start = header + 30 + UInt64(readUInt16(at: Int(header) + 26)) + UInt64(readUInt16(at: Int(header) + 28))
        guard start <= UInt64(bytes.count), member.compressedSize <= UInt64(bytes.count) - start else {
            throw corrupt("the data of \(member.path) runs past the end of the file")
        }
        return Int(start)..<Int(start + member.compressedSize)
    }

    // MARK: - Little-endian fields (callers check bounds)

    func readUInt16(at offset: Int) -> UInt16 {
        guard offset >= 0, offset + 2 <= bytes.count else { return 0 }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    func readUInt32(at offset: Int) -> UInt32 {
        guard offset >= 0, offset + 4 <= bytes.count else { return 0 }
        return UInt32(readUInt16(at: offset)) | UInt32(readUInt16(at: offset + 2)) << 16
    }

    func readUInt64(at offset: Int) -> UInt64 {
        guard offset >= 0, offset + 8 <= bytes.count else { return 0 }
        return UInt64(readUInt32(at: offset)) | UInt64(readUInt32(at: offset + 4)) << 32
    }
}
