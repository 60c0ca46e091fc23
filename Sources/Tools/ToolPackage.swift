import DocumentText
import Foundation
import PersonaCore
import PersonaKit

/// An uploaded tool package, checked: a `.tar.gz` or `.zip` holding `tool.json`, the
/// executable it names and the files it needs (a Python tool may bring pure-Python wheels and
/// put them on `sys.path`). Everything that could hurt the machine that unpacks it or the
/// containers that run it is refused before a byte is written.
package struct ToolPackage: Sendable {
    /// Limits of a package (the archive limits of DocumentText's extractor, tighter).
    package struct Limits: Sendable {
        /// The archive as uploaded (`TOOL_PACKAGE_MAX_BYTES`).
        package var maxPackageBytes = 50 << 20
        /// Files, directories and links in it.
        package var maxEntries = 2_000
        /// One file, unpacked.
        package var maxFileBytes = 50 << 20
        /// All files, unpacked.
        package var maxTotalBytes = 200 << 20
        /// `tool.json`.
        package var maxManifestBytes = 256 << 10

        package init(maxPackageBytes: Int = 50 << 20) {
            self.maxPackageBytes = maxPackageBytes
        }

        var archive: TextExtractor.Configuration {
            TextExtractor.Configuration(maxFileBytes: maxPackageBytes, maxArchiveEntries: maxEntries, maxEntryBytes: maxFileBytes,
                                        maxTotalUncompressedBytes: maxTotalBytes)
        }
    }

    /// One entry, its path checked and relative to the package root.
    package struct File: Sendable {
        package enum Kind: Sendable, Equatable { case file, directory, symlink(String) }
        package var path: String
        package var kind: Kind
        package var executable: Bool
        package var bytes: [UInt8]
    }

    package var manifest: ToolManifest
    package var files: [File]
    /// Bytes of all files, unpacked.
    package var size: Int
    package var format: String

    /// Reads and checks `bytes`.
    /// - Throws: ``APIError`` 413 `package_too_large` past a limit, 422 `package_invalid`
    ///   naming the problem (not an archive, corrupt, a path escape, a link out of the package,
    ///   a hard link or device, no or a bad `tool.json`, a missing or non-executable command).
    package static func read(_ bytes: [UInt8], limits: Limits = Limits()) throws -> ToolPackage {
        let archive: PackageArchive
        do {
            archive = try PackageArchive.read(bytes, limits: limits.archive)
        } catch let error as ExtractionError {
            if error.code == .tooLarge { throw APIError(.contentTooLarge, code: "package_too_large", error.message) }
            throw invalid(error.message)
        }
        var files: [File] = []
        var seen: Set<String> = []
        for entry in archive.entries {
            guard let path = try normalize(entry.path) else { continue }  // the root itself
            let kind: File.Kind
            switch entry.kind {
            case .file: kind = .file
            case .directory: kind = .directory
            case .symlink(let target): kind = .symlink(target)
            case .hardLink: throw invalid("\(path) is a hard link; packages may hold files, directories and relative symbolic links only")
            case .special(let what): throw invalid("\(path) is a special file (\(what)); packages may hold files, directories and links only")
            }
            guard seen.insert(path).inserted else {
                // tar lists a directory again when files were added to it: harmless.
                if kind == .directory, files.contains(where: { $0.path == path && $0.kind == .directory }) { continue }
                throw invalid("\(path) appears twice in the package")
            }
            files.append(File(path: path, kind: kind, executable: entry.mode & 0o111 != 0, bytes: entry.bytes))
        }
        files = stripSingleTopDirectory(files)
        try checkLinks(files)
        guard let manifestFile = files.first(where: { $0.path == "tool.json" }) else {
            throw invalid("the package has no tool.json at its top level (or inside its only top-level directory)")
        }
        guard manifestFile.kind == .file else { throw invalid("tool.json must be a regular file") }
        guard manifestFile.bytes.count <= limits.maxManifestBytes else {
            throw invalid("tool.json is larger than \(limits.maxManifestBytes) bytes")
        }
        let manifest: ToolManifest
        do {
            manifest = try JSONDecoder().decode(ToolManifest.self, from: Data(manifestFile.bytes))
        } catch {
            throw invalid("tool.json is not a valid tool manifest: \(describe(error))")
        }
        var problems = manifest.problems()
        if manifest.builtin { problems.append("an uploaded tool cannot be builtin (built-in tools are compiled into the supervisor)") }
        if let first = manifest.command?.first, !first.hasPrefix("/") {
            let path = try normalize(first) ?? ""
            if let executable = files.first(where: { $0.path == path }) {
                if executable.kind != .file { problems.append("the command \(first) must be a regular file") }
                else if !executable.executable { problems.append("the command \(first) is not executable (chmod +x it before packing)") }
            } else {
                problems.append("the command \(first) is not in the package")
            }
        }
        guard problems.isEmpty else { throw invalid("tool.json: " + problems.joined(separator: "; ")) }
        return ToolPackage(manifest: manifest, files: files, size: files.reduce(0) { $0 + $1.bytes.count }, format: archive.format.rawValue)
    }

    /// Writes the package into `directory`, which must not exist: directories 0755, files
    /// 0644 or 0755, no set-id bits, nothing followed through a link.
    package func install(into directory: String) throws {
        guard mkdir(directory, 0o755) == 0 else { throw CocoaError(.fileWriteUnknown) }
        chmod(directory, 0o755)
        for file in files where file.kind == .directory {
            try makeDirectories(directory, file.path)
        }
        for file in files where file.kind == .file {
            let parent = (file.path as NSString).deletingLastPathComponent
            if !parent.isEmpty { try makeDirectories(directory, parent) }
            let mode: mode_t = file.executable ? 0o755 : 0o644
            let fd = open(directory + "/" + file.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
            defer { close(fd) }
            var written = 0
            while written < file.bytes.count {
                let n = file.bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw CocoaError(.fileWriteUnknown) }
                written += n
            }
            fchmod(fd, mode)
            guard fsync(fd) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
        for file in files {
            guard case .symlink(let target) = file.kind else { continue }
            let parent = (file.path as NSString).deletingLastPathComponent
            if !parent.isEmpty { try makeDirectories(directory, parent) }
            guard symlink(target, directory + "/" + file.path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
    }

    private func makeDirectories(_ root: String, _ relative: String) throws {
        var current = root
        for component in relative.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 {
                var info = stat()
                // An existing real directory is fine; a link or file in the way is not.
                guard errno == EEXIST, lstat(current, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                    throw CocoaError(.fileWriteUnknown)
                }
            }
            chmod(current, 0o755)
        }
    }

    // MARK: - Checks

    static func invalid(_ message: String) -> APIError {
        APIError(.unprocessableContent, code: "package_invalid", "The tool package was refused: \(message)")
    }

    /// `path` without `./` and empty components; `nil` for the root. Refuses absolute paths,
    /// `..`, backslashes, control characters and over-long paths.
    static func normalize(_ path: String) throws -> String? {
        let shown = String(path.prefix(200))
        guard !path.hasPrefix("/") else { throw invalid("\(shown) is an absolute path") }
        guard !path.contains("\\"), !path.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 }) else {
            throw invalid("\(shown) has a backslash or control character in its name")
        }
        let components = path.split(separator: "/").filter { $0 != "." }
        guard !components.contains("..") else { throw invalid("\(shown) leaves the package (..)") }
        guard path.utf8.count <= 1024, components.allSatisfy({ $0.utf8.count <= 255 }) else { throw invalid("\(shown) is too long") }
        return components.isEmpty ? nil : components.joined(separator: "/")
    }

    /// A package packed as `mytool/tool.json, mytool/run, ...` is read as if packed from inside.
    static func stripSingleTopDirectory(_ files: [File]) -> [File] {
        guard !files.contains(where: { $0.path == "tool.json" }) else { return files }
        let tops = Set(files.map { $0.path.split(separator: "/").first.map(String.init) ?? "" })
        guard tops.count == 1, let top = tops.first,
              files.contains(where: { $0.path == top && $0.kind == .directory }) || files.contains(where: { $0.path.hasPrefix(top + "/") }),
              files.contains(where: { $0.path == top + "/tool.json" })
        else { return files }
        return files.compactMap { file in
            guard file.path != top else { return nil }
            var copy = file
            copy.path = String(file.path.dropFirst(top.count + 1))
            return copy
        }
    }

    /// Links must be relative and stay inside the package; nothing may be stored under a link.
    static func checkLinks(_ files: [File]) throws {
        var links: Set<String> = []
        for file in files {
            guard case .symlink(let target) = file.kind else { continue }
            guard !target.isEmpty, !target.hasPrefix("/") else { throw invalid("\(file.path) links to an absolute path (\(target))") }
            var stack = file.path.split(separator: "/").dropLast().map(String.init)
            for component in target.split(separator: "/") where component != "." {
                if component == ".." {
                    guard !stack.isEmpty else { throw invalid("\(file.path) links out of the package (\(target))") }
                    stack.removeLast()
                } else {
                    stack.append(String(component))
                }
            }
            links.insert(file.path)
        }
        for file in files {
            var prefix = ""
            for component in file.path.split(separator: "/").dropLast() {
                prefix += (prefix.isEmpty ? "" : "/") + component
                if links.contains(prefix) { throw invalid("\(file.path) is stored under the link \(prefix)") }
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "\(key.stringValue) is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty ? "it is not JSON" : "\(context.codingPath.map(\.stringValue).joined(separator: ".")) is invalid"
        default: return "it could not be read"
        }
    }
}
