import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL

extension Docker {
    /// A typed client of the Docker Engine API over a unix socket or TCP (TLS optional).
    ///
    /// Create it with ``connect(to:configuration:logger:)``, which negotiates the API
    /// version, and end it with ``shutdown()``: the client never closes itself in `deinit`.
    /// Calls are safe from any task; each resource has its own file of methods
    /// (`Client+Containers.swift`, `Client+Events.swift`, ...).
    public final class Client: Sendable {
        /// Where the engine listens.
        public let endpoint: Endpoint
        /// The API version every request is sent with (`/v1.41/...`).
        public let apiVersion: APIVersion
        /// Timeouts and limits this client was made with.
        public let configuration: Configuration
        let httpClient: HTTPClient
        let logger: Logger

        /// Settings of a ``Client``.
        public struct Configuration: Sendable {
            /// How long to wait for a connection to the engine.
            public var connectTimeout: TimeAmount
            /// How long a non-streaming request may take until the engine's answer starts.
            /// Streams (logs, events, stats, wait, build) are not bound by it once they started.
            public var requestTimeout: TimeAmount
            /// Largest non-streamed answer accepted, in bytes.
            public var maximumResponseSize: Int
            /// `User-Agent` header.
            public var userAgent: String
            /// Connections the client opens to the engine at most. Every open stream (events,
            /// followed logs, stats, a pending wait, a running exec) holds one for its whole
            /// life, and requests beyond the limit queue until one is free, so keep this well
            /// above the number of streams the program keeps open.
            public var maximumConnections: Int

            public init(
                connectTimeout: TimeAmount = .seconds(5),
                requestTimeout: TimeAmount = .seconds(60),
                maximumResponseSize: Int = 64 << 20,
                userAgent: String = "persona-platform-docker-engine",
                maximumConnections: Int = 64
            ) {
                self.connectTimeout = connectTimeout
                self.requestTimeout = requestTimeout
                self.maximumResponseSize = maximumResponseSize
                self.userAgent = userAgent
                self.maximumConnections = maximumConnections
            }
        }

        /// Makes a client that speaks exactly `apiVersion`, without asking the engine.
        ///
        /// Prefer ``connect(to:configuration:logger:)``. Call ``shutdown()`` when done.
        /// - Throws: ``DockerError`` `invalidConfiguration` when TLS certificates cannot be read.
        public init(
            endpoint: Endpoint,
            apiVersion: APIVersion,
            configuration: Configuration = Configuration(),
            logger: Logger = Logger(label: "persona.docker")
        ) throws {
            var http = HTTPClient.Configuration(
                tlsConfiguration: try Client.tlsConfiguration(for: endpoint),
                redirectConfiguration: .disallow,
                timeout: .init(connect: configuration.connectTimeout),
                connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maximumConnections),
                decompression: .disabled
            )
            // A local socket that refuses now will refuse in a moment too: fail at once rather
            // than retry until the connect timeout. Remote engines keep the retries.
            if case .unixSocket = endpoint { http.connectionPool.retryConnectionEstablishment = false }
            // exec and attach take over the connection: that only works over HTTP/1.1.
            http.httpVersion = .http1Only
            self.httpClient = HTTPClient(
                eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                configuration: http,
                backgroundActivityLogger: logger
            )
            self.endpoint = endpoint
            self.apiVersion = apiVersion
            self.configuration = configuration
            self.logger = logger
        }

        /// Connects to the engine at `endpoint` and negotiates the API version: the lower of
        /// the engine's (`API-Version` from `GET /_ping`, else `GET /version`) and
        /// ``APIVersion/maximum``.
        ///
        /// - Throws: ``DockerError`` `engineUnreachable` when nothing answers,
        ///   `unsupportedAPIVersion` when the engine is older than ``APIVersion/minimum``.
        public static func connect(
            to endpoint: Endpoint,
            configuration: Configuration = Configuration(),
            logger: Logger = Logger(label: "persona.docker")
        ) async throws -> Client {
            let probe = try Client(endpoint: endpoint, apiVersion: .minimum, configuration: configuration, logger: logger)
            let engineVersion: APIVersion
            do {
                engineVersion = try await probe.engineAPIVersion()
            } catch {
                try? await probe.httpClient.shutdown()
                throw error
            }
            guard engineVersion >= .minimum else {
                try? await probe.httpClient.shutdown()
                throw DockerError(
                    .unsupportedAPIVersion,
                    "the engine at \(endpoint) speaks API \(engineVersion), at least \(APIVersion.minimum) is required"
                )
            }
            let negotiated = min(engineVersion, .maximum)
            logger.debug("connected to Docker engine", metadata: ["endpoint": "\(endpoint)", "api": "\(negotiated)"])
            return Client(reusing: probe, apiVersion: negotiated)
        }

        /// Connects to the engine the environment names (see ``Endpoint/fromEnvironment(_:)``).
        public static func connectFromEnvironment(
            configuration: Configuration = Configuration(),
            logger: Logger = Logger(label: "persona.docker")
        ) async throws -> Client {
            try await connect(to: try Endpoint.fromEnvironment(), configuration: configuration, logger: logger)
        }

        private init(reusing other: Client, apiVersion: APIVersion) {
            self.endpoint = other.endpoint
            self.httpClient = other.httpClient
            self.configuration = other.configuration
            self.logger = other.logger
            self.apiVersion = apiVersion
        }

        /// Closes every connection. Streams still open end with an error; the client
        /// cannot be used afterwards.
        public func shutdown() async throws {
            do {
                try await httpClient.shutdown()
            } catch {
                throw DockerError(.shutDown, "shutting down the Docker client failed", underlying: error)
            }
        }

        private func engineAPIVersion() async throws -> APIVersion {
            let response = try await send(.GET, "/_ping", versioned: false)
            _ = try await collect(response)
            if let header = response.headers.first(name: "API-Version"), let version = APIVersion(header) {
                return version
            }
            let info: VersionInfo = try await get("/version", versioned: false)
            guard let version = APIVersion(info.apiVersion) else {
                throw DockerError(.invalidResponse, "the engine reported API version \(info.apiVersion)")
            }
            return version
        }

        private static func tlsConfiguration(for endpoint: Endpoint) throws -> TLSConfiguration? {
            guard case .tcp(_, _, let files?) = endpoint else { return nil }
            var tls = TLSConfiguration.makeClientConfiguration()
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(files.caPath))
                let manager = FileManager.default
                if manager.fileExists(atPath: files.certificatePath), manager.fileExists(atPath: files.keyPath) {
                    tls.certificateChain = try NIOSSLCertificate.fromPEMFile(files.certificatePath).map { .certificate($0) }
                    tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: files.keyPath, format: .pem))
                }
            } catch {
                throw DockerError(.invalidConfiguration, "cannot read the Docker TLS certificates", underlying: error)
            }
            tls.certificateVerification = files.verifyServer ? .fullVerification : .none
            return tls
        }
    }
}
