import PersonaKit
import Testing

@Suite("Semantic versions and ranges")
struct SemanticVersionTests {
    @Test("versions parse strictly and order as semver orders them, prereleases first")
    func ordering() throws {
        for bad in ["1.0", "1.0.0.0", "01.0.0", "1.x.0", "", "v1.0.0", "1.0.0-", "1.0.0-a..b", "-1.0.0"] {
            #expect(SemanticVersion(bad) == nil, "\(bad)")
        }
        let ordered = try ["0.9.9", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
                       "1.0.0", "1.0.1", "1.10.0", "2.0.0"].map { try #require(SemanticVersion($0)) }
        #expect(ordered == ordered.shuffled().sorted())
        #expect(try #require(SemanticVersion("1.2.3+build.7")) == SemanticVersion(1, 2, 3))
        #expect(SemanticVersion(1, 0, 0, prerelease: ["rc", "1"]).description == "1.0.0-rc.1")
    }

    @Test("ranges: exact, caret, tilde, comparators, alternatives and prereleases", arguments: [
        ("*", ["0.0.1", "1.0.0", "9.9.9"], ["1.0.0-rc.1"]),
        ("1.2.3", ["1.2.3"], ["1.2.4", "1.2.2"]),
        ("^1.2.3", ["1.2.3", "1.9.0"], ["1.2.2", "2.0.0", "2.0.0-rc.1", "1.5.0-beta"]),
        ("^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0", "0.2.2"]),
        ("^0.0.3", ["0.0.3"], ["0.0.4"]),
        ("~1.2.3", ["1.2.3", "1.2.9"], ["1.3.0", "1.2.2"]),
        (">=1.0.0 <1.5.0", ["1.0.0", "1.4.9"], ["1.5.0", "0.9.0"]),
        ("^1.0.0 || ^3.0.0", ["1.1.0", "3.2.0"], ["2.0.0", "4.0.0"]),
        (">=2.0.0-rc.1", ["2.0.0-rc.2", "2.0.0", "2.1.0"], ["2.0.0-beta", "2.1.0-rc.1"]),
    ])
    func ranges(text: String, inside: [String], outside: [String]) throws {
        let range = try #require(VersionRange(text))
        for version in inside { #expect(range.contains(try #require(SemanticVersion(version))), "\(version) in \(text)") }
        for version in outside { #expect(!range.contains(try #require(SemanticVersion(version))), "\(version) not in \(text)") }
    }

    @Test("malformed ranges and dependency entries are refused; the best version is the newest in range")
    func parsing() throws {
        for bad in ["^", "^1.2", ">=1", "1.2.3 ||", "~x", "latest"] { #expect(VersionRange(bad) == nil, "\(bad)") }
        let range = try #require(VersionRange("^1.0.0"))
        #expect(range.best(of: ["0.9.0", "1.0.0", "1.4.2", "2.0.0"].compactMap(SemanticVersion.init)) == SemanticVersion(1, 4, 2))
        #expect(ToolDependency("browser_navigate")?.range == .any)
        #expect(ToolDependency("office_runtime@^1.0.0")?.description == "office_runtime@^1.0.0")
        for bad in ["", "Bad", "x@", "x@nope", "a b"] { #expect(ToolDependency(bad) == nil, "\(bad)") }
        let manifest = ToolManifest(name: "a", version: "1.0", description: "d", category: "c", inputSchema: ["type": "object"],
                                    dependsOn: ["a", "b@^z"], builtin: true)
        let problems = manifest.problems()
        #expect(problems.contains { $0.contains("semantic version") })
        #expect(problems.contains { $0.contains("itself") })
        #expect(problems.contains { $0.contains("b@^z") })
    }
}
