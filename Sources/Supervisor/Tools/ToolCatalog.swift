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

    /// Loads every manifest under `directory`; broken ones are logged and skipped, and so are
    /// tools needing a sidecar this image lacks (`available`; `network` is always there).
    public static func load(from directory: String, available: Set<ToolManifest.Need> = [.network], logger: Logger) -> ToolCatalog {
        var catalog = ToolCatalog()
        guard let dir = opendir(directory) else {
            logger.warning("tools directory missing", metadata: ["path": "\(directory)"])
            return catalog
        }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if !name.hasPrefix(".") { names.append(name) }
        }
        closedir(dir)
        for name in names.sorted() {
            let toolDirectory = "\(directory)/\(name)"
            guard let bytes = readWholeFile("\(toolDirectory)/tool.json") else { continue }
            do {
                let manifest = try JSONDecoder().decode(ToolManifest.self, from: Data(bytes))
                var problems = manifest.problems()
                if manifest.builtin && BuiltinTools.names.contains(manifest.name) == false {
                    problems.append("no built-in tool is called \(manifest.name)")
                }
                let missing = manifest.needs.filter { !available.contains($0) && $0 != .network }
                if !missing.isEmpty {
                    logger.info("tool skipped: this image lacks what it needs", metadata: [
                        "tool": "\(manifest.name)", "needs": "\(missing.map(\.rawValue).joined(separator: ","))",
                    ])
                    continue
                }
                guard problems.isEmpty else {
                    logger.error("tool manifest refused", metadata: ["tool": "\(name)", "problems": "\(problems.joined(separator: "; "))"])
                    continue
                }
                catalog.entries[manifest.name] = Entry(manifest: manifest, directory: toolDirectory)
            } catch {
                logger.error("tool manifest unreadable", metadata: ["tool": "\(name)", "error": "\(String(reflecting: error))"])
            }
        }
        return catalog
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
