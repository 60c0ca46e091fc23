import Crypto
import Foundation
import NIOCore
import SystemZlib

/// One static file of the console, held in memory with its gzip form.
public struct ConsoleAsset: Sendable {
    public let body: ByteBuffer
    /// The gzip-compressed body, when compressing makes it smaller.
    public let gzip: ByteBuffer?
    public let contentType: String
    /// A strong ETag: the file's SHA-256, shortened.
    public let etag: String
}

/// The console's static files (CSS, ES modules, images, fonts), read once at start.
///
/// Pages load them from `/console/static/<version>/<path>`, where the version is a hash of
/// every file's path and content: a new build of the console changes the version, so the files
/// can be cached as immutable and ES modules can import each other by relative path.
public struct ConsoleAssets: Sendable {
    public let version: String
    public let files: [String: ConsoleAsset]

    /// Reads every regular file under `directory` (and, when given, the font files of
    /// `fontsDirectory` as `fonts/<name>`, and noVNC's modules under `noVNCDirectory` as
    /// `novnc/core/...` and `novnc/vendor/pako/...`).
    public init(directory: String, fontsDirectory: String? = nil, noVNCDirectory: String? = nil) throws {
        var sources: [(path: String, data: Data)] = []
        let root = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
        sources += try Self.read(root)
        if let fontsDirectory, FileManager.default.fileExists(atPath: fontsDirectory) {
            let fonts = URL(fileURLWithPath: fontsDirectory, isDirectory: true).standardizedFileURL
            sources += try Self.read(fonts).filter { Self.fontTypes[($0.path as NSString).pathExtension] != nil }
                .map { ("fonts/" + $0.path, $0.data) }
        }
        if let noVNCDirectory, FileManager.default.fileExists(atPath: noVNCDirectory + "/core/rfb.js") {
            for part in ["core", "vendor/pako"] {
                let root = URL(fileURLWithPath: noVNCDirectory + "/" + part, isDirectory: true).standardizedFileURL
                sources += try Self.read(root).filter { $0.path.hasSuffix(".js") }.map { ("novnc/\(part)/" + $0.path, $0.data) }
            }
        }
        sources.sort { $0.path < $1.path }
        var whole = SHA256()
        var files: [String: ConsoleAsset] = [:]
        for (path, data) in sources {
            whole.update(data: Data(path.utf8))
            whole.update(data: data)
            files[path] = Self.asset(path: path, data: data)
        }
        self.version = String(Self.hex(whole.finalize()).prefix(16))
        self.files = files
    }

    /// One file as served: its type, gzip form (when compressing helps) and ETag.
    static func asset(path: String, data: Data) -> ConsoleAsset {
        let type = contentType(path)
        let compressed = compressible(type) ? gzip(data) : nil
        return ConsoleAsset(body: ByteBuffer(data: data),
                            gzip: compressed.flatMap { $0.count < data.count ? ByteBuffer(data: $0) : nil },
                            contentType: type, etag: "\"\(hex(SHA256.hash(data: data)).prefix(32))\"")
    }

    /// Lower-case hex of `bytes`.
    static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The font files present (`fonts/<name>`), for the generated `@font-face` rules.
    public var fonts: [String] { files.keys.filter { $0.hasPrefix("fonts/") }.sorted() }

    /// Text, and the TrueType and OpenType fonts (WOFF and WOFF2 are compressed already).
    static func compressible(_ type: String) -> Bool {
        type.hasPrefix("text/") || type.contains("json") || type.contains("svg") || type == "font/ttf" || type == "font/otf"
    }

    static let fontTypes = ["woff2": "font/woff2", "woff": "font/woff", "ttf": "font/ttf", "otf": "font/otf"]

    static func contentType(_ path: String) -> String {
        switch (path as NSString).pathExtension {
        case "css": "text/css; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "json": "application/json"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        case "html": "text/html; charset=utf-8"
        case let other: fontTypes[other] ?? "application/octet-stream"
        }
    }

    private static func read(_ root: URL) throws -> [(path: String, data: Data)] {
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            return []
        }
        var out: [(String, Data)] = []
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        for case let url as URL in walker {
            guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
            let path = url.standardizedFileURL.path
            guard path.hasPrefix(prefix) else { continue }
            out.append((String(path.dropFirst(prefix.count)), try Data(contentsOf: url)))
        }
        return out
    }

    /// gzip at the best compression (done once per file at start).
    static func gzip(_ data: Data) -> Data? {
        var stream = z_stream()
        // 15 + 16: a gzip header and trailer around the deflate stream.
        guard deflateInit2_(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(data.count))) + 32
        var output = [UInt8](repeating: 0, count: bound)
        var input = [UInt8](data)
        let status = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        return Data(output.prefix(Int(stream.total_out)))
    }
}
