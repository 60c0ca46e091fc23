import Foundation

extension Docker.Client {
    /// Subscribes to engine events and returns once the engine has accepted the
    /// subscription, so nothing that happens afterwards is missed.
    ///
    /// The stream reconnects by itself when the connection drops (see
    /// ``Docker/ReconnectPolicy``), resuming from the last event it delivered without
    /// repeating it, and yields ``Docker/EventStreamElement/resumed(after:)`` when it did.
    /// It ends only when `until` is reached; cancel the iterating task to stop it.
    ///
    /// Maps to `GET /events?filters=&since=&until=`.
    /// - Parameters:
    ///   - filters: e.g. `["type": ["container"], "label": ["io.persona.managed-by=control-plane"]]`.
    ///   - since: replay buffered events from this time on.
    ///   - until: end the stream at this time.
    /// - Throws: ``DockerError`` `engineUnreachable` when the first connection fails.
    public func events(
        filters: Docker.Filters = [:],
        since: Date? = nil,
        until: Date? = nil,
        reconnect: Docker.ReconnectPolicy = Docker.ReconnectPolicy()
    ) async throws -> Docker.EventStream {
        var cursor = Docker.EventStream.Cursor()
        cursor.since = since.map(Docker.EventStream.Cursor.timestamp)
        let untilValue = until.map(Docker.EventStream.Cursor.timestamp)
        let body = try await Docker.EventStream.open(client: self, filters: filters, until: untilValue, cursor: &cursor)
        return Docker.EventStream(client: self, filters: filters, until: untilValue, policy: reconnect, firstBody: body, cursor: cursor)
    }
}
