import Crypto
import Foundation
import PersonaKit

/// Seals persona secrets with AES-256-GCM under `ENCRYPTION_KEY`. The persona id and the
/// secret's name are authenticated data, so a ciphertext copied to another row fails to open.
package struct SecretBox: Sendable {
    private let key: SymmetricKey

    package init(key: [UInt8]) {
        precondition(key.count == 32, "ENCRYPTION_KEY must be 32 bytes")
        self.key = SymmetricKey(data: key)
    }

    /// base64(nonce ‖ ciphertext ‖ tag).
    package func seal(_ value: String, personaId: String, name: String) throws -> String {
        let box = try AES.GCM.seal(Data(value.utf8), using: key, authenticating: Data("\(personaId)/\(name)".utf8))
        guard let combined = box.combined else { throw APIError(.internalServerError, code: "internal_error", "Encryption failed") }
        return combined.base64EncodedString()
    }

    /// The plaintext of a value sealed by ``seal(_:personaId:name:)`` for the same row.
    package func open(_ sealed: String, personaId: String, name: String) throws -> String {
        guard let data = Data(base64Encoded: sealed) else { throw CryptoKitError.incorrectParameterSize }
        let box = try AES.GCM.SealedBox(combined: data)
        let plain = try AES.GCM.open(box, using: key, authenticating: Data("\(personaId)/\(name)".utf8))
        return String(decoding: plain, as: UTF8.self)
    }
}

extension SecretBox {
    /// An email connector's passwords, sealed under the connector's own name.
    package func seal(_ credentials: EmailCredentials, personaId: String, connectorId: String) throws -> String {
        try seal(try JSONCoding.encodeString(credentials), personaId: personaId,
                 name: ConnectorRecord.credentialsName(connectorId: connectorId))
    }

    /// The passwords of a stored email connector.
    package func credentials(of record: ConnectorRecord) throws -> EmailCredentials {
        let json = try open(record.credentialsSealed, personaId: record.personaId,
                            name: ConnectorRecord.credentialsName(connectorId: record.id))
        return try JSONCoding.decode(EmailCredentials.self, from: json)
    }
}
