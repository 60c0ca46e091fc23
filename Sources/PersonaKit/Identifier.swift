#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// Generates time-ordered UUIDv7 identifiers (RFC 9562) as lower-case strings.
/// Ids made by one process are strictly increasing, so lists can page by id alone.
public enum Identifier {
    private static let state = Mutex<(lastMillis: UInt64, counter: UInt16)>((0, 0))

    /// A new UUIDv7 string, e.g. `0193a1f4-6c2e-7a10-8b3c-5d1e2f3a4b5c`.
    public static func make(now: Date = Date()) -> String {
        var millis = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        let counter: UInt16 = state.withLock { state in
            if millis <= state.lastMillis {
                millis = state.lastMillis
                state.counter &+= 1
                if state.counter > 0x0fff {
                    millis += 1
                    state.counter = 0
                }
            } else {
                state.counter = UInt16.random(in: 0...0x03ff)
            }
            state.lastMillis = millis
            return state.counter
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8((millis >> (8 * UInt64(5 - i))) & 0xff) }
        bytes[6] = 0x70 | UInt8((counter >> 8) & 0x0f)
        bytes[7] = UInt8(counter & 0xff)
        var generator = SystemRandomNumberGenerator()
        for i in 8..<16 { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        bytes[8] = 0x80 | (bytes[8] & 0x3f)
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
            .uuidString.lowercased()
    }

    /// Whether `value` is a canonical lower- or upper-case UUID string.
    public static func isValid(_ value: String) -> Bool {
        value.utf8.count == 36 && UUID(uuidString: value) != nil
    }
}
