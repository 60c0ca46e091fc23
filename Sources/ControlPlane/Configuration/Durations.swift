/// Parses durations as the seed writes them: `900`, `900s`, `15m`, `24h`, `7d`, `500ms`.
/// Returns seconds, or `nil` for anything else.
func parseDuration(_ text: String) -> Double? {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604800)]
    let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
    for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
        if let n = Double(trimmed.dropLast(suffix.count)), n > 0 { return n * factor }
        return nil
    }
    if let n = Double(trimmed), n > 0 { return n }
    return nil
}

import Foundation
