import SystemZlib  // the system zlib (Sources/SystemZlib)

extension ZipArchive {
    /// The uncompressed bytes of the member at `path` (case-insensitive).
    ///
    /// Checks the declared sizes first (per-member cap, archive total, compression ratio),
    /// then counts the bytes as they are inflated and stops as soon as they pass a cap, the
    /// ratio or the declared size: headers are not trusted.
    /// - Throws: `too_large` past a limit; `corrupt_file` for a missing member, encryption,
    ///   an unknown method, bad deflate data, a size or CRC-32 mismatch.
    mutating func read(_ path: String) throws -> [UInt8] {
        guard let member = member(path) else { throw corrupt("\(path) is missing") }
        return try read(member)
    }

    /// The uncompressed bytes of `member`, with the checks of ``read(_:)``.
    mutating func read(_ member: Member) throws -> [UInt8] {
        if member.flags & 1 != 0 { throw corrupt("\(member.path) is encrypted") }
        try checkDeclaredSize(of: member)
        let range = try dataRange(of: member)
        let limit = min(
            limits.maxEntryBytes,
            max(0, limits.maxTotalUncompressedBytes - inflatedTotal),
            Int(clamping: member.uncompressedSize)
        )
        var output: [UInt8]
        switch member.method {
        case 0:
            guard member.compressedSize == member.uncompressedSize else {
                throw corrupt("the sizes of stored member \(member.path) disagree")
            }
            output = Array(bytes[range])
        case 8:
            output = try inflate(range, member: member, limit: limit)
        default:
            throw corrupt("\(member.path) uses an unsupported compression method (\(member.method))")
        }
        guard UInt64(output.count) == member.uncompressedSize else {
            throw corrupt("\(member.path) is shorter than its declared size")
        }
        guard crc32(of: output) == member.crc32 else { throw corrupt("the checksum of \(member.path) does not match") }
        inflatedTotal += output.count
        return output
    }

    private func checkDeclaredSize(of member: Member) throws {
        let size = member.uncompressedSize
        if size > UInt64(limits.maxEntryBytes) {
            throw tooLarge("\(member.path) would expand to \(size) bytes (limit \(limits.maxEntryBytes))")
        }
        if size > UInt64(max(0, limits.maxTotalUncompressedBytes - inflatedTotal)) {
            throw tooLarge("its contents would expand to more than \(limits.maxTotalUncompressedBytes) bytes")
        }
        if exceedsRatio(output: size, compressed: member.compressedSize) {
            throw tooLarge("\(member.path) is compressed more than \(limits.maxCompressionRatio):1, a sign of a zip bomb")
        }
    }

    private func exceedsRatio(output: UInt64, compressed: UInt64) -> Bool {
        output > UInt64(limits.compressionRatioThresholdBytes)
            && output / max(compressed, 1) >= UInt64(limits.maxCompressionRatio)
    }

    private func tooLarge(_ what: String) -> ExtractionError {
        ExtractionError(.tooLarge, "The \(kind) is too large to extract: \(what).")
    }

    private func inflate(_ range: Range<Int>, member: Member, limit: Int) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ExtractionError(.extractionFailed, "The \(kind) could not be read: zlib failed to start.")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(min(limit, 1 << 20))
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        try bytes.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress else { throw corrupt("\(member.path) is empty") }
            stream.next_in = UnsafeMutablePointer(mutating: base + range.lowerBound)
            // Members of a file capped at Int bytes fit zlib's 32-bit counter in a few rounds.
            var remainingInput = range.count
            while true {
                if stream.avail_in == 0 && remainingInput > 0 {
                    let feed = min(remainingInput, Int(UInt32.max))
                    stream.avail_in = UInt32(feed)
                    remainingInput -= feed
                }
                let inputBefore = stream.avail_in
                let status = buffer.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    return CZlibShim.inflate(&stream)
                }
                let produced = buffer.count - Int(stream.avail_out)
                if output.count + produced > limit {
                    throw overrun(member: member, produced: output.count + produced, limit: limit)
                }
                if exceedsRatio(output: UInt64(output.count + produced), compressed: UInt64(range.count)) {
                    throw tooLarge("\(member.path) is compressed more than \(limits.maxCompressionRatio):1, a sign of a zip bomb")
                }
                output.append(contentsOf: buffer[0..<produced])
                switch status {
                case Z_STREAM_END:
                    return
                case Z_OK, Z_BUF_ERROR:
                    // No output and no input consumed: the stream needs bytes the member lacks.
                    let stalled = produced == 0 && stream.avail_in == inputBefore
                    if stalled && (stream.avail_in > 0 || remainingInput == 0) {
                        throw corrupt("the compressed data of \(member.path) ends early")
                    }
                default:
                    throw corrupt("the compressed data of \(member.path) is invalid")
                }
            }
        }
        return output
    }

    private func overrun(member: Member, produced: Int, limit: Int) -> ExtractionError {
        if limit == Int(clamping: member.uncompressedSize) {
            return tooLarge("\(member.path) expands beyond its declared size, a sign of a zip bomb")
        }
        return tooLarge("\(member.path) expands to more than \(limit) bytes")
    }

    private func crc32(of data: [UInt8]) -> UInt32 {
        data.withUnsafeBufferPointer { buffer in
            var crc: UInt = 0
            var offset = 0
            while offset < buffer.count {
                let length = min(buffer.count - offset, Int(UInt32.max))
                crc = CZlibShim.crc32(crc, buffer.baseAddress.map { $0 + offset }, UInt32(length))
                offset += length
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }
}

/// zlib's C functions, named apart from the methods above.
private enum CZlibShim {
    static func inflate(_ stream: inout z_stream) -> Int32 {
        SystemZlib.inflate(&stream, Z_NO_FLUSH)
    }

    static func crc32(_ crc: UInt, _ buffer: UnsafePointer<UInt8>?, _ length: UInt32) -> UInt {
        SystemZlib.crc32(crc, buffer, length)
    }
}
