// swift-tools-version:6.0
import PackageDescription

// Only the Embeddings slice of persona-platform lives here; the target declarations
// below are self-contained so they can be copied into the main manifest as they are.
let package = Package(
    name: "persona-platform",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Embeddings", targets: ["Embeddings"]),
        .executable(name: "persona-embed-bench", targets: ["persona-embed-bench"]),
    ],
    targets: [
        // OpenBLAS from Debian (apt: libopenblas-dev, pkg-config).
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "Embeddings",
            dependencies: ["COpenBLAS"],
            path: "Sources/Embeddings"
        ),
        .executableTarget(
            name: "persona-embed-bench",
            dependencies: ["Embeddings"],
            path: "Sources/persona-embed-bench"
        ),
        .testTarget(
            name: "EmbeddingsTests",
            dependencies: ["Embeddings"],
            path: "Tests/EmbeddingsTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
