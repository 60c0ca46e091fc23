import Foundation
import NIOCore

extension Docker.Client {
    /// Builds an image with the classic builder and streams its progress; the stream ends
    /// when the build does. A failed build ends with a message whose `error` is set.
    ///
    /// Maps to `POST /build` with the context as an `application/x-tar` body.
    /// - Parameter context: a tar archive (see ``Docker/TarWriter``) holding the Dockerfile.
    public func buildImageStream(context: [UInt8], options: Docker.BuildOptions = Docker.BuildOptions()) async throws -> Docker.JSONLineSequence<Docker.ProgressMessage> {
        var query: [(String, String?)] = options.tags.map { ("t", $0) }
        query += [
            ("dockerfile", options.dockerfile),
            ("buildargs", options.buildArgs.isEmpty ? nil : String(decoding: try Self.encode(options.buildArgs), as: UTF8.self)),
            ("labels", options.labels.isEmpty ? nil : String(decoding: try Self.encode(options.labels), as: UTF8.self)),
            ("nocache", options.noCache ? "1" : nil),
            ("pull", options.pull ? "1" : nil),
            ("rm", "1"),
            ("forcerm", options.forceRemoveIntermediate ? "1" : nil),
            ("networkmode", options.networkMode),
            ("target", options.target),
        ]
        let response = try await send(
            .POST, "/build", query: query, body: .bytes(context, contentType: "application/x-tar"),
            notFound: .noSuchImage, timeout: .minutes(10)
        )
        return Docker.JSONLineSequence(client: self, body: response.body, context: "POST /build")
    }

    /// Builds an image and returns its id once the build succeeded.
    ///
    /// Maps to `POST /build`.
    /// - Parameter progress: called with every progress message, in order.
    /// - Throws: ``DockerError`` `buildFailed` with the builder's message when a step fails.
    @discardableResult
    public func buildImage(
        context: [UInt8],
        options: Docker.BuildOptions = Docker.BuildOptions(),
        progress: (Docker.ProgressMessage) -> Void = { _ in }
    ) async throws -> String {
        var imageID: String?
        var lastLines: [String] = []
        for try await message in try await buildImageStream(context: context, options: options) {
            progress(message)
            if let error = message.error ?? message.errorDetail?.message {
                let log = lastLines.suffix(10).joined()
                throw DockerError(.buildFailed, "image build failed: \(error)\n\(log)")
            }
            if let id = message.aux?.id { imageID = id }
            if let stream = message.stream { lastLines = Array((lastLines + [stream]).suffix(10)) }
            // The classic builder also prints "Successfully built <short id>".
            if imageID == nil, let line = message.stream, line.hasPrefix("Successfully built ") {
                imageID = line.dropFirst("Successfully built ".count).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        guard let imageID else {
            throw DockerError(.buildFailed, "the build stream ended without an image id")
        }
        return imageID
    }

    /// Creates an image from a root file system tarball (`docker import`); returns its id.
    ///
    /// Maps to `POST /images/create?fromSrc=-&repo=&tag=`.
    /// - Parameters:
    ///   - tarball: the root file system as a tar archive.
    ///   - reference: `name:tag` to give the image.
    public func importImage(tarball: [UInt8], as reference: String) async throws -> String {
        let (repository, tag) = Self.splitReference(reference)
        let response = try await send(
            .POST, "/images/create", query: [("fromSrc", "-"), ("repo", repository), ("tag", tag)],
            body: .bytes(tarball, contentType: "application/x-tar"), timeout: .minutes(10)
        )
        var imageID: String?
        for try await message in Docker.JSONLineSequence<Docker.ProgressMessage>(client: self, body: response.body, context: "POST /images/create") {
            if let error = message.error ?? message.errorDetail?.message {
                throw DockerError(.server, "image import failed: \(error)")
            }
            if let status = message.status, status.hasPrefix("sha256:") { imageID = status }
        }
        guard let imageID else { throw DockerError(.invalidResponse, "the import stream ended without an image id") }
        return imageID
    }

    /// Details of an image by name or id.
    ///
    /// Maps to `GET /images/{name}/json`.
    /// - Throws: ``DockerError`` `noSuchImage`.
    public func inspectImage(_ reference: String) async throws -> Docker.ImageInspect {
        try await get("/images/\(Self.encodeReference(reference))/json", notFound: .noSuchImage)
    }

    /// Lists images.
    ///
    /// Maps to `GET /images/json?filters=`.
    public func listImages(filters: Docker.Filters = [:]) async throws -> [Docker.ImageSummary] {
        try await get("/images/json", query: [("filters", filters.queryValue)])
    }

    /// Tags an image with another name.
    ///
    /// Maps to `POST /images/{name}/tag?repo=&tag=`.
    public func tagImage(_ reference: String, as newReference: String) async throws {
        let (repository, tag) = Self.splitReference(newReference)
        try await perform(.POST, "/images/\(Self.encodeReference(reference))/tag", query: [("repo", repository), ("tag", tag)], notFound: .noSuchImage)
    }

    /// Removes an image (untags it; deletes its layers when no tag is left).
    ///
    /// Maps to `DELETE /images/{name}?force=&noprune=`.
    /// - Throws: ``DockerError`` `noSuchImage`; `conflict` when a container uses it and `force` is false.
    @discardableResult
    public func removeImage(_ reference: String, force: Bool = false, noPrune: Bool = false) async throws -> [Docker.ImageDeleteItem] {
        let response = try await send(
            .DELETE, "/images/\(Self.encodeReference(reference))",
            query: [("force", force ? "1" : nil), ("noprune", noPrune ? "1" : nil)], notFound: .noSuchImage
        )
        return try Self.decode([Docker.ImageDeleteItem].self, from: try await collect(response), while: "DELETE /images")
    }

    /// `registry:5000/name:tag` -> (`registry:5000/name`, `tag`); the tag is `latest` when absent.
    static func splitReference(_ reference: String) -> (String, String) {
        if let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") {
            return (String(reference[..<colon]), String(reference[reference.index(after: colon)...]))
        }
        return (reference, "latest")
    }

    /// Image references keep their `/` and `:` in the path; the engine's route takes them whole.
    static func encodeReference(_ reference: String) -> String {
        reference.split(separator: "/", omittingEmptySubsequences: false).map { percentEncode(String($0)) }.joined(separator: "/")
    }
}
