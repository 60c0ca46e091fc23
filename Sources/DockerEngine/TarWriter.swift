import Foundation

extension Docker {
    /// Writes a tar archive in memory: POSIX ustar headers, with a PAX extended header
    /// for paths that do not fit ustar's 100+155 bytes or files of 8 GiB and more.
    /// Used for image build contexts (`POST /build` takes a tar).
    ///
    /// Entries are written in the order added, owned by 0:0, with a fixed modification
    /// time by default so that the same context gives the same bytes (and the classic
    /// builder's cache keeps hitting).
    public struct TarWriter: Sendable {
        private(set) var bytes: [UInt8] = []
        private let modificationTime: Int

        /// - Parameter modificationTime: Unix time stamped on every entry.
        public init(modificationTime: Int = 0) {
            self.modificationTime = modificationTime
        }

        enum EntryType: UInt8 {
            case file = 0x30  // "0"
            case symlink = 0x32  // "2"
            case directory = 0x35  // "5"
            case paxHeader = 0x78  // "x"
        }

        /// Adds a regular file.
        /// - Throws: ``DockerError`` `badRequest` for an empty or absolute path or one with `..`.
        public mutating func addFile(_ path: String, contents: [UInt8], mode: Int = 0o644) throws {
            try add(path: Self.validated(path), type: .file, mode: mode, contents: contents)
        }

        /// Adds a regular file from UTF-8 text.
        public mutating func addFile(_ path: String, text: String, mode: Int = 0o644) throws {
            try addFile(path, contents: Array(text.utf8), mode: mode)
        }

        /// Adds a directory entry (parents are not implied; tar readers create them anyway).
        public mutating func addDirectory(_ path: String, mode: Int = 0o755) throws {
            var path = try Self.validated(path)
            if !path.hasSuffix("/") { path += "/" }
            try add(path: path, type: .directory, mode: mode, contents: [])
        }

        /// Adds a symbolic link to `target`.
        public mutating func addSymlink(_ path: String, target: String) throws {
            try add(path: Self.validated(path), type: .symlink, mode: 0o777, contents: [], linkName: target)
        }

        /// Adds a host directory tree (regular files, directories, symlinks) under `prefix`.
        /// - Throws: ``DockerError`` `badRequest` when the tree cannot be read.
        public mutating func addTree(from hostPath: String, at prefix: String = "") throws {
            let manager = FileManager.default
            let entries: [String]
            do {
                entries = try manager.subpathsOfDirectory(atPath: hostPath).sorted()
            } catch {
                throw DockerError(.badRequest, "cannot read \(hostPath) for a tar archive", underlying: error)
            }
            for relative in entries {
                let full = "\(hostPath)/\(relative)"
                let name = prefix.isEmpty ? relative : "\(prefix)/\(relative)"
                do {
                    let attributes = try manager.attributesOfItem(atPath: full)
                    let mode = (attributes[.posixPermissions] as? Int) ?? 0o644
                    switch attributes[.type] as? FileAttributeType {
                    case .typeDirectory?: try addDirectory(name, mode: mode)
                    case .typeSymbolicLink?: try addSymlink(name, target: try manager.destinationOfSymbolicLink(atPath: full))
                    case .typeRegular?: try addFile(name, contents: Array(try Data(contentsOf: URL(fileURLWithPath: full))), mode: mode)
                    default: continue  // sockets, fifos, devices have no place in a build context
                    }
                } catch let error as DockerError {
                    throw error
                } catch {
                    throw DockerError(.badRequest, "cannot read \(full) for a tar archive", underlying: error)
                }
            }
        }

        /// The finished archive: the entries and the two zero blocks that end it.
        public func finish() -> [UInt8] {
            bytes + [UInt8](repeating: 0, count: 1024)
        }

        private static func validated(_ path: String) throws -> String {
            var path = path
            while path.hasPrefix("./") { path.removeFirst(2) }
            guard !path.isEmpty, !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw DockerError(.badRequest, "tar entry path \(path) must be relative and stay inside the archive")
            }
            return path
        }

        private mutating func add(path: String, type: EntryType, mode: Int, contents: [UInt8], linkName: String = "") throws {
            guard linkName.utf8.count <= 100 else {
                throw DockerError(.badRequest, "symlink target \(linkName) is longer than 100 bytes")
            }
            var pax: [(String, String)] = []
            let split = Self.splitUstarPath(path)
            if split == nil { pax.append(("path", path)) }
            if contents.count >= 0o77777777777 { pax.append(("size", String(contents.count))) }
            if !pax.isEmpty {
                let records = pax.map(Self.paxRecord).joined()
                let data = Array(records.utf8)
                let paxName = String("PaxHeaders/\(path.split(separator: "/").last ?? "")".utf8.prefix(99)) ?? "PaxHeaders/entry"
                bytes += header(name: paxName, prefix: "", type: .paxHeader, mode: 0o644, size: data.count, linkName: "")
                append(data)
            }
            let (prefix, name) = split ?? ("", String(path.utf8.suffix(100)) ?? "entry")
            bytes += header(name: name, prefix: prefix, type: type, mode: mode, size: contents.count, linkName: linkName)
            append(contents)
        }

        private mutating func append(_ data: [UInt8]) {
            bytes += data
            let remainder = data.count % 512
            if remainder != 0 { bytes += [UInt8](repeating: 0, count: 512 - remainder) }
        }

        /// Splits a path into ustar's prefix (≤155 bytes) and name (≤100 bytes) at a `/`.
        static func splitUstarPath(_ path: String) -> (prefix: String, name: String)? {
            let utf8 = Array(path.utf8)
            if utf8.count <= 100 { return ("", path) }
            guard utf8.count <= 256 else { return nil }
            // The name part must not be empty, so a trailing "/" (directory) is not a split point.
            for index in stride(from: min(155, utf8.count - 2), through: 1, by: -1) where utf8[index] == UInt8(ascii: "/") {
                let name = Array(utf8[(index + 1)...])
                guard name.count <= 100, !name.isEmpty else { return nil }
                return (String(decoding: utf8[..<index], as: UTF8.self), String(decoding: name, as: UTF8.self))
            }
            return nil
        }

        /// One PAX record, `"<length> <key>=<value>\n"`, where length counts itself.
        static func paxRecord(key: String, value: String) -> String {
            let body = " \(key)=\(value)\n"
            var length = body.utf8.count + 1
            while String(length).utf8.count + body.utf8.count != length {
                length = String(length).utf8.count + body.utf8.count
            }
            return "\(length)\(body)"
        }

        private func header(name: String, prefix: String, type: EntryType, mode: Int, size: Int, linkName: String) -> [UInt8] {
            var block = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int, width: Int) {
                for (index, byte) in text.utf8.prefix(width).enumerated() { block[offset + index] = byte }
            }
            func octal(_ value: Int, at offset: Int, width: Int) {
                // width-1 octal digits, zero padded, then NUL; sizes that do not fit went to PAX.
                let digits = String(min(value, (1 << (3 * (width - 1))) - 1), radix: 8)
                put(String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits, at: offset, width: width - 1)
            }
            put(name, at: 0, width: 100)
            octal(mode & 0o7777, at: 100, width: 8)
            octal(0, at: 108, width: 8)
            octal(0, at: 116, width: 8)
            octal(size, at: 124, width: 12)
            octal(modificationTime, at: 136, width: 12)
            block[156] = type.rawValue
            put(linkName, at: 157, width: 100)
            put("ustar\0", at: 257, width: 6)
            put("00", at: 263, width: 2)
            put("root", at: 265, width: 32)
            put("root", at: 297, width: 32)
            put(prefix, at: 345, width: 155)
            // The checksum is computed with its own field read as eight spaces.
            for index in 148..<156 { block[index] = UInt8(ascii: " ") }
            let checksum = block.reduce(0) { $0 + Int($1) }
            let digits = String(checksum, radix: 8)
            put(String(repeating: "0", count: max(0, 6 - digits.count)) + digits, at: 148, width: 6)
            block[154] = 0
            block[155] = UInt8(ascii: " ")
            return block
        }
    }
}
