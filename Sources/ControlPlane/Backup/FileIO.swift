import Crypto
import Foundation
import PersonaCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The file system calls backup and restore make. None follows a link: persona workspaces are
/// written by the tools' user, and a backup running as root must not read a file a link points
/// at, nor a restore write through one. Opening never blocks on a FIFO.
enum FileIO {
    /// What `lstat` says about a path.
    struct Metadata {
        var kind: BackupManifest.Entry.Kind?
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var size: Int64
        var modifiedAt: Double
        /// A FIFO, socket or device: nothing a backup copies.
        var isSpecial: Bool { kind == nil }
    }

    static func metadata(_ path: String) -> Metadata? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        let kind: BackupManifest.Entry.Kind? = switch status.st_mode & S_IFMT {
        case S_IFREG: .file
        case S_IFDIR: .directory
        case S_IFLNK: .symlink
        default: nil
        }
        return Metadata(kind: kind, mode: UInt32(status.st_mode & 0o7777), uid: status.st_uid, gid: status.st_gid,
                        size: Int64(status.st_size),
                        modifiedAt: Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9)
    }

    static func failure(_ what: String, _ path: String, errno code: Int32 = errno) -> BackupError {
        BackupError(.io, "\(what) \(path): \(String(cString: strerror(code)))", underlying: Errno(code))
    }

    /// Copies the regular file `source` to a new file `destination` (created with `mode`),
    /// hashing what it copies; the copy is synced.
    /// - Returns: the bytes copied and their SHA-256.
    static func copy(from source: String, to destination: String, mode: mode_t = 0o600) throws -> (size: Int64, sha256: String) {
        let input = try openRegular(source)
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard output >= 0 else { throw failure("cannot create", destination) }
        defer { close(output) }
        var hasher = SHA256()
        let total = try readChunks(input, path: source) { chunk in
            hasher.update(bufferPointer: chunk)
            var offset = 0
            while offset < chunk.count {
                let written = write(output, chunk.baseAddress! + offset, chunk.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw failure("cannot write", destination)
                }
                offset += written
            }
        }
        guard fsync(output) == 0 else { throw failure("cannot sync", destination) }
        return (total, hasher.finalize().hexString)
    }

    /// The size and SHA-256 of the regular file at `path`.
    static func digest(_ path: String) throws -> (size: Int64, sha256: String) {
        let input = try openRegular(path)
        defer { close(input) }
        var hasher = SHA256()
        let total = try readChunks(input, path: path) { hasher.update(bufferPointer: $0) }
        return (total, hasher.finalize().hexString)
    }

    /// Reads `descriptor` to its end in 1-MiB chunks, handing each to `body`; returns the bytes read.
    private static func readChunks(_ descriptor: Int32, path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int64 {
        var total: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("cannot read", path)
            }
            if count == 0 { return total }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            total += Int64(count)
        }
    }

    /// Opens a regular file for reading, refusing links and anything else (checked on the open
    /// descriptor, so a file swapped for a FIFO after a `stat` is refused too).
    private static func openRegular(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open", path) }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw BackupError(.io, "\(path) is not a regular file any more")
        }
        return fd
    }

    /// Writes `data` to a new private file, synced.
    static func writeNew(_ path: String, data: Data) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("cannot create", path) }
        defer { close(fd) }
        try data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw failure("cannot write", path)
                }
                offset += written
            }
        }
        guard fsync(fd) == 0 else { throw failure("cannot sync", path) }
    }

    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws {
        guard mkdir(path, mode) == 0 else { throw failure("cannot create the directory", path) }
    }

    static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw failure("cannot move \(from) to", to) }
    }

    /// Makes a rename or a new file in `path` durable.
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Removes `path` and everything under it (links are removed, not followed).
    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The entries of a directory, sorted (a backup lists them in a stable order).
    static func children(_ path: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        } catch {
            throw BackupError(.io, "cannot list \(path)", underlying: error)
        }
    }

    /// Gives `path` the owner, permission bits and modification time of `entry`, without
    /// following a link. Ownership is only changed when it differs (a restore that does not
    /// run as root keeps its own and says so once: `ownershipKept` is set).
    static func apply(_ entry: BackupManifest.Entry, to path: String, ownershipKept: inout Bool) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { throw failure("cannot read", path) }
        if status.st_uid != entry.uid || status.st_gid != entry.gid {
            if lchown(path, entry.uid, entry.gid) != 0 {
                guard errno == EPERM else { throw failure("cannot change the owner of", path) }
                ownershipKept = true
            }
        }
        if entry.kind != .symlink {
            guard chmod(path, mode_t(entry.mode & 0o7777)) == 0 else { throw failure("cannot change the mode of", path) }
        }
        if let modified = entry.modifiedAt {
            let seconds = modified.rounded(.down)
            let time = timespec(tv_sec: Int(seconds), tv_nsec: Int((modified - seconds) * 1e9))
            var times = [time, time]
            guard utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0 else { throw failure("cannot set the time of", path) }
        }
    }
}
