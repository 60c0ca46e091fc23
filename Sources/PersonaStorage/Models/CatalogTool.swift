import Foundation
import PersonaKit
import SQLKit

/// Where a tool version comes from.
package enum ToolSource: String, Codable, Sendable, CaseIterable {
    /// Compiled into the supervisor (`"builtin": true` in its manifest).
    case builtin
    /// An executable shipped in a persona image.
    case image
    /// A package an administrator uploaded.
    case custom
}

/// One version of a tool in the installation-wide catalog (`tools`).
package struct CatalogTool: Sendable {
    package var id: String
    package var source: ToolSource
    package var manifest: ToolManifest
    package var createdAt: Date
    package var updatedAt: Date

    package var name: String { manifest.name }
    package var version: String { manifest.version }

    package static let columns = ["id", "source", "manifest", "created_at", "updated_at"]

    package init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: String.self)
        source = ToolSource(rawValue: try row.decode(column: "source", as: String.self)) ?? .image
        manifest = try JSONCoding.decode(ToolManifest.self, from: try row.decode(column: "manifest", as: String.self))
        createdAt = try row.decode(column: "created_at", as: Date.self)
        updatedAt = try row.decode(column: "updated_at", as: Date.self)
    }
}

/// A tool a chain of dependencies reaches, and how far down the chain it first appears.
package struct ToolChainLink: Sendable, Hashable {
    package var id: String
    package var name: String
    package var version: String
    /// The longest path from the tool whose chain this is (1: a direct dependency).
    package var depth: Int
}
