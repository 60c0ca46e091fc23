import Foundation

/// A throwaway CA, a server certificate it signed for the given IPs (and `localhost`), and a
/// Python (`ssl` module) HTTPS server (or a plain HTTP one) on all interfaces using them, for the
/// `http_fetch` tests. Paths: `/hello` (200, `hello over tls`, `X-Test: Yes`), `/big` (4 MiB of
/// `a`), `/slow` (answers after 30 s), `/redirect` (302 to `/hello`), POST anything (echoes the
/// request headers and body as JSON).
final class TLSTestServer: @unchecked Sendable {
    let directory: String
    /// The CA certificate (PEM) that signed the server's certificate.
    let caPEM: String
    let port: Int
    private let process: Process

    static let script = #"""
import http.server, json, ssl, sys, time

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/hello":
            self.answer(200, b"hello over tls", [("X-Test", "Yes")])
        elif self.path == "/big":
            self.answer(200, b"a" * (4 << 20))
        elif self.path == "/slow":
            time.sleep(30)
            self.answer(200, b"late")
        elif self.path == "/redirect":
            self.answer(302, b"", [("Location", "/hello")])
        else:
            self.answer(404, b"no such path")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        echo = {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body.decode("utf-8", "replace")}
        self.answer(200, json.dumps(echo).encode(), [("Content-Type", "application/json")])

server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Handler)
server.daemon_threads = True
if sys.argv[3] == "tls":
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    # The handshake happens in the handler thread: a client that refuses the certificate
    # does not hold up the accept loop.
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
print(server.server_address[1], flush=True)
server.serve_forever()
"""#

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `tls: false` serves the same paths over plain HTTP (the certificates are made anyway).
    init(ips: [String], tls: Bool = true) throws {
        directory = "/tmp/tls-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let san = (ips.map { "IP:\($0)" } + ["DNS:localhost"]).joined(separator: ",")
        try "subjectAltName=\(san)\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n"
            .write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
        try Self.openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=persona-fetch-test-ca",
                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                          "-keyout", "ca.key", "-out", "ca.pem"], in: directory)
        try Self.openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"],
                         in: directory)
        try Self.openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                          "-extfile", "server.ext", "-out", "server.pem"], in: directory)
        caPEM = try String(contentsOfFile: directory + "/ca.pem", encoding: .utf8)
        try Self.script.write(toFile: directory + "/server.py", atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [directory + "/server.py", directory + "/server.pem", directory + "/server.key", tls ? "tls" : "plain"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw Failure(description: "the python3 https server did not start (printed \(String(decoding: line, as: UTF8.self).debugDescription))")
        }
        self.port = port
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func openssl(_ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let text = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "openssl \(arguments.first ?? "") failed: \(String(decoding: text, as: UTF8.self))")
        }
    }
}
