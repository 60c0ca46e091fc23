import Crypto
import Foundation
import Mustache
import NIOCore

/// A page of the console: the route it answers, its template and the ES module that fills it
/// in from the API.
public struct ConsolePage: Sendable {
    /// Route below `/`, with `{name}` parameters (`personas/{id}`); "" for the dashboard.
    public let path: String
    public let template: String
    public let title: String
    /// The left-rail entry it highlights.
    public let section: String
    /// Pages an administrator alone can open (others still get the page, which says so).
    public let adminOnly: Bool

    public init(_ path: String, template: String, title: String, section: String, adminOnly: Bool = false) {
        self.path = path
        self.template = template
        self.title = title
        self.section = section
        self.adminOnly = adminOnly
    }

    /// Every page, in the order of the rail.
    public static let all: [ConsolePage] = [
        ConsolePage("login", template: "login", title: "Sign in", section: ""),
        ConsolePage("", template: "dashboard", title: "Dashboard", section: "dashboard"),
        ConsolePage("personas", template: "personas", title: "Personas", section: "personas"),
        ConsolePage("personas/{id}", template: "persona", title: "Persona", section: "personas"),
        ConsolePage("personas/{id}/memory", template: "memory", title: "Memory", section: "personas"),
        ConsolePage("personas/{id}/desktop", template: "desktop", title: "Desktop", section: "personas"),
        ConsolePage("runs", template: "runs", title: "Runs", section: "runs"),
        ConsolePage("runs/{id}", template: "run", title: "Run", section: "runs"),
        ConsolePage("tools", template: "tools", title: "Tools", section: "tools"),
        ConsolePage("audit", template: "audit", title: "Audit log", section: "audit"),
        ConsolePage("admin/users", template: "users", title: "Users", section: "users", adminOnly: true),
        ConsolePage("admin/settings", template: "settings", title: "Settings", section: "settings", adminOnly: true),
        ConsolePage("admin/health", template: "health", title: "Health", section: "health", adminOnly: true),
    ]

    /// The rail: section, label, link.
    static let rail: [(section: String, label: String, href: String, admin: Bool)] = [
        ("dashboard", "Dashboard", "/", false),
        ("personas", "Personas", "/personas", false),
        ("runs", "Runs", "/runs", false),
        ("tools", "Tools", "/tools", false),
        ("audit", "Audit", "/audit", false),
        ("users", "Users", "/admin/users", true),
        ("settings", "Settings", "/admin/settings", true),
        ("health", "Health", "/admin/health", true),
    ]
}

/// The console's templates and static files, loaded once at start.
public struct ConsoleSite: Sendable {
    public let assets: ConsoleAssets
    let library: MustacheLibrary

    /// Where the console's files are: `CONSOLE_DIR` when set; otherwise `console/` beside the
    /// executable or in a folder above it (the image's `/opt/persona/console`), then this
    /// source tree's `Resources` (development and tests).
    public static func locate(configured: String?, executablePath: String?) -> String? {
        var candidates: [String] = []
        if let configured, !configured.isEmpty { candidates.append(configured) }
        if let executablePath {
            var folder = URL(fileURLWithPath: executablePath).standardizedFileURL.deletingLastPathComponent()
            for _ in 0..<4 {
                candidates.append(folder.appendingPathComponent("console").path)
                folder = folder.deletingLastPathComponent()
            }
        }
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources").path)
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/templates/layout.mustache") }
    }

    /// - Parameters:
    ///   - directory: the console's folder (`templates/`, `static/`).
    ///   - fontsDirectory: where `scripts/fetch-fonts` put the fonts; the system's fonts stand
    ///     in when it is absent.
    ///   - noVNCDirectory: noVNC's folder (`core/`, `vendor/pako/`); the desktop page says the
    ///     viewer is missing when it is absent.
    public init(directory: String, fontsDirectory: String?, noVNCDirectory: String? = nil) async throws {
        var assets = try ConsoleAssets(directory: directory + "/static", fontsDirectory: fontsDirectory, noVNCDirectory: noVNCDirectory)
        assets = assets.adding(path: "fonts.css", data: Data(Self.fontFaces(assets.fonts, version: assets.version).utf8))
        self.assets = assets
        self.library = try await MustacheLibrary(directory: directory + "/templates")
    }

    /// `@font-face` rules for the fonts present: `<family>-<weight or "var">.<ext>`, family
    /// `inter` or `space-grotesk`.
    static func fontFaces(_ fonts: [String], version: String) -> String {
        var rules: [String] = ["/* Fonts present on this installation (scripts/fetch-fonts). */"]
        for path in fonts {
            let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            let family: String
            if name.hasPrefix("space-grotesk") { family = "Space Grotesk" }
            else if name.hasPrefix("inter") { family = "Inter" }
            else { continue }
            let weight = name.hasSuffix("-var") ? "300 700" : String(name.split(separator: "-").last ?? "400")
            let format = switch (path as NSString).pathExtension {
            case "woff2": "woff2"
            case "woff": "woff"
            case "otf": "opentype"
            default: "truetype"
            }
            rules.append("@font-face{font-family:\"\(family)\";src:url(\"/console/static/\(version)/\(path)\") format(\"\(format)\");"
                + "font-weight:\(weight);font-style:normal;font-display:swap}")
        }
        return rules.joined(separator: "\n") + "\n"
    }

    /// Renders `page` for the browser.
    /// - Parameters:
    ///   - parameters: the route's parameters (`id`), handed to the page's module as `data-`
    ///     attributes.
    public func render(_ page: ConsolePage, parameters: [String: String]) -> String {
        let rail = ConsolePage.rail.map { entry -> [String: Any] in
            ["label": entry.label, "href": entry.href, "active": entry.section == page.section, "admin": entry.admin]
        }
        let context: [String: Any] = [
            "title": page.title,
            "page": page.template,
            "static": "/console/static/\(assets.version)",
            "rail": rail,
            "id": parameters["id"] ?? "",
            "adminOnly": page.adminOnly,
        ]
        return library.render(context, withTemplate: page.template) ?? ""
    }
}

extension ConsoleAssets {
    /// A copy with one more (generated) file; the version is unchanged (the file derives from
    /// the others).
    func adding(path: String, data: Data) -> ConsoleAssets {
        var files = self.files
        files[path] = Self.asset(path: path, data: data)
        return ConsoleAssets(version: version, files: files)
    }

    init(version: String, files: [String: ConsoleAsset]) {
        self.version = version
        self.files = files
    }
}
