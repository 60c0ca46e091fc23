extension Docker.Client {
    private struct CreatedNetwork: Decodable {
        var id: String
        enum CodingKeys: String, CodingKey { case id = "Id" }
    }

    private struct Connect: Encodable {
        var container: String
        var endpointConfig: Docker.EndpointSettings?
        enum CodingKeys: String, CodingKey { case container = "Container", endpointConfig = "EndpointConfig" }
    }

    private struct Disconnect: Encodable {
        var container: String
        var force: Bool
        enum CodingKeys: String, CodingKey { case container = "Container", force = "Force" }
    }

    /// Creates a network; returns its id.
    ///
    /// Maps to `POST /networks/create`.
    /// - Throws: ``DockerError`` `conflict` when the name is taken.
    @discardableResult
    public func createNetwork(_ spec: Docker.NetworkSpec) async throws -> String {
        let created: CreatedNetwork = try await post("/networks/create", json: spec)
        return created.id
    }

    /// A network and the containers on it.
    ///
    /// Maps to `GET /networks/{id}`.
    /// - Throws: ``DockerError`` `noSuchNetwork`.
    public func inspectNetwork(_ id: String) async throws -> Docker.NetworkInspect {
        try await get("/networks/\(Self.percentEncode(id))", notFound: .noSuchNetwork)
    }

    /// Lists networks.
    ///
    /// Maps to `GET /networks?filters=`.
    public func listNetworks(filters: Docker.Filters = [:]) async throws -> [Docker.NetworkInspect] {
        try await get("/networks", query: [("filters", filters.queryValue)])
    }

    /// Removes a network.
    ///
    /// Maps to `DELETE /networks/{id}`.
    /// - Throws: ``DockerError`` `noSuchNetwork`; `forbidden` or `server` while containers use it.
    public func removeNetwork(_ id: String) async throws {
        try await perform(.DELETE, "/networks/\(Self.percentEncode(id))", notFound: .noSuchNetwork)
    }

    /// Connects a container to a network.
    ///
    /// Maps to `POST /networks/{id}/connect`.
    /// - Throws: ``DockerError`` `noSuchNetwork` (or the container is missing: the engine says which).
    public func connectNetwork(_ network: String, container: String, aliases: [String]? = nil) async throws {
        let settings = aliases.map { Docker.EndpointSettings(aliases: $0) }
        try await perform(.POST, "/networks/\(Self.percentEncode(network))/connect", json: Connect(container: container, endpointConfig: settings), notFound: .noSuchNetwork)
    }

    /// Disconnects a container from a network.
    ///
    /// Maps to `POST /networks/{id}/disconnect`.
    public func disconnectNetwork(_ network: String, container: String, force: Bool = false) async throws {
        try await perform(.POST, "/networks/\(Self.percentEncode(network))/disconnect", json: Disconnect(container: container, force: force), notFound: .noSuchNetwork)
    }
}
