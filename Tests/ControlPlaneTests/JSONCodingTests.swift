@testable import ControlPlane
import Foundation
import Testing
import PersonaStorage

@Suite("JSON coding")
struct JSONCodingTests {
    @Test("timestamps are ISO 8601 UTC with milliseconds and parse back", arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"), (1_795_000_000.123, "2026-11-18T11:06:40.123Z"),
        (951_782_400.5, "2000-02-29T00:00:00.500Z"), (-86_400.25, "1969-12-30T23:59:59.750Z"),
        (1_709_164_799.999, "2024-02-28T23:59:59.999Z"), (4_102_444_800, "2100-01-01T00:00:00.000Z"),
        (4_107_456_000, "2100-02-28T00:00:00.000Z"), (4_107_542_400, "2100-03-01T00:00:00.000Z"),
        (-2_208_988_800, "1900-01-01T00:00:00.000Z"), (253_402_300_799, "9999-12-31T23:59:59.000Z"),
    ])
    func timestamps(seconds: Double, expected: String) throws {
        let date = Date(timeIntervalSince1970: seconds)
        let text = JSONCoding.formatTimestamp(date)
        #expect(text == expected)
        let parsed = try #require(JSONCoding.parseTimestamp(text))
        #expect(abs(parsed.timeIntervalSince1970 - (seconds * 1000).rounded(.down) / 1000) < 0.0005)
    }
}

@Suite("Timestamps against the C library")
struct TimestampCalendarTests {
    @Test("10,000 spread-out times format as gmtime_r reads them")
    func matchesGmtime() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<10_000 {
            let date = Date(timeIntervalSince1970: Double(Int64.random(in: -2_208_988_800_000...253_402_300_799_999, using: &generator)) / 1000)
            let text = JSONCoding.formatTimestamp(date)
            // The milliseconds as the formatter takes them (a double far from 1970 holds no exact
            // millisecond); what is checked is the calendar arithmetic.
            let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
            var seconds = time_t(millis >= 0 ? millis / 1000 : (millis - 999) / 1000)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                                  Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec),
                                  Int(millis - Int64(seconds) * 1000))
            #expect(text == expected, "\(millis) ms")
            if text != expected { return }
        }
    }
}

@Suite("Hand-written JSON")
struct JSONWriterTests {
    @Test("a persona written by hand decodes to the same value as JSONEncoder's output")
    func personaRoundTrip() throws {
        let persona = PersonaDTO(id: "0193a1f4-6c2e-7a10-8b3c-5d1e2f3a4b5c", name: "Quote \" backslash \\ newline \n tab \t é \u{01}",
                                 description: nil, systemPrompt: "Be brief.", theme: ["primary": "#7E5DFF", "n": 3],
                                 ownerId: "0193a1f4-6c2e-7a10-8b3c-5d1e2f3a4b5d", isActive: true, role: .editor,
                                 createdAt: Date(timeIntervalSince1970: 1_795_000_000.123), updatedAt: Date(timeIntervalSince1970: 1_795_000_001))
        var writer = JSONWriter()
        persona.write(to: &writer)
        let ours = try JSONCoding.decoder.decode(PersonaDTO.self, from: Data(writer.bytes))
        let reference = try JSONCoding.decoder.decode(PersonaDTO.self, from: JSONCoding.encoder.encode(persona))
        #expect(ours == reference)
        #expect(ours.name == persona.name)
    }
}
