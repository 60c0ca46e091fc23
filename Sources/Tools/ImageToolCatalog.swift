import Containers
import DockerEngine
import Foundation
import Logging
import PersonaCore
import PersonaKit
import PersonaStorage
import ServiceLifecycle

/// Keeps the catalog in step with the persona images: reads the tool manifests every image
/// carries in its `io.persona.tools` label (written by `scripts/build-images`) through the
/// Engine API, without starting a container, and registers them. Checks again every
/// `interval`; an image is read again only when its id changed (it was rebuilt).
package struct ImageToolCatalog: Service {
    /// The label holding the image's manifests (a JSON array of `tool.json` objects).
    package static let label = "io.persona.tools"

    package let registry: ToolRegistry
    package let containers: ContainerManager
    /// Opened once migrations ran.
    package let startup: Gate
    package let interval: Duration
    package let logger: Logger

    package init(registry: ToolRegistry, containers: ContainerManager, startup: Gate, interval: Duration = .seconds(60), logger: Logger) {
        self.registry = registry
        self.containers = containers
        self.startup = startup
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        await startup.wait()
        var loaded: [String: String] = [:]
        var reported: Set<String> = []
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            for image in Set([containers.settings.personaImage, containers.settings.desktopImage]).sorted() {
                do {
                    if let id = try await load(image, unless: loaded[image]) { loaded[image] = id }
                    reported.remove(image)
                } catch {
                    // Once per image until it works: an image not built yet, or no engine.
                    if reported.insert(image).inserted {
                        logger.info("tool manifests of an image not read", metadata: ["image": "\(image)", "error": "\(error)"])
                    }
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Registers the manifests of `image` unless its id is `knownId`.
    /// - Returns: the image's id when it was read, `nil` when it had not changed.
    @discardableResult
    package func load(_ image: String, unless knownId: String? = nil) async throws -> String? {
        let inspect = try await containers.docker.get().inspectImage(image)
        guard inspect.id != knownId else { return nil }
        let manifests = try Self.manifests(inspect.config?.labels?[Self.label])
        let registration = try await registry.database.transaction {
            try await registry.registerResolvable(manifests, source: nil, on: $0)
        }
        logger.info("tool catalog read from image", metadata: [
            "image": "\(image)", "tools": "\(registration.ids.count)", "refused": "\(registration.refused.count)",
        ])
        return inspect.id
    }

    /// The manifests in a label's value (none when the image has no label).
    package static func manifests(_ label: String?) throws -> [ToolManifest] {
        guard let label, !label.isEmpty else { return [] }
        return try JSONCoding.decode([ToolManifest].self, from: label)
    }
}
