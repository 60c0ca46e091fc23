import Foundation

/// The client side of an RFB 3.8 handshake with VNC authentication, over a plain blocking
/// socket: version, security type 2, the DES answer to the challenge, the security result and,
/// when accepted, the server's framebuffer size. DES comes from the host's `openssl`.
enum VNCHandshake {
    struct Outcome: CustomStringConvertible {
        var serverVersion: String
        var securityTypes: [UInt8]
        var accepted: Bool
        var width = 0
        var height = 0
        var description: String { "RFB \(serverVersion) types \(securityTypes) accepted \(accepted) \(width)x\(height)" }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    static func authenticate(host: String, port: Int, password: String) throws -> Outcome {
        let socket = try Connection(host: host, port: port)
        defer { socket.close() }
        let version = String(decoding: try socket.read(12), as: UTF8.self)
        guard version.hasPrefix("RFB ") else { throw Failure(description: "not an RFB server: \(version)") }
        try socket.write(Array("RFB 003.008\n".utf8))
        let count = Int(try socket.read(1)[0])
        guard count > 0 else { throw Failure(description: "the server refused the connection") }
        let types = try socket.read(count)
        var outcome = Outcome(serverVersion: version.trimmingCharacters(in: .whitespacesAndNewlines), securityTypes: types, accepted: false)
        guard types.contains(2) else { return outcome }
        try socket.write([2])
        let challenge = try socket.read(16)
        try socket.write(try des(challenge, key: vncKey(password)))
        let result = try socket.read(4)
        outcome.accepted = result == [0, 0, 0, 0]
        guard outcome.accepted else { return outcome }
        try socket.write([1])  // ClientInit: shared
        let initMessage = try socket.read(4)
        outcome.width = Int(initMessage[0]) << 8 | Int(initMessage[1])
        outcome.height = Int(initMessage[2]) << 8 | Int(initMessage[3])
        return outcome
    }

    /// VNC's DES key: the password's first 8 bytes, zero-padded, each byte's bits reversed.
    static func vncKey(_ password: String) -> [UInt8] {
        var key = Array(password.utf8.prefix(8))
        key += [UInt8](repeating: 0, count: 8 - key.count)
        return key.map { byte in (0..<8).reduce(UInt8(0)) { $0 | ((byte >> $1) & 1) << (7 - $1) } }
    }

    static func des(_ data: [UInt8], key: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["enc", "-des-ecb", "-nopad", "-K", key.map { String(format: "%02x", $0) }.joined(),
                             "-provider", "legacy", "-provider", "default"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(data))
        try input.fileHandleForWriting.close()
        let result = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, result.count == data.count else {
            throw Failure(description: "openssl des-ecb failed (\(process.terminationStatus)); is openssl's legacy provider installed?")
        }
        return Array(result)
    }

    final class Connection {
        let fd: Int32

        init(host: String, port: Int) throws {
            fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, host, &address.sin_addr)
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                Glibc.close(fd)
                throw Failure(description: "connect to \(host):\(port) failed: errno \(errno)")
            }
        }

        func read(_ count: Int) throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: count)
            var got = 0
            while got < count {
                let n = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + got, count - got) }
                guard n > 0 else { throw Failure(description: "connection closed after \(got) of \(count) bytes") }
                got += n
            }
            return out
        }

        func write(_ bytes: [UInt8]) throws {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n == bytes.count else { throw Failure(description: "short write") }
        }

        func close() { Glibc.close(fd) }
    }
}
