import Foundation

extension Docker {
    /// List and event filters, sent as the Engine's `filters` JSON (`{"label":["k=v"]}`).
    public struct Filters: Sendable, Hashable, ExpressibleByDictionaryLiteral {
        /// Filter name to accepted values; values of one name are ORed, names are ANDed.
        public var values: [String: [String]]

        public init(_ values: [String: [String]] = [:]) {
            self.values = values
        }

        public init(dictionaryLiteral elements: (String, [String])...) {
            self.init(Dictionary(elements, uniquingKeysWith: +))
        }

        /// Adds a value to a filter.
        public mutating func add(_ name: String, _ value: String) {
            values[name, default: []].append(value)
        }

        /// A copy with `value` added to filter `name`.
        public func adding(_ name: String, _ value: String) -> Filters {
            var copy = self
            copy.add(name, value)
            return copy
        }

        /// Objects carrying label `key` (any value), or `key=value` when `value` is given.
        public static func label(_ key: String, _ value: String? = nil) -> Filters {
            Filters(["label": [value.map { "\(key)=\($0)" } ?? key]])
        }

        /// A copy that also requires label `key` (or `key=value`).
        public func label(_ key: String, _ value: String? = nil) -> Filters {
            adding("label", value.map { "\(key)=\($0)" } ?? key)
        }

        var isEmpty: Bool { values.isEmpty }

        /// The JSON text of the `filters` query parameter, `nil` when empty.
        var queryValue: String? {
            guard !values.isEmpty else { return nil }
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            // Encoding [String: [String]] cannot fail.
            return (try? encoder.encode(values)).map { String(decoding: $0, as: UTF8.self) }
        }
    }
}
