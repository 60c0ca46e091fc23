import Foundation

/// `openssl s_server` on 127.0.0.1 with a certificate for `wrong.example` only, from a CA made
/// for the occasion (trusted by the test): the chain is good, the name is not.
final class WrongNameTLSServer {
    let port: Int
    let caPEM: String
    private let process = Process()
    private let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("wrong-name-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "subjectAltName=DNS:wrong.example\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(to: directory.appendingPathComponent("ext"), atomically: true, encoding: .utf8)
        try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
                          "-out", "ca.pem", "-days", "2", "-subj", "/CN=Wrong name test CA",
                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"], in: directory)
        try Self.openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key",
                          "-out", "leaf.csr", "-subj", "/CN=wrong.example"], in: directory)
        try Self.openssl(["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                          "-extfile", "ext", "-out", "leaf.pem"], in: directory)
        caPEM = try String(contentsOf: directory.appendingPathComponent("ca.pem"), encoding: .utf8)
        port = try closedPort()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "s_server", "-quiet", "-accept", "127.0.0.1:\(port)", "-cert", "leaf.pem", "-key", "leaf.key"]
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Listening within 5 s, or the test fails here.
        let deadline = Date().addingTimeInterval(5)
        while !Self.accepts(port) {
            guard Date() < deadline, process.isRunning else {
                stop()
                throw SocketFailure("openssl s_server on port \(port) (not listening after 5 s)")
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    func stop() {
        if process.isRunning {
            // s_server ignores SIGTERM while it waits for a connection.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    private static func openssl(_ arguments: [String], in directory: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw SocketFailure("openssl \(arguments[0]) (exit \(process.terminationStatus))") }
    }

    private static func accepts(_ port: Int) -> Bool {
        (try? probeConnect(port: port)) == true
    }
}
