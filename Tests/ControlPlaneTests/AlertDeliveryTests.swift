import ControlPlane
import Crypto
import Foundation
import Hummingbird
import HTTPTypes
import PersonaKit
import PersonaStorage
import Synchronization
import Testing
import TestSupport

/// Alert delivery: the signed webhook against a real HTTP server, and the ingestion-failure alert.
@Suite("Alert delivery")
struct AlertDeliveryTests {
    static let secret = "webhook-secret-0123456789"

    /// A receiver that answers each POST with the next status of `statuses` (then 200) and
    /// keeps what it got.
    final class Receiver: Sendable {
        struct Delivery: Sendable {
            var headers: HTTPFields
            var body: String
        }

        let statuses: Mutex<[Int]>
        let deliveries = Mutex<[Delivery]>([])

        init(statuses: [Int]) {
            self.statuses = Mutex(statuses)
        }

        func serve<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
            let router = Router()
            router.post("hook") { request, _ -> Response in
                let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
                self.deliveries.withLock { $0.append(Delivery(headers: request.headers, body: text)) }
                let status = self.statuses.withLock { $0.isEmpty ? 200 : $0.removeFirst() }
                return Response(status: .init(code: status))
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            return try await app.test(.live) { client in try await body("http://127.0.0.1:\(client.port!)/hook") }
        }
    }

    /// An app whose webhook points at `receiver` (fast retries), an admin token and a persona,
    /// once the deliverer has taken its starting point (alerts before it are not sent).
    func withWebhook(_ backend: TestBackend, receiver: Receiver, persona name: String,
                     _ body: @Sendable @escaping (APIClient, AppComponents, String, String) async throws -> Void) async throws {
        try await receiver.serve { url in
            try await TestApp.run(backend, configure: {
                $0.webhook.url = url
                $0.webhook.secret = Self.secret
                $0.webhook.retryBase = .milliseconds(50)
                $0.webhook.pollInterval = .milliseconds(100)
            }) { api, components in
                let admin = try await api.login().access
                let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": .string(name)]).data?["id"]?.stringValue)
                try await Task.sleep(for: .milliseconds(300))
                try await body(api, components, admin, persona)
            }
        }
    }

    func waitFor(_ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(50)) }
    }

    @Test("an opened alert is POSTed signed, retried after 503s with the same delivery id, and a resolved one follows",
          arguments: TestBackend.allCases)
    func webhookRetries(backend: TestBackend) async throws {
        let receiver = Receiver(statuses: [503, 503])
        try await withWebhook(backend, receiver: receiver, persona: "Watched") { api, components, admin, persona in
            let alerts = AlertRepository()
            try await components.database.transaction { tx in
                _ = try await alerts.open(personaId: persona, kind: .cpuHigh, message: "CPU above 80 %", value: 97, threshold: 80, now: Date(), on: tx)
            }
            try await waitFor { receiver.deliveries.withLock { $0.count } >= 3 }
            try await components.database.transaction { tx in
                _ = try await alerts.resolve(personaId: persona, kind: .cpuHigh, now: Date(), on: tx)
            }
            try await waitFor { receiver.deliveries.withLock { $0.count } >= 4 }
            let deliveries = receiver.deliveries.withLock { $0 }
            try #require(deliveries.count == 4)
            // Three attempts of the opened alert (two 503s, then accepted), then the resolution.
            let ids = deliveries.map { $0.headers[HTTPField.Name("X-Persona-Delivery")!] }
            #expect(ids[0] == ids[1] && ids[1] == ids[2] && ids[3] != ids[0])
            #expect(deliveries.map { $0.headers[HTTPField.Name("X-Persona-Event")!] } == ["alert.opened", "alert.opened", "alert.opened", "alert.resolved"])
            for delivery in deliveries {
                let signature = try #require(delivery.headers[HTTPField.Name("X-Persona-Signature")!])
                let parts = Dictionary(uniqueKeysWithValues: signature.split(separator: ",").map {
                    let pair = $0.split(separator: "=", maxSplits: 1)
                    return (String(pair[0]), String(pair.count > 1 ? pair[1] : ""))
                })
                let timestamp = try #require(parts["t"])
                // Recomputed here with swift-crypto, independently of the server's code.
                let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(delivery.body)".utf8),
                                                          using: SymmetricKey(data: Data(Self.secret.utf8)))
                #expect(parts["v1"] == mac.map { String(format: "%02x", $0) }.joined())
                #expect(abs(Double(timestamp)! - Date().timeIntervalSince1970) < 60)
            }
            let body = try JSONDecoder().decode(JSONValue.self, from: Data(deliveries[0].body.utf8))
            #expect(body["type"] == "alert.opened")
            #expect(body["persona"]?["name"] == "Watched")
            #expect(body["alert"]?["kind"] == "cpu_high")
            #expect(body["alert"]?["value"]?.doubleValue == 97)
            #expect(body["id"]?.intValue.map(String.init) == ids[0])
        }
    }

    @Test("a delivery the receiver refuses with 400 is given up at once and audited")
    func webhookGivesUp() async throws {
        let receiver = Receiver(statuses: [400])
        try await withWebhook(.sqlite, receiver: receiver, persona: "Refused") { api, components, admin, persona in
            try await components.database.transaction { tx in
                _ = try await AlertRepository().open(personaId: persona, kind: .memoryHigh, message: "full", value: 95, threshold: 90,
                                                     now: Date(), on: tx)
            }
            var audit: APIResponse?
            for _ in 0..<100 {
                audit = try await api.get("/api/audit?eventType=alert.webhook_failed", token: admin)
                if audit?.data?.arrayValue?.isEmpty == false { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(audit?.data?.arrayValue?.first?["personaId"]?.stringValue == persona)
            #expect(receiver.deliveries.withLock { $0.count } == 1)
        }
    }

    @Test("a document that fails to ingest opens an ingestion_failed alert; it resolves when no failure is recent",
          arguments: TestBackend.allCases)
    func ingestionFailureAlert(backend: TestBackend) async throws {
        try await TestApp.run(backend) { api, components in
            let admin = try await api.login().access
            let persona = try #require(try await api.post("/api/personas", token: admin, json: ["name": "Reader"]).data?["id"]?.stringValue)
            // A file that claims to be a PDF but is not: the ingestion worker marks it failed.
            let upload = try await api.upload("/api/personas/\(persona)/memory/upload", token: admin, fileName: "broken.pdf",
                                              contentType: "application/pdf", bytes: Array("%PDF-1.7 not really a pdf".utf8))
            #expect(upload.status == .created || upload.status == .accepted, "\(upload.body)")
            let documents = try await MemoryTests.waitForIngestion(api, persona: persona, token: admin, count: 1)
            let failed = documents.first?["status"] == "failed"
            try #require(failed, "the broken document did not fail")
            try await components.health.sample()
            let open = try await api.get("/api/personas/\(persona)/alerts?status=open", token: admin)
            #expect(open.data?.arrayValue?.map { $0["kind"] } == ["ingestion_failed"])
            // An hour later nothing failed recently: the alert resolves.
            try await components.health.sample(now: Date().addingTimeInterval(3700))
            let after = try await api.get("/api/personas/\(persona)/alerts?status=open", token: admin)
            #expect(after.data?.arrayValue?.isEmpty == true)
        }
    }
}
