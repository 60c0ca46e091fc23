import ControlPlane
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import PersonaKit
import Synchronization
import Testing
import TestSupport

/// The console's desktop socket: `/api/personas/{id}/desktop/vnc` proxies RFB to the persona's
/// x11vnc, authenticating there itself, and offers the browser security None.
extension DesktopContainerTests {
    /// The browser's side of one socket: what the server sent, in order, and how it closed.
    final class RFBSocket: Sendable {
        final class Inbox: Sendable { let bytes = Mutex<[UInt8]>([]) }
        private let received = Inbox()
        private let outgoing: AsyncStream<[UInt8]>.Continuation
        let closed: Task<WebSocketCloseFrame?, any Error>

        init(port: Int, path: String, protocols: [String]) {
            let (stream, outgoing) = AsyncStream<[UInt8]>.makeStream()
            self.outgoing = outgoing
            var headers = HTTPFields()
            headers[.secWebSocketProtocol] = protocols.joined(separator: ", ")
            var logger = Logger(label: "rfb-test-client")
            logger.logLevel = .critical
            let received = self.received
            closed = Task {
                try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)\(path)",
                                                  configuration: .init(maxFrameSize: 1 << 24, additionalHeaders: headers),
                                                  logger: logger) { inbound, outbound, _ in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for try await message in inbound.messages(maxSize: 1 << 26) {
                                guard case .binary(var buffer) = message else { continue }
                                let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
                                received.bytes.withLock { $0 += bytes }
                            }
                        }
                        group.addTask {
                            for await bytes in stream { try await outbound.write(.binary(ByteBuffer(bytes: bytes))) }
                        }
                        try await group.next()
                        group.cancelAll()
                    }
                }
            }
        }

        func send(_ bytes: [UInt8]) { outgoing.yield(bytes) }
        func finish() { outgoing.finish() }

        /// Waits until at least `count` bytes came, then takes exactly `count`.
        func read(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [UInt8] {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                let taken: [UInt8]? = received.bytes.withLock { bytes in
                    guard bytes.count >= count else { return nil }
                    defer { bytes.removeFirst(count) }
                    return Array(bytes.prefix(count))
                }
                if let taken { return taken }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw VNCHandshake.Failure(description: "\(count) bytes did not come within \(timeout)")
        }
    }

    @Test("the console's desktop socket: RFB proxied to the persona's VNC with security None for the browser (the password never sent), a framebuffer update drawn; viewers, strangers, bad tokens and the standard image refused with their close codes; sessions audited")
    func desktopSocket() async throws {
        let docker = try await ContainerTests.engine()
        defer { Task { try? await docker.shutdown() } }
        try await TestApp.run(.sqlite, setup: .live) { api, _ in
            let admin = try await api.login().access
            let port = try #require(api.port)
            let viewer = try await api.makeUser("desk-viewer@example.com", adminToken: admin)
            let stranger = try await api.makeUser("desk-stranger@example.com", adminToken: admin)
            let id = try await ContainerTests.persona(api, admin, name: "Desk")
            #expect(try await api.post("/api/personas/\(id)/members", token: admin,
                                       json: ["userId": .string(viewer.id), "role": "viewer"]).status == .created)
            let path = "/api/personas/\(id)/desktop/vnc"
            func refusal(_ protocols: [String], path: String = path) async throws -> WebSocketCloseFrame? {
                let socket = RFBSocket(port: port, path: path, protocols: protocols)
                defer { socket.finish() }
                return try await socket.closed.value
            }
            // The standard image has no desktop.
            let standard = try await refusal(["binary", "bearer.\(admin)"])
            #expect(standard?.closeCode == .unknown(4409), "\(String(describing: standard))")
            #expect(standard?.reason?.contains("standard image") == true, "\(String(describing: standard))")

            try await Self.useDesktopImage(api, admin, id)
            _ = try await ContainerTests.start(api, admin, id)
            for (protocols, code) in [(["binary"], 4401), (["binary", "bearer.not-a-token"], 4401),
                                      (["binary", "bearer.\(viewer.token)"], 4403), (["binary", "bearer.\(stranger.token)"], 4404)] {
                let frame = try await refusal(protocols)
                #expect(frame?.closeCode == .unknown(UInt16(code)), "\(protocols.first ?? "") → \(String(describing: frame))")
            }

            // The browser's handshake: RFB 3.8, security None, the result, then the session.
            let socket = RFBSocket(port: port, path: path, protocols: ["binary", "bearer.\(admin)"])
            defer { socket.finish() }
            #expect(try await socket.read(12) == Array("RFB 003.008\n".utf8))
            socket.send(Array("RFB 003.008\n".utf8))
            #expect(try await socket.read(2) == [1, 1], "only security type None is offered")
            socket.send([1])
            #expect(try await socket.read(4) == [0, 0, 0, 0], "the proxy's VNC authentication was accepted")
            socket.send([1])  // ClientInit: shared
            let serverInit = try await socket.read(24)
            let width = Int(serverInit[0]) << 8 | Int(serverInit[1]), height = Int(serverInit[2]) << 8 | Int(serverInit[3])
            #expect(width >= 640 && height >= 480, "\(width)x\(height)")
            let bitsPerPixel = Int(serverInit[4])
            let nameLength = serverInit[20..<24].reduce(0) { $0 << 8 | Int($1) }
            _ = try await socket.read(nameLength)
            // SetEncodings [Raw], then a full, non-incremental FramebufferUpdateRequest.
            socket.send([2, 0, 0, 1, 0, 0, 0, 0])
            socket.send([3, 0, 0, 0, 0, 0, UInt8(width >> 8), UInt8(width & 0xff), UInt8(height >> 8), UInt8(height & 0xff)])
            let update = try await socket.read(4)
            #expect(update[0] == 0, "a FramebufferUpdate comes back (message type \(update[0]))")
            let rectangles = Int(update[2]) << 8 | Int(update[3])
            #expect(rectangles >= 1)
            let header = try await socket.read(12)
            let w = Int(header[4]) << 8 | Int(header[5]), h = Int(header[6]) << 8 | Int(header[7])
            let encoding = header[8..<12].reduce(0) { $0 << 8 | Int($1) }
            #expect(encoding == 0, "raw encoding")
            let pixels = try await socket.read(w * h * bitsPerPixel / 8, timeout: .seconds(60))
            #expect(pixels.count == w * h * bitsPerPixel / 8 && w > 0 && h > 0)
            socket.finish()
            _ = try? await socket.closed.value

            // Both ends of the session are in the audit log, with the user and no password.
            #expect(try await ContainerTests.eventually(10) {
                try await api.get("/api/audit?type=desktop.session_closed", token: admin).data?.arrayValue?.count == 1
            })
            let closedRow = try await api.get("/api/audit?type=desktop.session_closed", token: admin).data?.arrayValue?.first
            #expect(closedRow?["metadata"]?["outcome"] == "ended", "\(String(describing: closedRow))")
            #expect((closedRow?["metadata"]?["bytesToBrowser"]?.doubleValue ?? 0) >= Double(pixels.count), "\(String(describing: closedRow))")
            let opened = try await api.get("/api/audit?type=desktop.session_opened", token: admin)
            #expect(opened.data?.arrayValue?.count == 1, "\(opened.body)")
            let password = try #require(try await api.get("/api/personas/\(id)/desktop", token: admin).data?["password"]?.stringValue)
            let audit = try await api.get("/api/audit?personaId=\(id)&limit=100", token: admin)
            #expect(!audit.body.contains(password))
        }
    }
}
