/// Validates JSON values against the subset of JSON Schema (2020-12 / OpenAPI 3.1) that
/// Persona Platform uses for tool inputs and API documents: `type` (one or several),
/// `properties`, `required`, `additionalProperties` (bool or schema), `enum`, `const`,
/// `items`, `minimum`/`maximum`/`exclusiveMinimum`/`exclusiveMaximum`, `multipleOf`,
/// `minLength`/`maxLength`, `minItems`/`maxItems`, `uniqueItems`, `minProperties`/
/// `maxProperties`, `pattern`, `allOf`/`anyOf`/`oneOf`/`not` and local `$ref`s
/// (`#/...` JSON pointers into the root document). Unknown keywords are ignored, as the
/// specification asks.
public struct JSONSchemaValidator: Sendable {
    /// One violation: where it is (a JSON pointer into the instance) and what is wrong.
    public struct Violation: Sendable, Hashable, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { path.isEmpty ? message : "\(path): \(message)" }
    }

    private let root: JSONValue

    /// - Parameter root: the document `$ref`s resolve against (the schema itself, or an
    ///   OpenAPI document whose component schemas are referenced).
    public init(root: JSONValue) {
        self.root = root
    }

    /// Every violation of `schema` by `instance`; empty when the instance is valid.
    public func validate(_ instance: JSONValue, against schema: JSONValue) -> [Violation] {
        var out: [Violation] = []
        check(instance, schema, path: "", depth: 0, into: &out)
        return out
    }

    /// Whether `instance` satisfies `schema`.
    public func isValid(_ instance: JSONValue, against schema: JSONValue) -> Bool {
        validate(instance, against: schema).isEmpty
    }

    private func resolve(_ ref: String) -> JSONValue? {
        guard ref.hasPrefix("#") else { return nil }
        var node = root
        for raw in ref.dropFirst().split(separator: "/") {
            let key = String(raw).replacing("~1", with: "/").replacing("~0", with: "~")
            if case .object(let members) = node, let next = members[key] {
                node = next
            } else if case .array(let items) = node, let index = Int(key), items.indices.contains(index) {
                node = items[index]
            } else {
                return nil
            }
        }
        return node
    }

    private func check(_ value: JSONValue, _ schema: JSONValue, path: String, depth: Int, into out: inout [Violation]) {
        if case .bool(let allowed) = schema {
            if !allowed { out.append(Violation(path: path, message: "no value is allowed here")) }
            return
        }
        guard case .object(let s) = schema else { return }
        guard depth < 64 else {
            out.append(Violation(path: path, message: "schema nesting too deep"))
            return
        }
        if let ref = s["$ref"]?.stringValue {
            if let target = resolve(ref) {
                check(value, target, path: path, depth: depth + 1, into: &out)
            } else {
                out.append(Violation(path: path, message: "unresolvable $ref \(ref)"))
            }
        }
        if let type = s["type"], !matchesType(value, type) {
            out.append(Violation(path: path, message: "expected \(typeList(type)), got \(value.schemaTypeName)"))
            return
        }
        if let options = s["enum"]?.arrayValue, !options.contains(where: { Self.equal($0, value) }) {
            out.append(Violation(path: path, message: "must be one of \(options.map(Self.render).joined(separator: ", "))"))
        }
        if let constant = s["const"], !Self.equal(constant, value) {
            out.append(Violation(path: path, message: "must be \(Self.render(constant))"))
        }
        checkCombinators(value, s, path: path, depth: depth, into: &out)
        switch value {
        case .string(let string): checkString(string, s, path: path, into: &out)
        case .number(let number): checkNumber(number, s, path: path, into: &out)
        case .array(let items): checkArray(items, s, path: path, depth: depth, into: &out)
        case .object(let members): checkObject(members, s, path: path, depth: depth, into: &out)
        default: break
        }
    }

    private func checkCombinators(_ value: JSONValue, _ s: [String: JSONValue], path: String, depth: Int,
                                  into out: inout [Violation]) {
        if let all = s["allOf"]?.arrayValue {
            for sub in all { check(value, sub, path: path, depth: depth + 1, into: &out) }
        }
        if let any = s["anyOf"]?.arrayValue,
           !any.contains(where: { subschemaErrors(value, $0, path: path, depth: depth).isEmpty }) {
            out.append(Violation(path: path, message: "does not match any of the allowed shapes"))
        }
        if let one = s["oneOf"]?.arrayValue {
            let matches = one.filter { subschemaErrors(value, $0, path: path, depth: depth).isEmpty }.count
            if matches != 1 {
                out.append(Violation(path: path, message: "must match exactly one allowed shape (matched \(matches))"))
            }
        }
        if let not = s["not"], subschemaErrors(value, not, path: path, depth: depth).isEmpty {
            out.append(Violation(path: path, message: "matches a shape that is not allowed"))
        }
    }

    private func subschemaErrors(_ value: JSONValue, _ schema: JSONValue, path: String, depth: Int) -> [Violation] {
        var errors: [Violation] = []
        check(value, schema, path: path, depth: depth + 1, into: &errors)
        return errors
    }

    private func checkString(_ string: String, _ s: [String: JSONValue], path: String, into out: inout [Violation]) {
        let length = string.unicodeScalars.count
        if let min = s["minLength"]?.intValue, length < min {
            out.append(Violation(path: path, message: "must be at least \(min) characters"))
        }
        if let max = s["maxLength"]?.intValue, length > max {
            out.append(Violation(path: path, message: "must be at most \(max) characters"))
        }
        if let pattern = s["pattern"]?.stringValue {
            if let regex = try? Regex(pattern) {
                if (try? regex.firstMatch(in: string)) == nil {
                    out.append(Violation(path: path, message: "must match the pattern \(pattern)"))
                }
            } else {
                out.append(Violation(path: path, message: "schema pattern \(pattern) is not a valid expression"))
            }
        }
    }

    private func checkNumber(_ number: Double, _ s: [String: JSONValue], path: String, into out: inout [Violation]) {
        if let min = s["minimum"]?.doubleValue, number < min {
            out.append(Violation(path: path, message: "must be >= \(Self.render(.number(min)))"))
        }
        if let max = s["maximum"]?.doubleValue, number > max {
            out.append(Violation(path: path, message: "must be <= \(Self.render(.number(max)))"))
        }
        if let min = s["exclusiveMinimum"]?.doubleValue, number <= min {
            out.append(Violation(path: path, message: "must be > \(Self.render(.number(min)))"))
        }
        if let max = s["exclusiveMaximum"]?.doubleValue, number >= max {
            out.append(Violation(path: path, message: "must be < \(Self.render(.number(max)))"))
        }
        if let step = s["multipleOf"]?.doubleValue, step > 0 {
            let quotient = number / step
            if abs(quotient - quotient.rounded()) > 1e-9 {
                out.append(Violation(path: path, message: "must be a multiple of \(Self.render(.number(step)))"))
            }
        }
    }

    private func checkArray(_ items: [JSONValue], _ s: [String: JSONValue], path: String, depth: Int,
                            into out: inout [Violation]) {
        if let min = s["minItems"]?.intValue, items.count < min {
            out.append(Violation(path: path, message: "must have at least \(min) items"))
        }
        if let max = s["maxItems"]?.intValue, items.count > max {
            out.append(Violation(path: path, message: "must have at most \(max) items"))
        }
        if s["uniqueItems"]?.boolValue == true {
            for i in items.indices where items[..<i].contains(where: { Self.equal($0, items[i]) }) {
                out.append(Violation(path: path, message: "items must be unique (item \(i) repeats)"))
                break
            }
        }
        if let itemSchema = s["items"] {
            for (index, item) in items.enumerated() {
                check(item, itemSchema, path: "\(path)/\(index)", depth: depth + 1, into: &out)
            }
        }
    }

    private func checkObject(_ members: [String: JSONValue], _ s: [String: JSONValue], path: String, depth: Int,
                             into out: inout [Violation]) {
        let properties = s["properties"]?.objectValue ?? [:]
        for name in s["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[name] == nil {
            out.append(Violation(path: "\(path)/\(Self.escape(name))", message: "is required"))
        }
        if let min = s["minProperties"]?.intValue, members.count < min {
            out.append(Violation(path: path, message: "must have at least \(min) properties"))
        }
        if let max = s["maxProperties"]?.intValue, members.count > max {
            out.append(Violation(path: path, message: "must have at most \(max) properties"))
        }
        for (name, member) in members.sorted(by: { $0.key < $1.key }) {
            let memberPath = "\(path)/\(Self.escape(name))"
            if let propertySchema = properties[name] {
                check(member, propertySchema, path: memberPath, depth: depth + 1, into: &out)
            } else if let additional = s["additionalProperties"] {
                if case .bool(false) = additional {
                    out.append(Violation(path: memberPath, message: "is not an allowed property"))
                } else {
                    check(member, additional, path: memberPath, depth: depth + 1, into: &out)
                }
            }
        }
    }

    private func matchesType(_ value: JSONValue, _ type: JSONValue) -> Bool {
        let names = type.arrayValue?.compactMap(\.stringValue) ?? [type.stringValue ?? ""]
        let actual = value.schemaTypeName
        return names.contains { $0 == actual || ($0 == "number" && actual == "integer") }
    }

    private func typeList(_ type: JSONValue) -> String {
        (type.arrayValue?.compactMap(\.stringValue) ?? [type.stringValue ?? "?"]).joined(separator: " or ")
    }

    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool { a == b }

    static func escape(_ name: String) -> String {
        name.replacing("~", with: "~0").replacing("/", with: "~1")
    }

    static func render(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .number(let d): d.rounded() == d && abs(d) < 9e15 ? String(Int64(d)) : String(d)
        case .string(let s): "\"\(s)\""
        case .array: "[...]"
        case .object: "{...}"
        }
    }
}
