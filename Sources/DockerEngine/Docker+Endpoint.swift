import Foundation

extension Docker {
    /// Where the engine listens.
    public enum Endpoint: Sendable, Hashable, CustomStringConvertible {
        /// A unix socket such as `/var/run/docker.sock`.
        case unixSocket(path: String)
        /// A TCP address, in clear or over TLS.
        case tcp(host: String, port: Int, tls: TLSFiles?)

        /// The default socket of a local engine.
        public static let defaultSocketPath = "/var/run/docker.sock"

        public var description: String {
            switch self {
            case .unixSocket(let path): "unix://\(path)"
            case .tcp(let host, let port, let tls): "\(tls == nil ? "tcp" : "tcp+tls")://\(host):\(port)"
            }
        }

        /// Parses a `DOCKER_HOST`-style address: `unix:///path`, `tcp://host:port` or a bare
        /// absolute socket path. `tls` applies to `tcp://` only.
        ///
        /// - Throws: ``DockerError/Code/invalidConfiguration`` for other schemes (`ssh://`, `npipe://`).
        public static func parse(_ address: String, tls: TLSFiles? = nil) throws(DockerError) -> Endpoint {
            if address.hasPrefix("/") { return .unixSocket(path: address) }
            if address.hasPrefix("unix://") { return .unixSocket(path: String(address.dropFirst("unix://".count))) }
            if address.hasPrefix("tcp://") {
                var rest = String(address.dropFirst("tcp://".count))
                if let slash = rest.firstIndex(of: "/") { rest = String(rest[..<slash]) }
                let defaultPort = tls == nil ? 2375 : 2376
                // "[::1]:2375", "host:2375" or "host".
                if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                    let host = String(rest[rest.index(after: rest.startIndex)..<close])
                    let portText = rest[rest.index(after: close)...].dropFirst()
                    return .tcp(host: host, port: Int(portText) ?? defaultPort, tls: tls)
                }
                let parts = rest.split(separator: ":", maxSplits: 1)
                guard let host = parts.first, !host.isEmpty else {
                    throw DockerError(.invalidConfiguration, "no host in Docker address \(address)")
                }
                let port = parts.count == 2 ? Int(parts[1]) : defaultPort
                guard let port else { throw DockerError(.invalidConfiguration, "bad port in Docker address \(address)") }
                return .tcp(host: String(host), port: port, tls: tls)
            }
            throw DockerError(.invalidConfiguration, "unsupported Docker address \(address) (use unix:// or tcp://)")
        }

        /// The endpoint the environment names, the way the docker CLI reads it:
        /// `DOCKER_HOST` first, then this project's `DOCKER_SOCKET_PATH`, then
        /// ``defaultSocketPath``. TLS is used for `tcp://` when `DOCKER_CERT_PATH` or
        /// `DOCKER_TLS_VERIFY` is set (certificates `ca.pem`, `cert.pem`, `key.pem` in
        /// `DOCKER_CERT_PATH`, default `~/.docker`); the server is verified only when
        /// `DOCKER_TLS_VERIFY` is non-empty.
        ///
        /// - Throws: ``DockerError/Code/invalidConfiguration`` for an unusable `DOCKER_HOST`.
        public static func fromEnvironment(
            _ environment: [String: String] = ProcessInfo.processInfo.environment
        ) throws(DockerError) -> Endpoint {
            if let host = environment["DOCKER_HOST"], !host.isEmpty {
                let verify = !(environment["DOCKER_TLS_VERIFY"] ?? "").isEmpty
                let certPath = environment["DOCKER_CERT_PATH"].flatMap { $0.isEmpty ? nil : $0 }
                var tls: TLSFiles?
                if verify || certPath != nil {
                    let home = environment["HOME"] ?? NSHomeDirectory()
                    tls = TLSFiles(directory: certPath ?? "\(home)/.docker", verifyServer: verify)
                }
                return try parse(host, tls: tls)
            }
            if let path = environment["DOCKER_SOCKET_PATH"], !path.isEmpty {
                return try parse(path)
            }
            return .unixSocket(path: defaultSocketPath)
        }
    }

    /// Certificates for a TLS connection to the engine, as the docker CLI lays them out.
    public struct TLSFiles: Sendable, Hashable {
        /// CA bundle that signed the engine's certificate (`ca.pem`).
        public var caPath: String
        /// Client certificate (`cert.pem`); skipped when the file does not exist.
        public var certificatePath: String
        /// Client private key (`key.pem`); skipped when the file does not exist.
        public var keyPath: String
        /// Verify the engine's certificate and host name (`DOCKER_TLS_VERIFY`).
        public var verifyServer: Bool

        public init(caPath: String, certificatePath: String, keyPath: String, verifyServer: Bool = true) {
            self.caPath = caPath
            self.certificatePath = certificatePath
            self.keyPath = keyPath
            self.verifyServer = verifyServer
        }

        /// `ca.pem`, `cert.pem` and `key.pem` in `directory`.
        public init(directory: String, verifyServer: Bool = true) {
            self.init(
                caPath: "\(directory)/ca.pem",
                certificatePath: "\(directory)/cert.pem",
                keyPath: "\(directory)/key.pem",
                verifyServer: verifyServer
            )
        }
    }
}
