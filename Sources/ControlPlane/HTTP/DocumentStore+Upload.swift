import Crypto
import Foundation
import Hummingbird
import Memory
import MultipartKit
import PersonaCore
import PersonaKit

/// Uploads over HTTP: a `multipart/form-data` body streamed into the document store.
extension DocumentStore {
    /// A file received from a multipart upload.
    struct Received: Sendable {
        var name: String
        var contentType: String?
        var size: Int
        var sha256: String
    }

    /// Reads a `multipart/form-data` body whose `file` part holds the document (an optional
    /// `name` part overrides its file name) and stores it.
    /// - Throws: ``APIError`` 400 for a malformed body or no file, 413 past ``maxFileSize``.
    func receive(_ request: Request) async throws -> Received {
        guard let contentType = request.headers[.contentType],
              contentType.lowercased().hasPrefix("multipart/form-data"),
              let boundary = Self.boundary(contentType)
        else { throw APIError(.unsupportedMediaType, code: "unsupported_media_type", "Upload a file as multipart/form-data (field \"file\")") }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxFileSize + 64 * 1024 {
            throw APIError.tooLarge("The file is larger than the \(maxFileSize)-byte limit (MAX_FILE_SIZE)")
        }
        try FileManager.default.createDirectory(atPath: root + "/incoming", withIntermediateDirectories: true)
        let temporary = "\(root)/incoming/\(Identifier.make())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: temporary)
        else { throw APIError(.internalServerError, code: "storage_error", "Could not store the upload") }
        var keep = false
        defer {
            try? handle.close()
            if !keep { try? FileManager.default.removeItem(atPath: temporary) }
        }
        let state = UploadState()
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in state.header(name: name, value: value) }
        parser.onBody = { buffer in state.body(&buffer) }
        parser.onPartComplete = { state.partComplete() }
        for try await buffer in request.body {
            do { try parser.execute(buffer) } catch {
                throw APIError.badRequest("The multipart body is malformed")
            }
            if !state.pending.isEmpty {
                try handle.write(contentsOf: state.pending)
                state.pending.removeAll(keepingCapacity: true)
            }
            if state.size > maxFileSize {
                throw APIError.tooLarge("The file is larger than the \(maxFileSize)-byte limit (MAX_FILE_SIZE)")
            }
        }
        guard state.fileComplete, let fileName = state.fileName else {
            throw APIError.badRequest(state.fileName == nil ? "The upload has no \"file\" part" : "The multipart body ended early")
        }
        guard state.size > 0 else { throw APIError.validation("The file is empty") }
        let name = try Validate.text(state.nameField.flatMap { $0.isEmpty ? nil : $0 } ?? fileName, field: "name", max: 255)
        let digest = state.hasher.finalize().hexString
        try handle.synchronize()
        let final = path(sha256: digest)
        try FileManager.default.createDirectory(atPath: (final as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: final) {
            return Received(name: name, contentType: state.fileType, size: state.size, sha256: digest)
        }
        guard rename(temporary, final) == 0 else { throw APIError(.internalServerError, code: "storage_error", "Could not store the upload") }
        keep = true
        return Received(name: name, contentType: state.fileType, size: state.size, sha256: digest)
    }

    static func boundary(_ contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return value.isEmpty || value.count > 200 ? nil : value
        }
        return nil
    }
}

/// What the multipart callbacks learn; used by one request's task only.
private final class UploadState: @unchecked Sendable {
    var headers: [String: String] = [:]
    var part: Part?
    var fileName: String?
    var fileType: String?
    var fileComplete = false
    var nameField: String?
    var nameBuffer: [UInt8] = []
    var pending: [UInt8] = []
    var size = 0
    var hasher = SHA256()

    enum Part { case file, name, other }

    func header(name: String, value: String) {
        headers[name.lowercased()] = value
        guard name.lowercased() == "content-disposition" else {
            if name.lowercased() == "content-type", part == .file { fileType = value }
            return
        }
        let parameters = Self.parameters(value)
        switch parameters["name"] {
        case "file" where fileName == nil:
            part = .file
            fileName = parameters["filename"].map { ($0 as NSString).lastPathComponent } ?? "upload"
            fileType = headers["content-type"]
        case "name": part = .name
        default: part = .other
        }
    }

    func body(_ buffer: inout ByteBuffer) {
        switch part {
        case .file:
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            size += bytes.count
            hasher.update(data: bytes)
            pending += bytes
        case .name:
            if nameBuffer.count < 1024 { nameBuffer += buffer.readBytes(length: buffer.readableBytes) ?? [] }
        default:
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        }
    }

    func partComplete() {
        if part == .file { fileComplete = true }
        if part == .name { nameField = String(decoding: nameBuffer, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
        part = nil
        headers = [:]
    }

    static func parameters(_ value: String) -> [String: String] {
        var out: [String: String] = [:]
        for item in value.split(separator: ";").dropFirst() {
            let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            out[pair[0].lowercased()] = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return out
    }
}
