import SystemZlib

/// A PNG decoded far enough to check it: size, colour type, and every scanline unfiltered to
/// 8-bit RGB(A) pixels. Enough for screenshots (8-bit RGB/RGBA, not interlaced).
struct PNGImage {
    var width: Int
    var height: Int
    var channels: Int
    var pixels: [UInt8]

    enum DecodeError: Error { case notPNG, unsupported(String), corrupt(String) }

    init(_ bytes: [UInt8]) throws {
        guard bytes.count > 33, bytes.prefix(8).elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw DecodeError.notPNG }
        func u32(_ at: Int) -> Int { Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) }
        var offset = 8
        var idat: [UInt8] = []
        var header: (width: Int, height: Int, depth: UInt8, color: UInt8, interlace: UInt8)?
        while offset + 12 <= bytes.count {
            let length = u32(offset)
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let data = offset + 8
            guard data + length + 4 <= bytes.count else { throw DecodeError.corrupt("chunk \(type) runs past the end") }
            switch type {
            case "IHDR": header = (u32(data), u32(data + 4), bytes[data + 8], bytes[data + 9], bytes[data + 12])
            case "IDAT": idat.append(contentsOf: bytes[data..<(data + length)])
            default: break
            }
            offset = data + length + 4
            if type == "IEND" { break }
        }
        guard let header else { throw DecodeError.corrupt("no IHDR") }
        guard header.depth == 8, header.interlace == 0, header.color == 2 || header.color == 6 else {
            throw DecodeError.unsupported("depth \(header.depth) colour \(header.color) interlace \(header.interlace)")
        }
        width = header.width
        height = header.height
        channels = header.color == 6 ? 4 : 3
        let stride = width * channels
        let raw = try Self.inflate(idat, expected: height * (stride + 1))
        guard raw.count == height * (stride + 1) else { throw DecodeError.corrupt("\(raw.count) bytes of scanlines, expected \(height * (stride + 1))") }
        pixels = [UInt8](repeating: 0, count: height * stride)
        for row in 0..<height {
            let filter = raw[row * (stride + 1)]
            let line = row * (stride + 1) + 1
            for x in 0..<stride {
                let a = x >= channels ? Int(pixels[row * stride + x - channels]) : 0
                let b = row > 0 ? Int(pixels[(row - 1) * stride + x]) : 0
                let c = x >= channels && row > 0 ? Int(pixels[(row - 1) * stride + x - channels]) : 0
                let value = Int(raw[line + x])
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                case 4:
                    let p = a + b - c
                    let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predicted = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                default: throw DecodeError.corrupt("filter \(filter)")
                }
                pixels[row * stride + x] = UInt8((value + predicted) & 0xFF)
            }
        }
    }

    /// Distinct RGB colours (capped), to tell a blank screen from one with something on it.
    func distinctColours(limit: Int = 1000) -> Int {
        var seen: Set<Int> = []
        var index = 0
        while index + 2 < pixels.count && seen.count < limit {
            seen.insert(Int(pixels[index]) << 16 | Int(pixels[index + 1]) << 8 | Int(pixels[index + 2]))
            index += channels
        }
        return seen.count
    }

    private static func inflate(_ input: [UInt8], expected: Int) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw DecodeError.corrupt("zlib init") }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: expected + 1)
        var source = input
        let status = source.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                return SystemZlib.inflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw DecodeError.corrupt("zlib status \(status)") }
        return Array(output.prefix(Int(stream.total_out)))
    }
}
