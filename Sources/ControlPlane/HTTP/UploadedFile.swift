import Foundation
import Hummingbird
import MultipartKit
import Memory
import PersonaKit

/// A small uploaded file held in memory: the first file part of a `multipart/form-data` body
/// (field `package` or `file`), or the whole body when it is sent as the archive itself
/// (`application/gzip`, `application/zip`, `application/octet-stream`, ...).
enum UploadedFile {
    /// - Throws: ``APIError`` 413 past `limit`, 415 for another content type, 400 for a
    ///   malformed body or no file part.
    static func read(_ request: Request, fields: Set<String>, limit: Int) async throws -> (fileName: String?, bytes: [UInt8]) {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit + 64 * 1024 {
            throw APIError(.contentTooLarge, code: "package_too_large", "The upload is larger than the \(limit)-byte limit")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit + 64 * 1024)
        } catch {
            throw APIError(.contentTooLarge, code: "package_too_large", "The upload is larger than the \(limit)-byte limit")
        }
        if contentType.hasPrefix("multipart/form-data") {
            guard let boundary = DocumentStore.boundary(request.headers[.contentType] ?? "") else {
                throw APIError.badRequest("The multipart body has no boundary")
            }
            let state = PartState(fields: fields)
            let parser = MultipartParser(boundary: boundary)
            parser.onHeader = { name, value in state.header(name: name, value: value) }
            parser.onBody = { buffer in state.body(&buffer) }
            parser.onPartComplete = { state.partComplete() }
            do { try parser.execute(body) } catch { throw APIError.badRequest("The multipart body is malformed") }
            guard state.complete else {
                throw APIError.badRequest("The upload has no \(fields.sorted().map { "\"\($0)\"" }.joined(separator: " or ")) file part")
            }
            guard state.bytes.count <= limit else {
                throw APIError(.contentTooLarge, code: "package_too_large", "The upload is larger than the \(limit)-byte limit")
            }
            return (state.fileName, state.bytes)
        }
        let raw = ["application/gzip", "application/x-gzip", "application/zip", "application/x-tar", "application/x-compressed-tar",
                   "application/octet-stream"]
        guard raw.contains(where: { contentType.hasPrefix($0) }) else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                           "Upload the package as multipart/form-data (field \"package\") or as the archive itself (application/gzip or application/zip)")
        }
        guard body.readableBytes <= limit else {
            throw APIError(.contentTooLarge, code: "package_too_large", "The upload is larger than the \(limit)-byte limit")
        }
        return (nil, Array(buffer: body))
    }
}

/// What the multipart callbacks learn; used by one request's task only.
private final class PartState: @unchecked Sendable {
    let fields: Set<String>
    var inFile = false
    var complete = false
    var fileName: String?
    var bytes: [UInt8] = []
    var disposition: String?

    init(fields: Set<String>) { self.fields = fields }

    func header(name: String, value: String) {
        guard name.lowercased() == "content-disposition", !complete else { return }
        var parameters: [String: String] = [:]
        for item in value.split(separator: ";").dropFirst() {
            let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2 { parameters[pair[0].lowercased()] = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        if let field = parameters["name"], fields.contains(field) {
            inFile = true
            fileName = parameters["filename"].map { ($0 as NSString).lastPathComponent }
        }
    }

    func body(_ buffer: inout ByteBuffer) {
        if inFile { bytes += buffer.readBytes(length: buffer.readableBytes) ?? [] } else { buffer.moveReaderIndex(forwardBy: buffer.readableBytes) }
    }

    func partComplete() {
        if inFile { complete = true }
        inFile = false
    }
}
