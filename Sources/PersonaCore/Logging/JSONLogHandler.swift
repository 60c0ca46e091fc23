#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The swift-log handler of both processes: one JSON object per line on stdout (what
/// `docker logs` and journald show), optionally appended to a file as well.
///
/// Every line has the same keys: `ts` (ISO 8601 with milliseconds), `level`, `label` (the
/// logger's label), `msg`, then the metadata (nested values stay nested), and `source`
/// (file:line) from `error` up. Trace ids are metadata under ``traceIdKey`` and
/// ``spanIdKey`` wherever a line belongs to a request, run or invocation.
public struct JSONLogHandler: LogHandler {
    /// The metadata key of a W3C trace id (32 hex) on every line that belongs to a trace.
    public static let traceIdKey = "trace_id"
    /// The metadata key of a W3C span id (16 hex).
    public static let spanIdKey = "span_id"

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let sink: Sink

    /// Where lines go: stdout, and a file when one is given. Shared by every logger of the
    /// process, so lines from concurrent tasks never interleave.
    public final class Sink: Sendable {
        /// The appended file's descriptor, or -1; writes to both happen under the lock.
        private let file: Mutex<Int32>

        /// - Parameter path: a file to append to as well as stdout, created (mode 0640, with
        ///   its directory) if missing.
        /// - Throws: ``CoreError`` `log_file_unavailable` when the file cannot be opened.
        public init(path: String? = nil) throws(CoreError) {
            var descriptor: Int32 = -1
            if let path {
                let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
                if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
                descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
                guard descriptor >= 0 else {
                    throw CoreError(.logFileUnavailable, "cannot open the log file \(path)", underlying: Errno(errno))
                }
            }
            file = Mutex(descriptor)
        }

        deinit {
            file.withLock { if $0 >= 0 { close($0) } }
        }

        /// Writes `line` and a newline to stdout (and the file).
        public func write(_ line: [UInt8]) {
            var bytes = line
            bytes.append(10)
            file.withLock { descriptor in
                Self.writeAll(1, bytes)
                if descriptor >= 0 { Self.writeAll(descriptor, bytes) }
            }
        }

        private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) {
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    if written <= 0 { return }
                    offset += written
                }
            }
        }
    }

    public init(label: String, level: Logger.Level, sink: Sink) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    /// Bootstraps swift-log with this handler at `level` (`trace` ... `critical`; anything
    /// else is `info`) writing to stdout and, when given, `path`.
    /// - Throws: ``CoreError`` when the log file cannot be opened.
    public static func bootstrap(level: String, path: String? = nil) throws(CoreError) {
        let parsed = Logger.Level(rawValue: level.lowercased()) ?? .info
        let sink = try Sink(path: path)
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: parsed, sink: sink) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        sink.write(Self.line(event: event, label: label, metadata: metadata))
    }

    /// The JSON line for `event` (without the newline). Fixed keys win over metadata of the
    /// same name; metadata keys are sorted.
    static func line(event: LogEvent, label: String, metadata: Logger.Metadata, now: Date = Date()) -> [UInt8] {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for key in ["ts", "level", "label", "msg", "source"] { merged.removeValue(forKey: key) }
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(0x7B)
        field(&out, "ts", .string(now.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))), first: true)
        field(&out, "level", .string(event.level.rawValue))
        field(&out, "label", .string(label))
        field(&out, "msg", .string(event.message.description))
        for key in merged.keys.sorted() { field(&out, key, merged[key]!) }
        if event.level >= .error { field(&out, "source", .string("\(event.file):\(event.line)")) }
        out.append(0x7D)
        return out
    }

    private static func field(_ out: inout [UInt8], _ key: String, _ value: Logger.Metadata.Value, first: Bool = false) {
        if !first { out.append(0x2C) }
        JSONEscaping.appendString(key, to: &out)
        out.append(0x3A)
        append(value, to: &out)
    }

    private static func append(_ value: Logger.Metadata.Value, to out: inout [UInt8]) {
        switch value {
        case .string(let text):
            JSONEscaping.appendString(text, to: &out)
        case .stringConvertible(let convertible):
            JSONEscaping.appendString(convertible.description, to: &out)
        case .array(let values):
            out.append(0x5B)
            for (index, element) in values.enumerated() {
                if index > 0 { out.append(0x2C) }
                append(element, to: &out)
            }
            out.append(0x5D)
        case .dictionary(let values):
            out.append(0x7B)
            for (index, key) in values.keys.sorted().enumerated() {
                if index > 0 { out.append(0x2C) }
                JSONEscaping.appendString(key, to: &out)
                out.append(0x3A)
                append(values[key]!, to: &out)
            }
            out.append(0x7D)
        }
    }
}
