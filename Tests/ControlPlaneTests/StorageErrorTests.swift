@testable import ControlPlane
import Foundation
import Logging
import PersonaKit
import Testing
import TestSupport
import PersonaStorage

@Suite("Storage errors reach clients classified")
struct StorageErrorTests {
    @Test("a write whose reference is gone (a foreign-key violation) answers 409 missing_reference, not 500, and writes nothing",
          arguments: TestBackend.allCases)
    func missingReference(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, services in
            let admin = try await api.login().access
            let personaId = try #require(try await api.post("/api/personas", token: admin, json: ["name": "FK"]).data?["id"]?.stringValue)
            // A member row for a user that does not exist, as when the user is removed between
            // the route's check and its write.
            let ghost = Identifier.make()
            let error = await #expect(throws: StorageError.self) {
                try await services.database.transaction { tx in
                    try await PersonaRepository().upsertMember(personaId: personaId, userId: ghost, role: .viewer, now: Date(), on: tx)
                }
            }
            #expect(error?.code == .missingReference)
            let mapped = ErrorMiddleware.classify(try #require(error), logger: Logger(label: "test"))
            #expect(mapped.status == .conflict)
            #expect(mapped.code == "missing_reference")
            #expect(!mapped.message.lowercased().contains("foreign"), "no driver text reaches the client: \(mapped.message)")
            let members = try await api.get("/api/personas/\(personaId)/members", token: admin)
            #expect(members.data?.arrayValue?.contains { $0["userId"]?.stringValue == ghost } == false)
        }
    }
}
