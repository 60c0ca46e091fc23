#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Real sockets for the failure cases: a port nothing listens on, and a listener that never
/// accepts or answers. With a backlog of 0 and one connection queued (`fillBacklog`), the
/// kernel drops further SYNs, so a connect hangs until its own time-out.
final class SilentListener {
    let port: Int
    private let descriptor: Int32
    private var filler: Int32 = -1

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SocketFailure("socket") }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 0) == 0 else {
            Glibc.close(descriptor)
            throw SocketFailure("bind/listen")
        }
        self.descriptor = descriptor
        port = try localPort(descriptor)
    }

    /// Queues one connection nobody accepts: from now on connects get no answer.
    func fillBacklog() throws {
        filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        // A connect that hangs after all (the backlog already full) gives up after 2 s.
        var limit = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(filler, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(filler, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SocketFailure("connect to fill the backlog") }
    }

    func close() {
        if filler >= 0 { Glibc.close(filler) }
        Glibc.close(descriptor)
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, read, closed).
func closedPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = loopback(port: 0)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw SocketFailure("bind") }
    return try localPort(descriptor)
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` (connects and closes).
func probeConnect(port: Int) throws -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw SocketFailure("socket") }
    defer { close(descriptor) }
    var address = loopback(port: port)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

struct SocketFailure: Error, CustomStringConvertible {
    var description: String
    init(_ call: String) { description = "\(call) failed: errno \(errno)" }
}

private func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return address
}

private func localPort(_ descriptor: Int32) throws -> Int {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let result = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    guard result == 0 else { throw SocketFailure("getsockname") }
    return Int(UInt16(bigEndian: address.sin_port))
}
