import CSupervisorShim
import PersonaKit
#if canImport(Glibc)
import Glibc
#endif

/// File access confined to the persona's workspace (`/workspace`). Paths are relative to it
/// (or absolute inside it); `..` is refused outright, and the tree is walked one component at
/// a time with `openat(..., O_NOFOLLOW)`, resolving symlinks by hand: a link whose target
/// stays inside the workspace is followed, one that leaves it is refused. Walking by file
/// descriptors means a link swapped in mid-walk cannot redirect the supervisor (root)
/// outside. When ``owner`` is set and the supervisor is root, every operation runs with the
/// thread's filesystem uid/gid switched to the tool user (`setfsuid`/`setfsgid`, per thread,
/// needing only `CAP_SETUID`/`CAP_SETGID`): the supervisor then has exactly the tool user's
/// rights in the workspace (root without `CAP_DAC_OVERRIDE` could not write there anyway),
/// and what it creates belongs to that user. The operations are synchronous, so nothing else
/// runs on the thread meanwhile.
public struct Workspace: Sendable {
    /// Absolute path of the workspace root (no trailing slash).
    public let root: String
    /// uid/gid given to what the supervisor creates (the tool user), when running as root.
    public let owner: (uid: UInt32, gid: UInt32)?

    public init(root: String, owner: (uid: UInt32, gid: UInt32)? = nil) {
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
        self.owner = owner
    }

    /// The components of `path` inside the workspace.
    /// - Throws: `path_outside_workspace` for `..`, an absolute path elsewhere, or a NUL byte.
    public func components(of path: String) throws(SupervisorError) -> [String] {
        guard !path.utf8.contains(0) else { throw Self.outside(path) }
        var relative = Substring(path)
        if path.hasPrefix("/") {
            if path == root { relative = "" } else if path.hasPrefix(root + "/") {
                relative = path.dropFirst(root.count + 1)
            } else {
                throw Self.outside(path)
            }
        }
        let parts = relative.split(separator: "/").map(String.init).filter { $0 != "." }
        if parts.contains("..") { throw Self.outside(path) }
        return parts
    }

    /// Reads a regular file.
    /// - Throws: `not_found`, `not_a_file`, `file_too_large` (413) past `limit`, `path_outside_workspace`.
    public func readFile(_ path: String, limit: Int = 16 << 20) throws(SupervisorError) -> [UInt8] {
        try asOwner { () throws(SupervisorError) in try readFile0(path, limit: limit) }
    }

    private func readFile0(_ path: String, limit: Int) throws(SupervisorError) -> [UInt8] {
        let location = try resolve(path, createDirectories: false)
        defer { close(location.parent) }
        guard let name = location.name, location.exists else { throw SupervisorError.notFound("no such file: \(path)") }
        let fd = openat(location.parent, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .system("could not open \(path)", errno: errno, code: "io_error") }
        defer { close(fd) }
        var info = stat()
        fstat(fd, &info)
        guard info.st_mode & S_IFMT == S_IFREG else { throw SupervisorError("not_a_file", "\(path) is not a regular file", status: 400) }
        guard Int(info.st_size) <= limit else {
            throw SupervisorError("file_too_large", "\(path) is larger than \(limit) bytes", status: 413)
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw .system("could not read \(path)", errno: errno, code: "io_error") }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
            guard bytes.count <= limit else { throw SupervisorError("file_too_large", "\(path) is larger than \(limit) bytes", status: 413) }
        }
        return bytes
    }

    /// Writes (replacing) a regular file, creating missing parent directories when asked.
    /// - Throws: `path_outside_workspace`, `not_found` (missing parent), `io_error`.
    public func writeFile(_ path: String, _ bytes: [UInt8], createDirectories: Bool = true, append: Bool = false) throws(SupervisorError) {
        try asOwner { () throws(SupervisorError) in try writeFile0(path, bytes, createDirectories: createDirectories, append: append) }
    }

    private func writeFile0(_ path: String, _ bytes: [UInt8], createDirectories: Bool, append: Bool) throws(SupervisorError) {
        let location = try resolve(path, createDirectories: createDirectories)
        defer { close(location.parent) }
        guard let name = location.name else { throw SupervisorError("not_a_file", "cannot write the workspace root", status: 400) }
        let flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (append ? O_APPEND : O_TRUNC)
        let fd = openat(location.parent, name, flags, 0o644)
        guard fd >= 0 else {
            throw .system("could not open \(path) for writing", errno: errno, code: errno == EISDIR ? "not_a_file" : "io_error",
                          status: errno == EISDIR ? 400 : 500)
        }
        defer { close(fd) }
        var info = stat()
        fstat(fd, &info)
        guard info.st_mode & S_IFMT == S_IFREG else { throw SupervisorError("not_a_file", "\(path) is not a regular file", status: 400) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in write(fd, raw.baseAddress! + offset, raw.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .system("could not write \(path)", errno: errno, code: "io_error") }
            offset += n
        }
    }

    /// Creates a directory (and its parents) inside the workspace; returns its relative path.
    @discardableResult
    public func makeDirectory(_ path: String) throws(SupervisorError) -> String {
        try asOwner { () throws(SupervisorError) in try makeDirectory0(path) }
    }

    private func makeDirectory0(_ path: String) throws(SupervisorError) -> String {
        let location = try resolve(path, createDirectories: true)
        defer { close(location.parent) }
        if let name = location.name, !location.exists {
            guard mkdirat(location.parent, name, 0o755) == 0 || errno == EEXIST else {
                throw .system("could not create \(path)", errno: errno, code: "io_error")
            }
        }
        return location.relativePath
    }

    /// Lists a directory (recursively up to `depth` levels below it), at most `limit` entries.
    public func list(_ path: String, recursive: Bool = false, limit: Int = 10_000) throws(SupervisorError) -> [WorkspaceEntry] {
        try asOwner { () throws(SupervisorError) in try list0(path, recursive: recursive, limit: limit) }
    }

    private func list0(_ path: String, recursive: Bool, limit: Int) throws(SupervisorError) -> [WorkspaceEntry] {
        let location = try resolve(path, createDirectories: false)
        defer { close(location.parent) }
        let dirFD: Int32
        if let name = location.name {
            guard location.exists else { throw SupervisorError.notFound("no such directory: \(path)") }
            dirFD = openat(location.parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        } else {
            dirFD = dup(location.parent)
        }
        guard dirFD >= 0 else {
            throw .system("could not open directory \(path)", errno: errno, code: errno == ENOTDIR ? "not_a_directory" : "io_error",
                          status: errno == ENOTDIR ? 400 : 500)
        }
        var entries: [WorkspaceEntry] = []
        listDirectory(dirFD, prefix: location.relativePath, recursive: recursive, depth: 0, limit: limit, into: &entries)
        return entries
    }

    private func listDirectory(_ fd: Int32, prefix: String, recursive: Bool, depth: Int, limit: Int, into entries: inout [WorkspaceEntry]) {
        guard let dir = fdopendir(fd) else {
            close(fd)
            return
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        for name in names.sorted() {
            guard entries.count < limit else { return }
            var info = stat()
            guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            let path = prefix.isEmpty ? name : "\(prefix)/\(name)"
            let type: String
            switch info.st_mode & S_IFMT {
            case S_IFREG: type = "file"
            case S_IFDIR: type = "directory"
            case S_IFLNK: type = "symlink"
            default: type = "other"
            }
            entries.append(WorkspaceEntry(path: path, type: type, size: type == "file" ? Int(info.st_size) : 0))
            if recursive && type == "directory" && depth < 32 {
                let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child >= 0 { listDirectory(child, prefix: path, recursive: true, depth: depth + 1, limit: limit, into: &entries) }
            }
        }
    }

    /// Runs `body` with this thread's filesystem credentials set to ``owner`` (when root).
    func asOwner<T>(_ body: () throws(SupervisorError) -> T) throws(SupervisorError) -> T {
        try asFilesystemUser(owner, body)
    }

    /// Where a path lands: an open descriptor of its parent directory (close it), the final
    /// name (`nil` for the root itself), whether it exists, and the resolved relative path.
    struct Location {
        var parent: Int32
        var name: String?
        var exists: Bool
        var relativePath: String
    }

    func resolve(_ path: String, createDirectories: Bool) throws(SupervisorError) -> Location {
        var pending = try components(of: path)
        var resolved: [String] = []
        var dirFD = try openRoot()
        var hops = 0
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name == ".." {
                // Only symlink targets bring `..` here; it may not climb above the root.
                guard !resolved.isEmpty else {
                    close(dirFD)
                    throw Self.outside(path)
                }
                resolved.removeLast()
                close(dirFD)
                dirFD = try reopen(resolved, path: path)
                continue
            }
            if name == "." || name.isEmpty { continue }
            let isLast = pending.isEmpty
            var info = stat()
            if fstatat(dirFD, name, &info, AT_SYMLINK_NOFOLLOW) != 0 {
                let code = errno
                guard code == ENOENT else {
                    close(dirFD)
                    throw .system("could not inspect \(path)", errno: code, code: code == ENOTDIR ? "not_a_directory" : "io_error",
                                  status: code == ENOTDIR ? 400 : 500)
                }
                if isLast {
                    return Location(parent: dirFD, name: name, exists: false, relativePath: (resolved + [name]).joined(separator: "/"))
                }
                guard createDirectories else {
                    close(dirFD)
                    throw SupervisorError.notFound("no such directory: \((resolved + [name]).joined(separator: "/"))")
                }
                guard mkdirat(dirFD, name, 0o755) == 0 || errno == EEXIST else {
                    let code = errno
                    close(dirFD)
                    throw .system("could not create a directory for \(path)", errno: code, code: "io_error")
                }
                pending.insert(name, at: 0)
                continue
            }
            if info.st_mode & S_IFMT == S_IFLNK {
                hops += 1
                guard hops <= 40, let target = readLink(dirFD, name) else {
                    close(dirFD)
                    throw SupervisorError("symlink_loop", "too many symbolic links in \(path)", status: 400)
                }
                if target.hasPrefix("/") {
                    guard target == root || target.hasPrefix(root + "/") else {
                        close(dirFD)
                        throw Self.outside(path)
                    }
                    resolved = []
                    close(dirFD)
                    dirFD = try openRoot()
                    pending = target.dropFirst(root.count).split(separator: "/").map(String.init) + pending
                } else {
                    pending = target.split(separator: "/").map(String.init) + pending
                }
                continue
            }
            if isLast {
                return Location(parent: dirFD, name: name, exists: true, relativePath: (resolved + [name]).joined(separator: "/"))
            }
            let next = openat(dirFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            close(dirFD)
            guard next >= 0 else {
                throw .system("could not open a directory of \(path)", errno: code, code: code == ENOTDIR ? "not_a_directory" : "io_error",
                              status: code == ENOTDIR ? 400 : 500)
            }
            dirFD = next
            resolved.append(name)
        }
        return Location(parent: dirFD, name: nil, exists: true, relativePath: resolved.joined(separator: "/"))
    }

    private func openRoot() throws(SupervisorError) -> Int32 {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("the workspace \(root) is not available", errno: errno, code: "workspace_unavailable", status: 503) }
        return fd
    }

    private func reopen(_ components: [String], path: String) throws(SupervisorError) -> Int32 {
        var fd = try openRoot()
        for name in components {
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            close(fd)
            guard next >= 0 else { throw Self.outside(path) }
            fd = next
        }
        return fd
    }

    private func readLink(_ dirFD: Int32, _ name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlinkat(dirFD, name, &buffer, 4096)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func outside(_ path: String) -> SupervisorError {
        SupervisorError("path_outside_workspace", "path is outside the workspace: \(path)", status: 403)
    }
}
