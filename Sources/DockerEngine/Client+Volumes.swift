extension Docker.Client {
    /// Creates a volume (or returns the existing one of that name).
    ///
    /// Maps to `POST /volumes/create`.
    @discardableResult
    public func createVolume(_ spec: Docker.VolumeSpec = Docker.VolumeSpec()) async throws -> Docker.VolumeInspect {
        try await post("/volumes/create", json: spec)
    }

    /// A volume by name.
    ///
    /// Maps to `GET /volumes/{name}`.
    /// - Throws: ``DockerError`` `noSuchVolume`.
    public func inspectVolume(_ name: String) async throws -> Docker.VolumeInspect {
        try await get("/volumes/\(Self.percentEncode(name))", notFound: .noSuchVolume)
    }

    /// Lists volumes.
    ///
    /// Maps to `GET /volumes?filters=`.
    public func listVolumes(filters: Docker.Filters = [:]) async throws -> [Docker.VolumeInspect] {
        let list: Docker.VolumeList = try await get("/volumes", query: [("filters", filters.queryValue)])
        return list.volumes ?? []
    }

    /// Removes a volume.
    ///
    /// Maps to `DELETE /volumes/{name}?force=`.
    /// - Throws: ``DockerError`` `noSuchVolume`; `conflict` while a container uses it.
    public func removeVolume(_ name: String, force: Bool = false) async throws {
        try await perform(.DELETE, "/volumes/\(Self.percentEncode(name))", query: [("force", force ? "1" : nil)], notFound: .noSuchVolume)
    }
}
