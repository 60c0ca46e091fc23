import Foundation
import PersonaCore

/// The process environment merged with an optional `.env` file: real environment
/// variables win over the file, as with docker and most twelve-factor tools.
public struct Environment: Sendable {
    public private(set) var values: [String: String]

    public init(_ values: [String: String]) {
        self.values = values
    }

    /// The current process environment, with `dotenvPath` (if the file exists) underneath.
    public static func load(dotenvPath: String? = ".env") throws -> Environment {
        var merged: [String: String] = [:]
        if let dotenvPath, FileManager.default.fileExists(atPath: dotenvPath) {
            let text = try String(contentsOfFile: dotenvPath, encoding: .utf8)
            merged = try parseDotenv(text)
        }
        for (key, value) in ProcessInfo.processInfo.environment { merged[key] = value }
        return Environment(merged)
    }

    public subscript(key: String) -> String? {
        guard let value = values[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// Parses `KEY=value` lines: `#` comments, optional `export `, single or double quotes
    /// (double quotes understand `\n`, `\"` and `\\`).
    public static func parseDotenv(_ text: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)) }
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigurationError("line \(number + 1) of .env is not KEY=value")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = String(value.dropFirst().dropLast())
                    .replacingOccurrences(of: "\\n", with: "\n")
                    .replacingOccurrences(of: "\\\"", with: "\"")
                    .replacingOccurrences(of: "\\\\", with: "\\")
            } else if value.hasPrefix("'"), value.hasSuffix("'"), value.count >= 2 {
                value = String(value.dropFirst().dropLast())
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            out[key] = value
        }
        return out
    }
}
