import Foundation
import Logging
@testable import PersonaCore
import Testing

@Suite("JSON log handler")
struct JSONLogHandlerTests {
    private func line(_ level: Logger.Level, _ message: String, metadata: Logger.Metadata = [:],
                      handlerMetadata: Logger.Metadata = [:]) throws -> [String: Any] {
        let event = LogEvent(level: level, message: "\(message)", metadata: metadata, source: "Tests",
                             file: "Tests/File.swift", function: "f()", line: 42)
        let bytes = JSONLogHandler.line(event: event, label: "persona-test", metadata: handlerMetadata)
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test("every line has ts, level, label and msg, with the metadata beside them and trace ids under trace_id")
    func keys() throws {
        let object = try line(.info, "request", metadata: [JSONLogHandler.traceIdKey: "4bf92f3577b34da6a3ce929d0e0e4736"],
                              handlerMetadata: ["route": "/api/users/me"])
        #expect(object["level"] as? String == "info")
        #expect(object["label"] as? String == "persona-test")
        #expect(object["msg"] as? String == "request")
        #expect(object["trace_id"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(object["route"] as? String == "/api/users/me")
        #expect(object["source"] == nil)
        let ts = try #require(object["ts"] as? String)
        #expect(try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(ts).timeIntervalSinceNow > -60)
    }

    @Test("nested metadata stays nested, quotes and control characters are escaped, errors name their source")
    func values() throws {
        let object = try line(.error, "failed \"badly\"\n", metadata: [
            "list": ["a", "b"], "map": ["k": "v\t"], "msg": "metadata cannot replace the message",
        ])
        #expect(object["msg"] as? String == "failed \"badly\"\n")
        #expect(object["list"] as? [String] == ["a", "b"])
        #expect((object["map"] as? [String: String])?["k"] == "v\t")
        #expect(object["source"] as? String == "Tests/File.swift:42")
    }

    @Test("a sink appends every line to its file as well, creating the directory")
    func sinkFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jsonlog-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("logs/control-plane.log").path
        let sink = try JSONLogHandler.Sink(path: path)
        let logger = Logger(label: "file-test") { JSONLogHandler(label: $0, level: .info, sink: sink) }
        logger.info("first")
        logger.debug("below the level")
        logger.warning("second", metadata: ["n": "2"])
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(second["msg"] as? String == "second" && second["n"] as? String == "2" && second["label"] as? String == "file-test")
    }

    @Test("a log file that cannot be opened is a clear error")
    func unopenable() {
        #expect(throws: CoreError.self) { try JSONLogHandler.Sink(path: "/proc/no-such-dir/x.log") }
    }
}
