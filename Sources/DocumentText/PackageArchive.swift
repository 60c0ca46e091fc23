import SystemZlib  // the system zlib (Sources/SystemZlib)

/// The entries of a package archive held in memory: a `.tar.gz` (`.tgz`), a plain `.tar` or a
/// `.zip`, told apart by their first bytes. Reading applies the zip-bomb limits of
/// ``TextExtractor/Configuration`` (entry count, bytes per entry and in all, compression
/// ratio) while inflating, so a hostile archive costs at most those limits.
///
/// Entries are reported as stored: paths are not yet checked (a caller installing them
/// refuses absolute paths, `..`, links out of the package and the like).
public struct PackageArchive: Sendable {
    /// What an entry is.
    public enum EntryKind: Sendable, Hashable {
        case file
        case directory
        /// A symbolic link and its target, as stored.
        case symlink(String)
        /// A tar hard link to another entry.
        case hardLink(String)
        /// A device, FIFO or other special file (its tar type flag or zip mode).
        case special(String)
    }

    /// One entry.
    public struct Entry: Sendable {
        public var path: String
        public var kind: EntryKind
        /// Permission bits (`0o7777` at most); archives without them get 0644/0755.
        public var mode: UInt32
        /// A file's contents (empty for other kinds).
        public var bytes: [UInt8]
    }

    /// Which container format the bytes were.
    public enum Format: String, Sendable {
        case tarGzip = "tar.gz", tar, zip
    }

    public var format: Format
    public var entries: [Entry]

    /// Reads `bytes`.
    /// - Throws: ``ExtractionError``: `unsupported_type` (neither gzip, tar nor zip),
    ///   `corrupt_file` (malformed headers, bad checksums, truncated data), `too_large` (past a
    ///   limit of `limits`, or compressed more than its ratio allows).
    public static func read(_ bytes: [UInt8], limits: TextExtractor.Configuration = TextExtractor.Configuration()) throws -> PackageArchive {
        guard bytes.count <= limits.maxFileBytes else {
            throw ExtractionError(.tooLarge, "The package is \(bytes.count) bytes; at most \(limits.maxFileBytes) are accepted.")
        }
        if bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B {
            let tar = try gunzip(bytes, limits: limits)
            return PackageArchive(format: .tarGzip, entries: try readTar(tar, limits: limits))
        }
        if bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B, bytes[2] == 0x03 || bytes[2] == 0x05 {
            return PackageArchive(format: .zip, entries: try readZip(bytes, limits: limits))
        }
        if bytes.count >= 512, Array(bytes[257..<262]) == Array("ustar".utf8) {
            return PackageArchive(format: .tar, entries: try readTar(bytes, limits: limits))
        }
        throw ExtractionError(.unsupportedType, "The package is not a .tar.gz, .tar or .zip archive.")
    }

    // MARK: - gzip

    static func gunzip(_ bytes: [UInt8], limits: TextExtractor.Configuration) throws -> [UInt8] {
        var stream = z_stream()
        // 16 + MAX_WBITS: a gzip header and trailer (CRC-32 and size are checked by zlib).
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ExtractionError(.extractionFailed, "The package could not be read: zlib failed to start.")
        }
        defer { inflateEnd(&stream) }
        let limit = limits.maxTotalUncompressedBytes
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        try bytes.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress else { return }
            stream.next_in = UnsafeMutablePointer(mutating: base)
            stream.avail_in = UInt32(all.count)
            while true {
                let inputBefore = stream.avail_in
                let status = buffer.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    return SystemZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = buffer.count - Int(stream.avail_out)
                if output.count + produced > limit {
                    throw ExtractionError(.tooLarge, "The package expands to more than \(limit) bytes.")
                }
                let total = output.count + produced
                if total > limits.compressionRatioThresholdBytes, total / max(all.count, 1) >= limits.maxCompressionRatio {
                    throw ExtractionError(.tooLarge, "The package is compressed more than \(limits.maxCompressionRatio):1, a sign of a zip bomb.")
                }
                output.append(contentsOf: buffer[0..<produced])
                switch status {
                case Z_STREAM_END:
                    // Concatenated gzip members (`cat a.gz b.gz`) are one stream to gunzip.
                    guard stream.avail_in > 0 else { return }
                    guard inflateReset(&stream) == Z_OK else { throw Self.corrupt("its gzip stream is malformed") }
                case Z_OK, Z_BUF_ERROR:
                    if produced == 0 && stream.avail_in == inputBefore { throw Self.corrupt("its gzip data ends early") }
                default:
                    throw Self.corrupt("its gzip data is invalid")
                }
            }
        }
        return output
    }

    // MARK: - tar (ustar, pax and GNU long names)

    static func readTar(_ bytes: [UInt8], limits: TextExtractor.Configuration) throws -> [Entry] {
        var entries: [Entry] = []
        var offset = 0
        var paxPath: String?
        var paxLink: String?
        var paxSize: Int?
        var total = 0
        while offset + 512 <= bytes.count {
            let header = bytes[offset..<(offset + 512)]
            if header.allSatisfy({ $0 == 0 }) { break }  // the end-of-archive blocks
            guard checksumMatches(header) else { throw corrupt("a tar header's checksum does not match") }
            let type = header[header.startIndex + 156]
            guard let declared = octal(header, 124, 12) else { throw corrupt("a tar header's size field is malformed") }
            let size = paxSize ?? declared
            offset += 512
            guard size >= 0, size <= bytes.count - offset else { throw corrupt("a tar entry runs past the end of the archive") }
            let data = Array(bytes[offset..<(offset + size)])
            offset += (size + 511) / 512 * 512
            switch type {
            case UInt8(ascii: "x"):
                let records = paxRecords(data)
                paxPath = records["path"]
                paxLink = records["linkpath"]
                paxSize = records["size"].flatMap { Int($0) }
                continue
            case UInt8(ascii: "g"):
                continue
            case UInt8(ascii: "L"):
                paxPath = cString(data[...])
                continue
            case UInt8(ascii: "K"):
                paxLink = cString(data[...])
                continue
            default:
                break
            }
            var path = cString(header, 0, 100)
            // POSIX ustar ("ustar\0") keeps a path prefix at 345; GNU's "ustar  " keeps times there.
            if Array(header[(header.startIndex + 257)..<(header.startIndex + 263)]) == Array("ustar\0".utf8) {
                let prefix = cString(header, 345, 155)
                if !prefix.isEmpty { path = prefix + "/" + path }
            }
            path = paxPath ?? path
            let link = paxLink ?? cString(header, 157, 100)
            paxPath = nil
            paxLink = nil
            paxSize = nil
            let mode = UInt32(octal(header, 100, 8) ?? 0o644) & 0o7777
            let kind: EntryKind
            switch type {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = path.hasSuffix("/") ? .directory : .file
            case UInt8(ascii: "5"): kind = .directory
            case UInt8(ascii: "2"): kind = .symlink(link)
            case UInt8(ascii: "1"): kind = .hardLink(link)
            default: kind = .special("tar type \(Character(Unicode.Scalar(type)))")
            }
            if kind == .file {
                guard size <= limits.maxEntryBytes else {
                    throw ExtractionError(.tooLarge, "\(path) is \(size) bytes; one file may have at most \(limits.maxEntryBytes).")
                }
                total += size
            }
            entries.append(Entry(path: path, kind: kind, mode: mode, bytes: kind == .file ? data : []))
            guard entries.count <= limits.maxArchiveEntries else {
                throw ExtractionError(.tooLarge, "The package has more than \(limits.maxArchiveEntries) entries.")
            }
            guard total <= limits.maxTotalUncompressedBytes else {
                throw ExtractionError(.tooLarge, "The package's files add up to more than \(limits.maxTotalUncompressedBytes) bytes.")
            }
        }
        return entries
    }

    private static func checksumMatches(_ header: ArraySlice<UInt8>) -> Bool {
        guard let stored = octal(header, 148, 8) else { return false }
        var sum = 0
        for (index, byte) in header.enumerated() { sum += (148..<156).contains(index) ? 32 : Int(byte) }
        return sum == stored
    }

    /// An octal number field (NUL/space padded); `nil` when malformed or base-256 encoded.
    private static func octal(_ header: ArraySlice<UInt8>, _ at: Int, _ length: Int) -> Int? {
        let field = header[(header.startIndex + at)..<(header.startIndex + at + length)]
        if let first = field.first, first & 0x80 != 0 { return nil }
        var value = 0
        var digits = 0
        for byte in field {
            if byte == 0 || byte == 32 { if digits > 0 { break } else { continue } }
            guard (48...55).contains(byte), value < Int.max >> 3 else { return nil }
            value = value << 3 | Int(byte - 48)
            digits += 1
        }
        return value
    }

    private static func cString(_ header: ArraySlice<UInt8>, _ at: Int, _ length: Int) -> String {
        cString(header[(header.startIndex + at)..<(header.startIndex + at + length)])
    }

    private static func cString(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// pax extended header records: `"<length> <key>=<value>\n"`.
    private static func paxRecords(_ data: [UInt8]) -> [String: String] {
        var out: [String: String] = [:]
        var index = 0
        while index < data.count {
            guard let space = data[index...].firstIndex(of: 32), let length = Int(String(decoding: data[index..<space], as: UTF8.self)),
                  length > 0, index + length <= data.count else { break }
            let record = data[(space + 1)..<(index + length)]
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
                var value = record[(equals + 1)...]
                if value.last == 10 { value = value.dropLast() }
                out[key] = String(decoding: value, as: UTF8.self)
            }
            index += length
        }
        return out
    }

    // MARK: - zip

    static func readZip(_ bytes: [UInt8], limits: TextExtractor.Configuration) throws -> [Entry] {
        var archive = try ZipArchive(bytes: bytes, limits: limits, kind: "package")
        var entries: [Entry] = []
        for member in archive.members {
            let unix = member.madeBy == 3 ? member.externalAttributes >> 16 : 0
            let type = unix & 0o170000
            let mode = unix & 0o7777
            if member.path.hasSuffix("/") || type == 0o040000 {
                entries.append(Entry(path: member.path, kind: .directory, mode: mode == 0 ? 0o755 : mode, bytes: []))
                continue
            }
            let data = try archive.read(member)
            switch type {
            case 0, 0o100000:
                entries.append(Entry(path: member.path, kind: .file, mode: mode == 0 ? 0o644 : mode, bytes: data))
            case 0o120000:
                entries.append(Entry(path: member.path, kind: .symlink(String(decoding: data, as: UTF8.self)), mode: 0o777, bytes: []))
            default:
                entries.append(Entry(path: member.path, kind: .special("mode \(String(type, radix: 8))"), mode: mode, bytes: []))
            }
        }
        return entries
    }

    static func corrupt(_ what: String) -> ExtractionError {
        ExtractionError(.corruptFile, "The package is corrupt: \(what).")
    }
}
