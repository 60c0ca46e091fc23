#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PersonaKit
#if canImport(Glibc)
import Glibc
#endif

/// The tools this supervisor offers: every `tools/<name>/tool.json` under the tools
/// directory. A manifest with `"builtin": true` must name a tool compiled into the
/// supervisor; others run their `command` from their own directory.
public struct ToolCatalog: Sendable {
    /// A loaded tool.
    public struct Entry: Sendable {
        public var manifest: ToolManifest
        /// The tool's directory (external tools run from here).
        public var directory: String
    }

    public private(set) var entries: [String: Entry]

    public init(entries: [String: Entry] = [:]) {
        self.entries = entries
    }

    public var manifests: [ToolManifest] { entries.values.map(\.manifest).sorted { $0.name < $1.name } }

    public subscript(name: String) -> Entry? { entries[name] }

    /// Loads every manifest under `directory` (`<name>/tool.json`) and the uploaded tools
    /// under `customDirectory` (`<name>/<version>/tool.json`, the newest version that loads);
    /// broken ones are logged and skipped, and so are tools needing a sidecar this image lacks
    /// (`available`; `network` is always there). An image tool wins over an uploaded one of the
    /// same name (the control plane refuses such uploads).
    public static func load(from directory: String, customDirectory: String? = nil, available: Set<ToolManifest.Need> = [.network],
                            logger: Logger) -> ToolCatalog {
        var catalog = ToolCatalog()
        guard let names = listDirectory(directory) else {
            logger.warning("tools directory missing", metadata: ["path": "\(directory)"])
            return catalog
        }
        for name in names {
            if let entry = loadEntry("\(directory)/\(name)", label: name, custom: false, available: available, logger: logger) {
                catalog.entries[entry.manifest.name] = entry
            }
        }
        guard let customDirectory, let custom = listDirectory(customDirectory) else { return catalog }
        for name in custom where catalog.entries[name] == nil {
            let versions = (listDirectory("\(customDirectory)/\(name)") ?? [])
                .compactMap { text in SemanticVersion(text).map { (text, $0) } }
                .sorted { $0.1 > $1.1 }
            for (version, _) in versions {
                guard let entry = loadEntry("\(customDirectory)/\(name)/\(version)", label: "\(name)@\(version)", custom: true,
                                            available: available, logger: logger) else { continue }
                guard entry.manifest.name == name, entry.manifest.version == version else {
                    logger.error("uploaded tool refused: its manifest names another tool or version",
                                 metadata: ["tool": "\(name)@\(version)"])
                    continue
                }
                catalog.entries[name] = entry
                break
            }
        }
        return catalog
    }

    /// One tool directory's entry, or `nil` (logged) when it cannot be used here.
    private static func loadEntry(_ toolDirectory: String, label: String, custom: Bool, available: Set<ToolManifest.Need>,
                                  logger: Logger) -> Entry? {
        guard let bytes = readWholeFile("\(toolDirectory)/tool.json") else { return nil }
        do {
            let manifest = try JSONDecoder().decode(ToolManifest.self, from: Data(bytes))
            var problems = manifest.problems()
            if manifest.builtin && (custom || BuiltinTools.names.contains(manifest.name) == false) {
                problems.append(custom ? "an uploaded tool cannot be built in" : "no built-in tool is called \(manifest.name)")
            }
            let missing = manifest.needs.filter { !available.contains($0) && $0 != .network }
            if !missing.isEmpty {
                logger.info("tool skipped: this image lacks what it needs", metadata: [
                    "tool": "\(manifest.name)", "needs": "\(missing.map(\.rawValue).joined(separator: ","))",
                ])
                return nil
            }
            guard problems.isEmpty else {
                logger.error("tool manifest refused", metadata: ["tool": "\(label)", "problems": "\(problems.joined(separator: "; "))"])
                return nil
            }
            return Entry(manifest: manifest, directory: toolDirectory)
        } catch {
            logger.error("tool manifest unreadable", metadata: ["tool": "\(label)", "error": "\(String(reflecting: error))"])
            return nil
        }
    }

    /// The names in a directory, sorted, without hidden ones (`.staging-*` of an upload in
    /// progress among them); `nil` when it cannot be read.
    private static func listDirectory(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }
}

/// The bytes of a (small) file, or `nil`.
func readWholeFile(_ path: String, limit: Int = 4 << 20) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        out.append(contentsOf: buffer[0..<n])
        if out.count > limit { return nil }
    }
    return out
}
