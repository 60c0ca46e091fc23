import Foundation
import Hummingbird
import Memory
import NIOCore
import PersonaKit
import Prometheus
import PersonaStorage

/// `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.
struct OpsController: Sendable {
    let configuration: AppConfiguration
    let database: Database
    let metrics: PrometheusCollectorRegistry
    let startedAt = Date()

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("healthz") { _, _ in
            try JSONResponse.raw(["status": "ok", "uptimeSeconds": .number((Date().timeIntervalSince(startedAt) * 10).rounded() / 10)] as JSONValue)
        }
        router.get("readyz") { _, context in
            do {
                try await database.ping()
            } catch {
                context.logger.warning("readiness check failed", metadata: ["error": "\(String(reflecting: error))"])
                throw APIError.unavailable("Database is not reachable")
            }
            // Ready without an embedder (the API works), but it says so.
            let memory = configuration.memory
            let embedder: JSONValue = memory.embedderAvailable
                ? .string(memory.provider == .openai ? "gateway" : MemorySettings.localModelName)
                : .string("missing: no \(MemorySettings.localModelName) under \(memory.modelsDirectory) (run scripts/fetch-models or set PERSONA_MODELS_DIR)")
            return try JSONResponse.raw(["status": "ready", "database": .string(database.kind.rawValue), "embedder": embedder] as JSONValue)
        }
        router.get("metrics") { _, _ in
            var buffer: [UInt8] = []
            metrics.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        if let path = configuration.benchCeilingFile, let bytes = FileManager.default.contents(atPath: path) {
            router.get("bench/ceiling") { _, _ in
                Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                         body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            }
        }
        let openAPI = try! JSONCoding.encoder.encode(OpenAPIDocument.document)
        router.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: openAPI)))
        }
    }
}
