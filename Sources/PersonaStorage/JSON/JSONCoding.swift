import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The JSON encoder and decoder used for API bodies and JSON stored in text columns:
/// ISO 8601 dates with fractional seconds, sorted keys for stable output.
package enum JSONCoding {
    package static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(formatTimestamp(date))
        }
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    package static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = parseTimestamp(text) { return date }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 time: \(text)")
        }
        return decoder
    }()

    package static func encodeString<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    package static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decoder.decode(type, from: Data(text.utf8))
    }

    /// `2026-11-27T08:51:32.123Z`: ISO 8601 in UTC with milliseconds, written by hand because
    /// Foundation's format styles cost several microseconds per call on the hot list path.
    package static func formatTimestamp(_ date: Date) -> String {
        var out = [UInt8]()
        out.reserveCapacity(24)
        writeTimestamp(date, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends ``formatTimestamp(_:)``'s text: the civil date from the day count (Hinnant's
    /// days-to-civil), so no `gmtime_r` (it takes the time-zone lock) and no allocation.
    package static func writeTimestamp(_ date: Date, to out: inout [UInt8]) {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let days = millis >= 0 ? millis / 86_400_000 : (millis - 86_399_999) / 86_400_000
        let ofDay = Int(millis - days * 86_400_000)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0))
        let clock = ofDay / 1000
        let fields: (Int, Int, Int, Int, Int, Int, Int) = (year, month, day, clock / 3600, clock / 60 % 60, clock % 60, ofDay % 1000)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
            func two(_ value: Int, at index: Int) {
                buffer[index] = UInt8(truncatingIfNeeded: 48 + value / 10)
                buffer[index + 1] = UInt8(truncatingIfNeeded: 48 + value % 10)
            }
            two(fields.0 / 100 % 100, at: 0); two(fields.0 % 100, at: 2); buffer[4] = 45
            two(fields.1, at: 5); buffer[7] = 45
            two(fields.2, at: 8); buffer[10] = 84
            two(fields.3, at: 11); buffer[13] = 58
            two(fields.4, at: 14); buffer[16] = 58
            two(fields.5, at: 17); buffer[19] = 46
            buffer[20] = UInt8(truncatingIfNeeded: 48 + fields.6 / 100); two(fields.6 % 100, at: 21); buffer[23] = 90
            out.append(contentsOf: UnsafeBufferPointer(buffer))
        }
    }

    /// Parses an ISO 8601 time with or without fractional seconds.
    package static func parseTimestamp(_ text: String) -> Date? {
        (try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: .iso8601))
    }
}
