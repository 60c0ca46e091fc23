import Foundation
import PersonaKit
import Testing
import TestTraits

@Suite("JSON Schema subset", .blocking)
struct JSONSchemaValidatorTests {
    /// (schema, instance) pairs covering every keyword of the subset, valid and invalid.
    static let cases: [(JSONValue, JSONValue)] = {
        let object: JSONValue = [
            "type": "object",
            "properties": [
                "command": ["type": "string", "minLength": 1, "maxLength": 10],
                "timeout": ["type": "integer", "minimum": 1, "maximum": 600],
                "ratio": ["type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1],
                "mode": ["enum": ["a", "b", 3]],
                "tags": ["type": "array", "items": ["type": "string", "pattern": "^[a-z]+$"], "minItems": 1, "maxItems": 3, "uniqueItems": true],
                "kind": ["const": "tool"],
                "nullable": ["type": ["string", "null"]],
            ],
            "required": ["command"],
            "additionalProperties": false,
        ]
        var out: [(JSONValue, JSONValue)] = []
        for instance: JSONValue in [
            ["command": "ls"], ["command": ""], ["command": "12345678901"], [:], ["command": "ls", "extra": 1],
            ["command": "ls", "timeout": 5], ["command": "ls", "timeout": 5.5], ["command": "ls", "timeout": 0],
            ["command": "ls", "timeout": 601], ["command": "ls", "ratio": 0.5], ["command": "ls", "ratio": 1],
            ["command": "ls", "ratio": 0], ["command": "ls", "mode": "a"], ["command": "ls", "mode": 3],
            ["command": "ls", "mode": "c"], ["command": "ls", "tags": ["x"]], ["command": "ls", "tags": []],
            ["command": "ls", "tags": ["x", "x"]], ["command": "ls", "tags": ["X"]], ["command": "ls", "tags": ["a", "b", "c", "d"]],
            ["command": "ls", "kind": "tool"], ["command": "ls", "kind": "other"], ["command": "ls", "nullable": nil],
            ["command": "ls", "nullable": 1], ["command": 5], "ls", nil, [1, 2],
        ] {
            out.append((object, instance))
        }
        let anyOf: JSONValue = ["anyOf": [["type": "string"], ["type": "integer", "minimum": 10]]]
        let oneOf: JSONValue = ["oneOf": [["type": "integer"], ["type": "number", "minimum": 5]]]
        let allOf: JSONValue = ["allOf": [["type": "string"], ["minLength": 2]]]
        let not: JSONValue = ["not": ["type": "string"]]
        let additional: JSONValue = ["type": "object", "additionalProperties": ["type": "integer"]]
        let refs: JSONValue = ["$defs": ["n": ["type": "integer", "multipleOf": 3]], "type": "array", "items": ["$ref": "#/$defs/n"]]
        let counts: JSONValue = ["type": "object", "minProperties": 1, "maxProperties": 2]
        for (schema, instances) in [
            (anyOf, ["x", 12, 3, true] as [JSONValue]), (oneOf, [3, 7, 5.5, "x"]), (allOf, ["ab", "a", 3]),
            (not, [1, "s"]), (additional, [["a": 1], ["a": "x"], [:]]), (refs, [[3, 6], [3, 4], []]),
            (counts, [[:], ["a": 1], ["a": 1, "b": 2, "c": 3]]),
        ] {
            for instance in instances { out.append((schema, instance)) }
        }
        return out
    }()

    @Test("agrees with Python's jsonschema on every case")
    func crossCheckWithPython() throws {
        let encoder = JSONEncoder()
        let payload = JSONValue.array(Self.cases.map { ["schema": $0.0, "instance": $0.1] })
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("schema-cases-\(UUID().uuidString).json")
        try encoder.encode(payload).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let script = """
            import json, sys
            import jsonschema
            cases = json.load(open(sys.argv[1]))
            print(json.dumps([jsonschema.Draft202012Validator(c["schema"]).is_valid(c["instance"]) for c in cases]))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, input.path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python3 with jsonschema is required (scripts/test installs it): \(errors)")
        let expected = try JSONDecoder().decode([Bool].self, from: data)
        try #require(expected.count == Self.cases.count)
        var disagreements: [String] = []
        for (index, (schema, instance)) in Self.cases.enumerated() {
            let ours = JSONSchemaValidator(root: schema).isValid(instance, against: schema)
            if ours != expected[index] { disagreements.append("case \(index): ours \(ours), jsonschema \(expected[index]): \(instance)") }
        }
        #expect(disagreements.isEmpty, "\(disagreements)")
        #expect(expected.contains(true) && expected.contains(false))
    }

    @Test("violations say where and what")
    func messages() {
        let schema: JSONValue = ["type": "object", "properties": ["a": ["type": "integer"]], "required": ["b"], "additionalProperties": false]
        let violations = JSONSchemaValidator(root: schema).validate(["a": "x", "c": 1], against: schema)
        let text = violations.map(\.description)
        #expect(text.contains("/b: is required"))
        #expect(text.contains("/a: expected integer, got string"))
        #expect(text.contains("/c: is not an allowed property"))
    }
}
