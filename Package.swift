// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

// The embedder's and tokenizer's loops are optimized in debug builds too: unoptimized they made
// every test that embeds text (memory, tool search) seconds slower and loaded CI's two cores.
let optimizedInDebug: [SwiftSetting] = swiftSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "persona-platform",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "persona-control-plane", targets: ["persona-control-plane"]),
        .executable(name: "persona-supervisor", targets: ["persona-supervisor"]),
        .library(name: "Embeddings", targets: ["Embeddings"]),
        .executable(name: "persona-embed-bench", targets: ["persona-embed-bench"]),
        .executable(name: "persona-bench", targets: ["persona-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", exact: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", exact: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", exact: "2.1.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", exact: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/vapor/sql-kit.git", exact: "3.36.0"),
        .package(url: "https://github.com/vapor/postgres-kit.git", exact: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/vapor/multipart-kit.git", exact: "4.7.1"),
        // Tests only: an independent ZIP writer for the document reader's fixtures.
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", exact: "0.9.20"),
    ],
    targets: [
        // OpenBLAS from Debian (apt: libopenblas-dev, pkg-config).
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // The system's libsqlite3 (apt: libsqlite3-dev): the control plane's embedded database
        // and the supervisor's local cache. One copy of SQLite per process, never two: two
        // copies keep separate POSIX lock tables and can corrupt a file both open.
        // The system's zlib (apt: zlib1g-dev): ZIP members of office documents, PNGs in tests.
        .systemLibrary(
            name: "SystemZlib",
            path: "Sources/SystemZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The small core both binaries share (FoundationEssentials only): the SQLite connection
        // and value layer, the JSON log handler, the continuation-based wake-up and gate, the
        // vector matrix, JSON string escaping and the error-code convention.
        .target(
            name: "PersonaCore",
            dependencies: [
                "CSQLite",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PersonaCoreTests",
            dependencies: ["PersonaCore", "TestTraits", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // The WordPiece tokenizer of BERT-style models (all-MiniLM-L6-v2's vocabulary): the
        // chunker's token counts and the embedder's input. No BLAS.
        .target(
            name: "Tokenizer",
            dependencies: ["PersonaCore"],
            swiftSettings: optimizedInDebug
        ),
        .target(
            name: "Embeddings",
            dependencies: ["COpenBLAS", "PersonaCore", "Tokenizer"],
            swiftSettings: optimizedInDebug
        ),
        .executableTarget(
            name: "persona-embed-bench",
            dependencies: ["Embeddings", "Tokenizer"],
            swiftSettings: swiftSettings
        ),
        // Test helpers with no dependencies: the `.blocking` trait.
        .target(
            name: "TestTraits",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EmbeddingsTests",
            dependencies: ["Embeddings", "PersonaCore", "Tokenizer", "TestTraits"],
            swiftSettings: swiftSettings
        ),
        // Text extraction (txt, md, html, pdf, docx, pptx, xlsx) and token-aware chunking.
        .target(
            name: "DocumentText",
            dependencies: [
                "PersonaCore",
                "Tokenizer",
                "SystemZlib",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DocumentTextTests",
            dependencies: [
                "DocumentText", "Embeddings", "Tokenizer", "TestTraits",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PersonaKit",
            dependencies: [.product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: swiftSettings
        ),
        // The database: opening (PostgreSQL or the embedded SQLite file), migrations, the SQLite
        // SQLKit driver, every repository and the models they read and write. Knows nothing of
        // HTTP: it takes plain values and returns rows, models or JSON bytes.
        .target(
            name: "PersonaStorage",
            dependencies: [
                "PersonaCore",
                "PersonaKit",
                "CSQLite",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The OpenAI-compatible chat client (LiteLLM proxy): tool calls, streaming, retries.
        .target(
            name: "LLM",
            dependencies: [
                "PersonaCore",
                "PersonaKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Durable state graphs: nodes, reducers, conditional edges, a recursion limit. No I/O.
        .target(
            name: "StateGraph",
            dependencies: ["PersonaCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DockerEngine",
            dependencies: [
                "PersonaCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Persona containers: provisioning through the Docker Engine API, status, tools through
        // the supervisors, and the reconciler. No HTTP server code.
        .target(
            name: "Containers",
            dependencies: [
                "PersonaCore",
                "PersonaKit",
                "PersonaStorage",
                "DockerEngine",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Document memory: the document store, ingestion, embedding, vector search, the curator.
        .target(
            name: "Memory",
            dependencies: [
                "PersonaCore",
                "PersonaKit",
                "PersonaStorage",
                "LLM",
                "Embeddings",
                "Tokenizer",
                "DocumentText",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The installation-wide tool catalog: registration with dependency resolution (semver
        // ranges, cycles refused), the catalog read from persona images, per-persona switches.
        .target(
            name: "Tools",
            dependencies: [
                "PersonaCore",
                "DocumentText",
                "PersonaKit",
                "PersonaStorage",
                "Containers",
                "Memory",
                "DockerEngine",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ToolsTests",
            dependencies: ["Tools", "PersonaKit"],
            swiftSettings: swiftSettings
        ),
        // Runs: the run workflow as a state graph, the worker that claims and executes runs, tool
        // calls through the persona's supervisor.
        .target(
            name: "Runs",
            dependencies: [
                "PersonaCore",
                "PersonaKit",
                "PersonaStorage",
                "Containers",
                "Tools",
                "LLM",
                "StateGraph",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Connectors: the email connector's protocol clients (IMAP, SMTP over swift-nio and
        // swift-nio-ssl), the MIME reader, the connection probe and the email trigger service.
        .target(
            name: "Connectors",
            dependencies: [
                "PersonaCore",
                "PersonaKit",
                "PersonaStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConnectorsTests",
            dependencies: [
                "Connectors",
                "TestTraits",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The web console: server-rendered pages (swift-mustache templates) and the static
        // files they load, addressed by content hash. Templates and files live in
        // Sources/Console/Resources and are found at run time (ConsoleSite.locate), not bundled.
        .target(
            name: "Console",
            dependencies: [
                "SystemZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["Resources"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ControlPlane",
            dependencies: [
                "Console",
                "PersonaCore",
                "PersonaKit",
                "PersonaStorage",
                "Connectors",
                "Containers",
                "Memory",
                "Runs",
                "Tools",
                "LLM",
                "DockerEngine",
                "Tokenizer",
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "persona-control-plane",
            dependencies: [
                "ControlPlane",
                "Memory",
                "PersonaCore",
                "PersonaStorage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The orchestration and retrieval benchmarks (scripts/bench-graph, scripts/bench-memory).
        .executableTarget(
            name: "persona-bench",
            dependencies: [
                "ControlPlane",
                "Memory",
                "Runs",
                "Tools",
                "PersonaCore",
                "PersonaKit",
                "PersonaStorage",
                "LLM",
                "StateGraph",
                "Embeddings",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The supervisor ships in every persona image: its dependency set stays small
        // (PersonaKit, swift-nio's HTTP/1, swift-log, argument parser, the system's libsqlite3).
        .target(name: "CSupervisorShim"),
        .target(
            name: "Supervisor",
            dependencies: [
                "PersonaCore",
                "PersonaKit",
                "CSupervisorShim",
                "CSQLite",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "persona-supervisor",
            dependencies: [
                "Supervisor",
                "PersonaCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "ControlPlane",
                "Containers",
                "PersonaStorage",
                "LLM",
                "TestTraits",
                "DockerEngine",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DockerEngineTests",
            dependencies: [
                "DockerEngine",
                "TestTraits",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SupervisorTests",
            dependencies: [
                "Supervisor",
                "PersonaCore",
                "TestTraits",
                "PersonaKit",
                "CSupervisorShim",
                "DockerEngine",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PersonaKitTests",
            dependencies: ["PersonaKit", "TestTraits"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ControlPlaneTests",
            dependencies: [
                "ControlPlane",
                "Console",
                "Connectors",
                "Containers",
                "Memory",
                "Runs",
                "Tools",
                "PersonaCore",
                "PersonaStorage",
                "LLM",
                "StateGraph",
                "TestSupport",
                "TestTraits",
                "DockerEngine",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // zlib, to decode the PNGs browser and desktop tools produce.
                "SystemZlib",
            ],
            // The browser tests' Playwright harness (run by ConsoleBrowserTests).
            exclude: ["Console"],
            swiftSettings: swiftSettings
        ),
    ]
)
