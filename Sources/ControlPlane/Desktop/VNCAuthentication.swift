/// RFB's "VNC authentication" (security type 2): the server sends 16 random bytes and the
/// client answers them encrypted with DES in ECB mode, under a key made of the password's first
/// 8 bytes with each byte's bits reversed (RFC 6143 §7.2.2 and its errata).
///
/// DES is broken as a cipher and is here only because x11vnc speaks nothing stronger on its
/// loopback port; the browser never takes part (the desktop proxy authenticates for it). No
/// library we depend on exposes DES (swift-crypto keeps BoringSSL's internal), so this is the
/// FIPS 46-3 algorithm, bit by bit: it runs once per desktop session on 16 bytes.
package enum VNCAuthentication {
    /// The answer to `challenge` (16 bytes) under `password`.
    package static func response(challenge: [UInt8], password: String) -> [UInt8] {
        precondition(challenge.count == 16, "a VNC challenge is 16 bytes")
        let key = self.key(password)
        return DES.encrypt(Array(challenge[0..<8]), key: key) + DES.encrypt(Array(challenge[8..<16]), key: key)
    }

    /// The DES key: the password's first 8 bytes, zero-padded, each byte's bits reversed.
    package static func key(_ password: String) -> [UInt8] {
        var key = Array(password.utf8.prefix(8))
        key += [UInt8](repeating: 0, count: 8 - key.count)
        return key.map { byte in (0..<8).reduce(UInt8(0)) { $0 | ((byte >> $1) & 1) << (7 - $1) } }
    }
}

/// DES encryption of one 64-bit block (FIPS 46-3). Tables count bits from 1 at the most
/// significant end, as the standard prints them.
package enum DES {
    package static func encrypt(_ block: [UInt8], key: [UInt8]) -> [UInt8] {
        precondition(block.count == 8 && key.count == 8, "DES works on 8-byte blocks and keys")
        let subkeys = schedule(number(key))
        let permuted = permute(number(block), initial, width: 64)
        var left = UInt32(truncatingIfNeeded: permuted >> 32), right = UInt32(truncatingIfNeeded: permuted)
        for subkey in subkeys {
            (left, right) = (right, left ^ feistel(right, subkey))
        }
        let output = permute(UInt64(right) << 32 | UInt64(left), final, width: 64)
        return (0..<8).map { UInt8(truncatingIfNeeded: output >> (56 - 8 * $0)) }
    }

    private static func number(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    private static func feistel(_ half: UInt32, _ subkey: UInt64) -> UInt32 {
        let mixed = permute(UInt64(half), expansion, width: 32) ^ subkey
        var substituted: UInt64 = 0
        for box in 0..<8 {
            let six = Int(mixed >> (42 - 6 * box)) & 0x3f
            let row = (six >> 4) & 0b10 | six & 1, column = (six >> 1) & 0xf
            substituted = substituted << 4 | UInt64(sBoxes[box][row * 16 + column])
        }
        return UInt32(permute(substituted, permutation, width: 32))
    }

    private static func schedule(_ key: UInt64) -> [UInt64] {
        let cd = permute(key, choice1, width: 64)
        var c = cd >> 28, d = cd & 0xfff_ffff
        return shifts.map { shift in
            c = (c << shift | c >> (28 - shift)) & 0xfff_ffff
            d = (d << shift | d >> (28 - shift)) & 0xfff_ffff
            return permute(c << 28 | d, choice2, width: 56)
        }
    }

    /// Output bit i is input bit `table[i]` (1 = the most significant of `width` bits).
    private static func permute(_ value: UInt64, _ table: [Int], width: Int) -> UInt64 {
        table.reduce(0) { $0 << 1 | (value >> UInt64(width - $1)) & 1 }
    }

    private static let initial = [58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
                                  62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
                                  57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
                                  61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7]
    /// The inverse of `initial`.
    private static let final: [Int] = {
        var table = [Int](repeating: 0, count: 64)
        for (index, source) in initial.enumerated() { table[source - 1] = index + 1 }
        return table
    }()
    private static let expansion = [32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
                                    16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1]
    private static let permutation = [16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
                                      2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25]
    private static let choice1 = [57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3,
                                  60, 52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6,
                                  61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4]
    private static let choice2 = [14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
                                  41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32]
    private static let shifts: [UInt64] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1]
    /// S1 to S8, each four rows of 16.
    package static let sBoxes: [[UInt8]] = [
        [14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
         4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13],
        [15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
         0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9],
        [10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
         13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12],
        [7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
         10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14],
        [2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
         4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3],
        [12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
         9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13],
        [4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
         1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12],
        [13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
         7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11],
    ]
}
