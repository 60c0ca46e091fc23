#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// swift-log handler writing one JSON object per line to stdout (what `docker logs` shows):
/// `{"ts","level","logger","msg", ...metadata}`, with `traceId` among the metadata when the
/// line belongs to a request or invocation.
public struct JSONLineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private static let output = Mutex<Int32>(1)

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata { fields[key] = "\(value)" }
        for (key, value) in event.metadata ?? [:] { fields[key] = "\(value)" }
        fields["ts"] = Date().formatted(.iso8601)
        fields["level"] = event.level.rawValue
        fields["logger"] = label
        fields["msg"] = "\(event.message)"
        let line = (try? JSONEncoder().encode(fields)).map { Array($0) + [10] } ?? Array("{\"msg\":\"unencodable log line\"}\n".utf8)
        Self.output.withLock { fd in
            line.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n <= 0 { break }
                    offset += n
                }
            }
        }
    }

    /// Bootstraps swift-log with this handler at `level` (`trace` ... `critical`).
    public static func bootstrap(level: String) {
        let parsed = Logger.Level(rawValue: level.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in JSONLineLogHandler(label: label, level: parsed) }
    }
}
