#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Dates as mail writes them: RFC 5322 `Date:` headers (with the obsolete forms real mail
/// still carries: two-digit years, zone names, comments, missing seconds or weekday) and IMAP's
/// INTERNALDATE. Pure arithmetic: no calendar, no locale.
package enum MailDate {
    /// `Tue, 1 Jul 2003 10:52:37 +0200` and its variants; nil when no day, month, year and
    /// time can be found or they are out of range.
    package static func parse(_ text: String) -> Date? {
        var cleaned = ""
        var depth = 0
        for character in text {
            if character == "(" { depth += 1; continue }
            if character == ")" { depth = max(0, depth - 1); continue }
            guard depth == 0 else { continue }
            cleaned.append(character == "," ? " " : character)
        }
        return parse(tokens: cleaned.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }).map(String.init))
    }

    /// IMAP's INTERNALDATE: `17-Jul-1996 02:44:25 -0700`.
    package static func parseInternalDate(_ text: String) -> Date? {
        // The day, month and year are joined by dashes; a zone may start with one.
        parse(tokens: text.split(separator: " ").flatMap { token -> [String] in
            token.contains(":") || token.hasPrefix("+") || token.hasPrefix("-") ? [String(token)] : token.split(separator: "-").map(String.init)
        })
    }

    /// `Tue, 01 Jul 2003 10:52:37 +0000`, for messages we write.
    package static func format(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let day = CivilDate(secondsSince1970: seconds)
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((seconds / 86_400) % 7 + 7) % 7)]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekday), \(two(day.day)) \(CivilDate.monthNames[day.month - 1]) \(day.year) \(two(day.hour)):\(two(day.minute)):\(two(day.second)) +0000"
    }

    private static func parse(tokens: [String]) -> Date? {
        var day: Int?, month: Int?, year: Int?, time: (Int, Int, Int)?, offset = 0
        for token in tokens {
            let lower = token.lowercased()
            if time == nil, token.contains(":") {
                let parts = token.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
                guard parts.count >= 2, parts.count <= 3, let hour = parts[0], let minute = parts[1] else { return nil }
                let second = parts.count == 3 ? parts[2] : 0
                guard let second else { return nil }
                time = (hour, minute, second)
            } else if month == nil, lower.count >= 3, let index = CivilDate.monthNames.firstIndex(where: { lower.hasPrefix($0.lowercased()) }) {
                month = index + 1
            } else if let number = Int(token), token.first?.isNumber == true {
                if day == nil, token.count <= 2 { day = number } else if year == nil { year = number }
            } else if (token.hasPrefix("+") || token.hasPrefix("-")), token.count == 5, let value = Int(token.dropFirst()) {
                offset = (token.hasPrefix("-") ? -1 : 1) * ((value / 100) * 3600 + (value % 100) * 60)
            } else if let zone = zones[lower] {
                offset = zone * 3600
            }
        }
        guard let day, let month, var year else { return nil }
        let (hour, minute, second) = time ?? (0, 0, 0)
        if year < 50 { year += 2000 } else if year < 1000 { year += 1900 }
        guard (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second),
              (1900...9999).contains(year) else { return nil }
        let seconds = CivilDate.days(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    private static let zones: [String: Int] = [
        "ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6,
        "pst": -8, "pdt": -7, "cet": 1, "cest": 2, "bst": 1,
    ]
}

/// A day and time in UTC, to and from seconds since 1970 (Howard Hinnant's civil-date
/// algorithms, exact for every Gregorian date).
struct CivilDate {
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int

    init(secondsSince1970 seconds: Int64) {
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        hour = Int(rest / 3600)
        minute = Int(rest % 3600 / 60)
        second = Int(rest % 60)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
        month = Int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9)
        year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
    }

    /// Days from 1970-01-01 to this date.
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
