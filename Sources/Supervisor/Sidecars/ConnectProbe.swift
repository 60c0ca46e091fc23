#if canImport(Glibc)
import Glibc
#endif

/// Whether a stream connection to the unix socket at `unixPath` is accepted now.
func connectProbe(unixPath path: String) -> Bool {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in bytes.enumerated() { raw[index] = byte }
    }
    return connects(family: AF_UNIX, to: address)
}

/// Whether a TCP connection to `127.0.0.1:port` is accepted now.
func connectProbe(tcpPort port: Int) -> Bool {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
    return connects(family: AF_INET, to: address)
}

/// A blocking `connect` of a fresh stream socket to `address` (a `sockaddr_*`), closed again.
private func connects<Address>(family: Int32, to address: Address) -> Bool {
    let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = address
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<Address>.size)) == 0
        }
    }
}
