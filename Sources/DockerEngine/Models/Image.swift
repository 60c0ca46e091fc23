extension Docker {
    /// What `POST /build` takes besides the context.
    public struct BuildOptions: Sendable, Hashable {
        /// Names to tag the image with (`t`, repeated), e.g. `persona:dev`.
        public var tags: [String]
        /// Path of the Dockerfile inside the context (`dockerfile`).
        public var dockerfile: String
        /// `--build-arg`s (`buildargs`).
        public var buildArgs: [String: String]
        /// Labels added to the image (`labels`).
        public var labels: [String: String]
        /// Ignore the build cache (`nocache`).
        public var noCache: Bool
        /// Try to pull newer base images (`pull`); nothing can be pulled here.
        public var pull: Bool
        /// Remove intermediate containers, even after a failed step (`forcerm`).
        public var forceRemoveIntermediate: Bool
        /// Network of the `RUN` steps (`networkmode`), e.g. `host` or `none`.
        public var networkMode: String?
        /// Stage to stop at in a multi-stage Dockerfile (`target`).
        public var target: String?

        public init(
            tags: [String] = [],
            dockerfile: String = "Dockerfile",
            buildArgs: [String: String] = [:],
            labels: [String: String] = [:],
            noCache: Bool = false,
            pull: Bool = false,
            forceRemoveIntermediate: Bool = true,
            networkMode: String? = nil,
            target: String? = nil
        ) {
            self.tags = tags
            self.dockerfile = dockerfile
            self.buildArgs = buildArgs
            self.labels = labels
            self.noCache = noCache
            self.pull = pull
            self.forceRemoveIntermediate = forceRemoveIntermediate
            self.networkMode = networkMode
            self.target = target
        }
    }

    /// One message of a build's or import's progress stream.
    public struct ProgressMessage: Codable, Sendable, Hashable {
        /// Builder output (`Step 1/2 : FROM ...`, `RUN` output).
        public var stream: String?
        /// Status text (pull, import); the image id at the end of an import.
        public var status: String?
        public var id: String?
        public var progress: String?
        /// Set when the build failed.
        public var error: String?
        public var errorDetail: ErrorDetail?
        /// `{"ID": "sha256:..."}`: the built image.
        public var aux: Aux?

        public struct ErrorDetail: Codable, Sendable, Hashable {
            public var code: Int?
            public var message: String?
        }

        public struct Aux: Codable, Sendable, Hashable {
            public var id: String?
            enum CodingKeys: String, CodingKey { case id = "ID" }
        }
    }

    /// `GET /images/{name}/json` (the fields this project uses).
    public struct ImageInspect: Codable, Sendable, Hashable {
        public var id: String
        public var repoTags: [String]?
        public var created: String?
        public var size: Int64?
        public var architecture: String?
        public var os: String?
        public var config: ImageConfig?

        enum CodingKeys: String, CodingKey {
            case id = "Id", repoTags = "RepoTags", created = "Created", size = "Size"
            case architecture = "Architecture", os = "Os", config = "Config"
        }

        public struct ImageConfig: Codable, Sendable, Hashable {
            public var env: [String]?
            public var cmd: [String]?
            public var entrypoint: [String]?
            public var labels: [String: String]?
            public var user: String?
            public var workingDir: String?

            enum CodingKeys: String, CodingKey {
                case env = "Env", cmd = "Cmd", entrypoint = "Entrypoint", labels = "Labels", user = "User"
                case workingDir = "WorkingDir"
            }
        }
    }

    /// An entry of `GET /images/json`.
    public struct ImageSummary: Codable, Sendable, Hashable {
        public var id: String
        public var repoTags: [String]?
        /// Unix seconds.
        public var created: Int64?
        public var size: Int64?
        public var labels: [String: String]?

        enum CodingKeys: String, CodingKey {
            case id = "Id", repoTags = "RepoTags", created = "Created", size = "Size", labels = "Labels"
        }
    }

    /// An entry of `DELETE /images/{name}`'s answer.
    public struct ImageDeleteItem: Codable, Sendable, Hashable {
        public var untagged: String?
        public var deleted: String?
        enum CodingKeys: String, CodingKey { case untagged = "Untagged", deleted = "Deleted" }
    }
}
