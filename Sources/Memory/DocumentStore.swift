import Crypto
import Foundation
import PersonaCore

/// Uploaded files, content-addressed under `STORAGE_PATH/documents/<first 2 hex>/<sha256>`:
/// the same bytes are stored once however often they are uploaded. An upload streams to a
/// temporary file beside them (hashed and counted as it arrives, refused past the size
/// limit) and is moved into place only once complete, so nothing half-written is ever seen.
package struct DocumentStore: Sendable {
    package let root: String
    package let maxFileSize: Int

    package init(storagePath: String, maxFileSize: Int) {
        self.root = URL(fileURLWithPath: storagePath).standardizedFileURL.path + "/documents"
        self.maxFileSize = maxFileSize
    }

    package func path(sha256: String) -> String { "\(root)/\(sha256.prefix(2))/\(sha256)" }

    /// Removes a stored file (when no document refers to it any more).
    package func remove(sha256: String) {
        try? FileManager.default.removeItem(atPath: path(sha256: sha256))
    }

    package static func sha256Hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).hexString
    }
}
