/// How the tool catalog keeps itself current.
public struct ToolSettings: Sendable {
    /// Between checks of the persona images' manifests (`TOOL_IMAGE_CATALOG_SECONDS`); `nil`
    /// reads no image (the catalog then has what supervisors report and what is uploaded).
    public var imageCatalogInterval: Duration? = .seconds(60)
    /// Between checks for tool versions to embed for search (`TOOL_SEARCH_INDEX_SECONDS`);
    /// `nil` (0) computes them when a search first needs them instead of in the background.
    public var searchIndexInterval: Duration? = .seconds(5)
    /// The largest uploaded tool package, in bytes (`TOOL_PACKAGE_MAX_BYTES`, 50 MiB).
    public var maxPackageBytes = 50 << 20

    public init() {}
}
