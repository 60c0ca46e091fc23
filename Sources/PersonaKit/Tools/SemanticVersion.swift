/// A semantic version (`MAJOR.MINOR.PATCH`, an optional `-prerelease`; `+build` is ignored),
/// ordered as semver 2.0 orders them: a prerelease sorts before its release.
public struct SemanticVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    /// Dot-separated prerelease identifiers (`["rc", "1"]` for `-rc.1`); empty for a release.
    public var prerelease: [String]

    public init(_ major: Int, _ minor: Int, _ patch: Int, prerelease: [String] = []) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease
    }

    /// Parses `1.2.3`, `1.2.3-rc.1` or `1.2.3+build.5`; `nil` for anything else.
    public init?(_ text: String) {
        var core = Substring(text)
        if let plus = core.firstIndex(of: "+") { core = core[..<plus] }
        var prerelease: [String] = []
        if let dash = core.firstIndex(of: "-") {
            prerelease = core[core.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !prerelease.isEmpty, prerelease.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" } })
            else { return nil }
            core = core[..<dash]
        }
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 9, part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber),
                  part == "0" || part.first != "0", let value = Int(part) else { return nil }
            numbers.append(value)
        }
        self.init(numbers[0], numbers[1], numbers[2], prerelease: prerelease)
    }

    public var description: String {
        "\(major).\(minor).\(patch)" + (prerelease.isEmpty ? "" : "-" + prerelease.joined(separator: "."))
    }

    public static func < (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
        if (lhs.major, lhs.minor, lhs.patch) != (rhs.major, rhs.minor, rhs.patch) {
            return (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
        }
        switch (lhs.prerelease.isEmpty, rhs.prerelease.isEmpty) {
        case (true, true), (true, false): return false
        case (false, true): return true
        case (false, false): break
        }
        for (a, b) in zip(lhs.prerelease, rhs.prerelease) where a != b {
            switch (Int(a), Int(b)) {
            case let (x?, y?): return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a < b
            }
        }
        return lhs.prerelease.count < rhs.prerelease.count
    }
}

/// A range of versions as npm writes them: `*`, `1.2.3` (exactly), `^1.2.3` (same major, or
/// same minor below 1.0), `~1.2.3` (same minor), comparators (`>=1.2.0 <2.0.0`, space means
/// and) and alternatives (`^1.0.0 || ^2.0.0`). A prerelease matches only a comparator that
/// names a prerelease of the same `MAJOR.MINOR.PATCH`, as in npm.
public struct VersionRange: Sendable, Hashable, CustomStringConvertible {
    private enum Operator: String, Sendable { case lt = "<", le = "<=", gt = ">", ge = ">=", eq = "=" }

    private struct Comparator: Sendable, Hashable {
        var op: Operator
        var version: SemanticVersion

        func matches(_ candidate: SemanticVersion) -> Bool {
            switch op {
            case .lt: return candidate < version
            case .le: return candidate <= version
            case .gt: return candidate > version
            case .ge: return candidate >= version
            case .eq: return candidate == version
            }
        }
    }

    /// Alternatives, each a conjunction of comparators (an empty conjunction matches everything).
    private var alternatives: [[Comparator]]
    public let description: String

    /// Every version.
    public static let any = VersionRange(alternatives: [[]], description: "*")

    private init(alternatives: [[Comparator]], description: String) {
        self.alternatives = alternatives
        self.description = description
    }

    /// Parses a range; `nil` when it is not one.
    public init?(_ text: String) {
        let trimmed = text.trimmingSpaces
        var alternatives: [[Comparator]] = []
        for alternative in trimmed.alternatives {
            var conjunction: [Comparator] = []
            let terms = alternative.split(separator: " ").map(String.init)
            guard !terms.isEmpty || trimmed.isEmpty else { return nil }
            for term in terms {
                guard let comparators = Self.comparators(term) else { return nil }
                conjunction += comparators
            }
            alternatives.append(conjunction)
        }
        self.init(alternatives: alternatives, description: trimmed.isEmpty ? "*" : trimmed)
    }

    /// Whether `version` is in the range.
    public func contains(_ version: SemanticVersion) -> Bool {
        alternatives.contains { conjunction in
            guard conjunction.allSatisfy({ $0.matches(version) }) else { return false }
            guard !version.prerelease.isEmpty else { return true }
            return conjunction.contains {
                !$0.version.prerelease.isEmpty
                    && ($0.version.major, $0.version.minor, $0.version.patch) == (version.major, version.minor, version.patch)
            }
        }
    }

    /// The highest of `versions` in the range.
    public func best(of versions: some Sequence<SemanticVersion>) -> SemanticVersion? {
        versions.filter(contains).max()
    }

    private static func comparators(_ term: String) -> [Comparator]? {
        if term == "*" || term == "x" || term == "X" { return [] }
        for op in ["<=", ">=", "<", ">", "="] where term.hasPrefix(op) {
            guard let version = SemanticVersion(String(term.dropFirst(op.count))) else { return nil }
            return [Comparator(op: Operator(rawValue: op)!, version: version)]
        }
        if term.hasPrefix("^") {
            guard let v = SemanticVersion(String(term.dropFirst())) else { return nil }
            let upper = v.major > 0 ? SemanticVersion(v.major + 1, 0, 0)
                : v.minor > 0 ? SemanticVersion(0, v.minor + 1, 0) : SemanticVersion(0, 0, v.patch + 1)
            return [Comparator(op: .ge, version: v), Comparator(op: .lt, version: upper.firstPrerelease)]
        }
        if term.hasPrefix("~") {
            guard let v = SemanticVersion(String(term.dropFirst())) else { return nil }
            return [Comparator(op: .ge, version: v), Comparator(op: .lt, version: SemanticVersion(v.major, v.minor + 1, 0).firstPrerelease)]
        }
        guard let version = SemanticVersion(term) else { return nil }
        return [Comparator(op: .eq, version: version)]
    }
}

extension SemanticVersion {
    /// The lowest version of this `MAJOR.MINOR.PATCH` (below all its prereleases), so that
    /// `< 2.0.0` in a caret range also excludes `2.0.0-rc.1`.
    fileprivate var firstPrerelease: SemanticVersion { SemanticVersion(major, minor, patch, prerelease: ["0"]) }
}

extension String {
    /// The parts between `||`s.
    fileprivate var alternatives: [Substring] {
        var parts: [Substring] = []
        var rest = Substring(self)
        while let bar = rest.firstRange(of: "||") {
            parts.append(rest[..<bar.lowerBound])
            rest = rest[bar.upperBound...]
        }
        parts.append(rest)
        return parts
    }

    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
