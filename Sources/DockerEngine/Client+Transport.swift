import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

// Private request helpers shared by the resource files. Every engine answer that is
// not a success leaves here as a DockerError; transport errors are wrapped once, here.

extension Docker.Client {
    /// A request body: raw bytes with their content type, or a JSON document.
    enum RequestBody {
        case bytes([UInt8], contentType: String)
        case json(any Encodable)
    }

    /// Sends one request and returns the response once its head has arrived, with a 2xx
    /// status (or 304 when `allowNotModified`). The body is left for the caller to read.
    func send(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String?)] = [],
        body: RequestBody? = nil,
        notFound: DockerError.Code = .notFound,
        timeout: TimeAmount? = nil,
        versioned: Bool = true,
        allowNotModified: Bool = false
    ) async throws -> HTTPClientResponse {
        let uri = Self.uri(path: versioned ? "/v\(apiVersion)\(path)" : path, query: query)
        var request = HTTPClientRequest(url: url(for: uri))
        request.method = method
        // The engine rejects requests without a Host; unix-socket URLs carry none.
        request.headers.add(name: "Host", value: hostHeader)
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        switch body {
        case .bytes(let bytes, let contentType)?:
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: bytes))
        case .json(let value)?:
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try Self.encode(value)))
        case nil:
            break
        }
        let what = "\(method) \(path)"
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: timeout ?? configuration.requestTimeout, logger: logger)
        } catch {
            throw transportError(error, while: what)
        }
        logger.trace("docker request", metadata: ["request": "\(what)", "status": "\(response.status.code)"])
        let code = Int(response.status.code)
        if (200..<300).contains(code) || (allowNotModified && code == 304) {
            return response
        }
        throw await engineError(response, notFound: notFound, while: what)
    }

    /// Sends a request and decodes its JSON answer.
    func get<T: Decodable>(
        _ path: String,
        query: [(String, String?)] = [],
        notFound: DockerError.Code = .notFound,
        versioned: Bool = true
    ) async throws -> T {
        let response = try await send(.GET, path, query: query, notFound: notFound, versioned: versioned)
        return try Self.decode(T.self, from: try await collect(response), while: "GET \(path)")
    }

    /// Sends a request with a JSON body and decodes its JSON answer.
    func post<T: Decodable>(
        _ path: String,
        query: [(String, String?)] = [],
        json: (any Encodable)? = nil,
        notFound: DockerError.Code = .notFound
    ) async throws -> T {
        let response = try await send(.POST, path, query: query, body: json.map { .json($0) }, notFound: notFound)
        return try Self.decode(T.self, from: try await collect(response), while: "POST \(path)")
    }

    /// Sends a request whose answer carries nothing of interest; returns the status code.
    @discardableResult
    func perform(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String?)] = [],
        json: (any Encodable)? = nil,
        notFound: DockerError.Code = .notFound,
        timeout: TimeAmount? = nil,
        allowNotModified: Bool = false
    ) async throws -> Int {
        let response = try await send(
            method, path, query: query, body: json.map { .json($0) }, notFound: notFound,
            timeout: timeout, allowNotModified: allowNotModified
        )
        _ = try await collect(response)
        return Int(response.status.code)
    }

    /// Reads a whole (bounded) response body.
    func collect(_ response: HTTPClientResponse) async throws -> ByteBuffer {
        do {
            return try await response.body.collect(upTo: configuration.maximumResponseSize)
        } catch {
            throw transportError(error, while: "reading the engine's answer")
        }
    }

    /// Wraps a transport error (connection refused, missing socket, deadline...) once.
    func transportError(_ error: any Error, while what: String) -> any Error {
        if error is DockerError || error is CancellationError { return error }
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout || error == .writeTimeout {
                return DockerError(.timeout, "the Docker engine at \(endpoint) did not answer in time (\(what))", underlying: error)
            }
            if error == .alreadyShutdown {
                return DockerError(.shutDown, "the Docker client was shut down (\(what))", underlying: error)
            }
        }
        if Task.isCancelled { return CancellationError() }
        return DockerError(.engineUnreachable, "cannot reach the Docker engine at \(endpoint) (\(what))", underlying: error)
    }

    /// Builds the DockerError for a non-success answer from the engine's `{"message"}`.
    private func engineError(_ response: HTTPClientResponse, notFound: DockerError.Code, while what: String) async -> DockerError {
        let status = Int(response.status.code)
        var message = "\(what) answered \(status)"
        if let body = try? await response.body.collect(upTo: 1 << 20) {
            struct EngineMessage: Decodable { var message: String }
            if let decoded = try? JSONDecoder().decode(EngineMessage.self, from: Data(body.readableBytesView)) {
                message = decoded.message
            } else if body.readableBytes > 0 {
                message = String(decoding: body.readableBytesView, as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        let code: DockerError.Code =
            switch status {
            case 304: .notModified
            case 400: .badRequest
            case 401, 403: .forbidden
            case 404: notFound
            case 409: .conflict
            default: .server
            }
        return DockerError(code, message, statusCode: status)
    }

    private var hostHeader: String {
        switch endpoint {
        case .unixSocket: "localhost"
        case .tcp(let host, let port, _): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    private func url(for uri: String) -> String {
        switch endpoint {
        case .unixSocket(let path):
            // Only fails for a path that cannot be percent-encoded, which a String path cannot be.
            return URL(httpURLWithSocketPath: path, uri: uri)?.absoluteString ?? "http+unix://invalid\(uri)"
        case .tcp(let host, let port, let tls):
            let scheme = tls == nil ? "http" : "https"
            let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            return "\(scheme)://\(authority)\(uri)"
        }
    }

    static func uri(path: String, query: [(String, String?)]) -> String {
        let items = query.compactMap { name, value in value.map { "\(name)=\(percentEncode($0))" } }
        return items.isEmpty ? path : "\(path)?\(items.joined(separator: "&"))"
    }

    /// Percent-encodes a path segment or query value (names, ids, JSON filters).
    static func percentEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:@")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    static func encode(_ value: any Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return Array(try encoder.encode(value))
        } catch {
            throw DockerError(.badRequest, "cannot encode the request body", underlying: error)
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer, while what: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            let text = String(decoding: buffer.readableBytesView.prefix(300), as: UTF8.self)
            throw DockerError(.invalidResponse, "cannot decode the answer to \(what): \(text)", underlying: error)
        }
    }
}
