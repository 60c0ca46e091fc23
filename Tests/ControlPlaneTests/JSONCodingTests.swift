@testable import ControlPlane
import Foundation
import Testing

@Suite("JSON coding")
struct JSONCodingTests {
    @Test("timestamps are ISO 8601 UTC with milliseconds and parse back", arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"), (1_795_000_000.123, "2026-11-18T11:06:40.123Z"),
        (951_782_400.5, "2000-02-29T00:00:00.500Z"), (-86_400.25, "1969-12-30T23:59:59.750Z"),
    ])
    func timestamps(seconds: Double, expected: String) throws {
        let date = Date(timeIntervalSince1970: seconds)
        let text = JSONCoding.formatTimestamp(date)
        #expect(text == expected)
        let parsed = try #require(JSONCoding.parseTimestamp(text))
        #expect(abs(parsed.timeIntervalSince1970 - (seconds * 1000).rounded(.down) / 1000) < 0.0005)
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
