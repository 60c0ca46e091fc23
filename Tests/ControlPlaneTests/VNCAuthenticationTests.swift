import ControlPlane
import Foundation
import Testing
import TestTraits

/// The desktop proxy's VNC authentication: DES (FIPS 46-3) and RFB's key from the password.
@Suite("VNC authentication")
struct VNCAuthenticationTests {
    static func bytes(_ hex: String) -> [UInt8] {
        stride(from: 0, to: hex.count, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! }
    }

    @Test("DES gives the standard's known answer, and each S-box row is a permutation of 0-15")
    func knownAnswer() {
        #expect(DES.encrypt(Self.bytes("0123456789ABCDEF"), key: Self.bytes("133457799BBCDFF1")) == Self.bytes("85E813540F0AB405"))
        // The all-zero key and block (a second, independent vector).
        #expect(DES.encrypt([UInt8](repeating: 0, count: 8), key: [UInt8](repeating: 0, count: 8)) == Self.bytes("8CA64DE9C1B123A7"))
        for box in DES.sBoxes {
            for row in 0..<4 { #expect(Set(box[row * 16..<(row + 1) * 16]) == Set(0..<16)) }
        }
    }

    @Test("the challenge's answer is what openssl's DES gives under RFB's bit-reversed key, for random challenges and passwords")
    func matchesOpenSSL() async throws {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<12 {
            let challenge = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let password = String((0..<(round % 10 + 1)).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement(using: &generator)! })
            let key = VNCAuthentication.key(password)
            #expect(key == VNCHandshake.vncKey(password))
            let result = try await TestCommand.run("/usr/bin/openssl", ["enc", "-des-ecb", "-nopad", "-K", key.map { String(format: "%02x", $0) }.joined(),
                                                                        "-provider", "legacy", "-provider", "default"], input: Data(challenge))
            try #require(result.succeeded, "openssl: \(result.errors)")
            #expect(VNCAuthentication.response(challenge: challenge, password: password) == Array(result.data), "password \(password)")
        }
    }
}
