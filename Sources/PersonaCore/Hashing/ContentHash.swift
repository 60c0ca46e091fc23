/// A 128-bit, non-cryptographic content hash of a text's UTF-8 bytes (MurmurHash3 x64-128,
/// seed 0), stable across processes and platforms, so it can key persisted vectors too.
///
/// Not collision-resistant against an adversary: ``EmbeddingCache`` always compares the
/// exact text as well.
public struct ContentHash: Hashable, Sendable, CustomStringConvertible {
    /// The first 64 bits (MurmurHash3's h1).
    public let high: UInt64
    /// The last 64 bits (MurmurHash3's h2).
    public let low: UInt64

    /// Hashes the UTF-8 encoding of `text` (no Unicode normalisation).
    public init(_ text: String) {
        var text = text
        (high, low) = text.withUTF8 { Self.murmur3(UnsafeRawBufferPointer($0)) }
    }

    /// Hashes raw bytes.
    public init(bytes: UnsafeRawBufferPointer) {
        (high, low) = Self.murmur3(bytes)
    }

    /// 32 lowercase hex digits, `high` first.
    public var description: String {
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return hex(high) + hex(low)
    }

    private static let c1: UInt64 = 0x87c3_7b91_1142_53d5
    private static let c2: UInt64 = 0x4cf5_ad43_2745_937f

    private static func fmix(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    private static func murmur3(_ data: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        let length = data.count
        var h1: UInt64 = 0, h2: UInt64 = 0
        let blocks = length / 16
        for block in 0..<blocks {
            var k1 = UInt64(littleEndian: data.loadUnaligned(fromByteOffset: block * 16, as: UInt64.self))
            var k2 = UInt64(littleEndian: data.loadUnaligned(fromByteOffset: block * 16 + 8, as: UInt64.self))
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
            h1 = rotl(h1, 27); h1 &+= h2; h1 = h1 &* 5 &+ 0x52dc_e729
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
            h2 = rotl(h2, 31); h2 &+= h1; h2 = h2 &* 5 &+ 0x3849_5ab5
        }
        let tail = blocks * 16
        var k1: UInt64 = 0, k2: UInt64 = 0
        let rest = length & 15
        if rest > 8 {
            for i in stride(from: rest - 1, through: 8, by: -1) { k2 ^= UInt64(data[tail + i]) << UInt64((i - 8) * 8) }
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
        }
        if rest > 0 {
            for i in stride(from: min(rest, 8) - 1, through: 0, by: -1) { k1 ^= UInt64(data[tail + i]) << UInt64(i * 8) }
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
        }
        h1 ^= UInt64(length); h2 ^= UInt64(length)
        h1 &+= h2; h2 &+= h1
        h1 = fmix(h1); h2 = fmix(h2)
        h1 &+= h2; h2 &+= h1
        return (h1, h2)
    }
}
