import Crypto

extension Sequence where Element == UInt8 {
    /// Lower-case hex of the bytes (digests, MACs, random tokens).
    var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
