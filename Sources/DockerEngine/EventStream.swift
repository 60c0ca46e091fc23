import AsyncHTTPClient
import Foundation
import NIOCore

extension Docker {
    /// A reconnecting subscription to `GET /events`; see ``Client/events(filters:since:until:reconnect:)``.
    /// Iterate it once.
    public struct EventStream: AsyncSequence, Sendable {
        public typealias Element = EventStreamElement

        let client: Client
        let filters: Filters
        let until: String?
        let policy: ReconnectPolicy
        let firstBody: HTTPClientResponse.Body
        let cursor: Cursor

        public func makeAsyncIterator() -> Iterator {
            Iterator(stream: self, body: firstBody.makeAsyncIterator(), cursor: cursor)
        }

        /// Where to resume: the last delivered event's time, and which events at exactly
        /// that time were delivered (the engine's `since` is inclusive).
        struct Cursor: Sendable {
            var since: String?
            var lastTimeNano: Int64?
            var deliveredAtLastTime: Set<String> = []

            static func timestamp(_ date: Date) -> String {
                String(format: "%.9f", date.timeIntervalSince1970)
            }

            static func timestamp(nanoseconds: Int64) -> String {
                let seconds = nanoseconds / 1_000_000_000
                let fraction = String(nanoseconds % 1_000_000_000)
                return "\(seconds).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)"
            }

            /// Records `event`; returns `false` when it was already delivered.
            mutating func deliver(_ event: Event) -> Bool {
                let key = "\(event.type)|\(event.action)|\(event.actor.id)"
                if let last = lastTimeNano {
                    if event.timeNano < last { return false }
                    if event.timeNano == last { return deliveredAtLastTime.insert(key).inserted }
                }
                lastTimeNano = event.timeNano
                deliveredAtLastTime = [key]
                since = Self.timestamp(nanoseconds: event.timeNano)
                return true
            }
        }

        /// Opens one connection from `cursor`; notes the engine's clock as the resume point
        /// when there is none yet.
        static func open(client: Client, filters: Filters, until: String?, cursor: inout Cursor) async throws -> HTTPClientResponse.Body {
            let response = try await client.send(
                .GET, "/events", query: [("filters", filters.queryValue), ("since", cursor.since), ("until", until)]
            )
            if cursor.since == nil, let date = response.headers.first(name: "Date").flatMap(Self.parseHTTPDate) {
                cursor.since = Cursor.timestamp(date)
            }
            return response.body
        }

        private static func parseHTTPDate(_ text: String) -> Date? {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            return formatter.date(from: text)
        }

        public struct Iterator: AsyncIteratorProtocol {
            let stream: EventStream
            var body: HTTPClientResponse.Body.AsyncIterator?
            var cursor: Cursor
            var lines = LineSplitter()
            var ready: [[UInt8]] = []
            var interruption: DockerError?

            init(stream: EventStream, body: HTTPClientResponse.Body.AsyncIterator?, cursor: Cursor) {
                self.stream = stream
                self.body = body
                self.cursor = cursor
            }

            public mutating func next() async throws -> EventStreamElement? {
                while true {
                    if !ready.isEmpty {
                        let line = ready.removeFirst()
                        let event = try Client.decode(Event.self, from: ByteBuffer(bytes: line), while: "GET /events")
                        if cursor.deliver(event) { return .event(event) }
                        continue
                    }
                    if let interruption {
                        try await reconnect(after: interruption)
                        self.interruption = nil
                        return .resumed(after: interruption)
                    }
                    guard body != nil else { return nil }
                    do {
                        if let buffer = try await body!.next() {
                            ready = lines.feed(buffer)
                        } else {
                            ready = lines.finish()
                            body = nil
                            // The engine closes the stream at `until`; otherwise it went away.
                            if stream.until == nil {
                                interruption = DockerError(.engineUnreachable, "the engine closed the event stream")
                            }
                        }
                    } catch {
                        if Task.isCancelled { throw CancellationError() }
                        body = nil
                        lines = LineSplitter()
                        ready = []
                        let wrapped = stream.client.transportError(error, while: "GET /events")
                        guard let dockerError = wrapped as? DockerError else { throw wrapped }
                        interruption = dockerError
                    }
                }
            }

            private mutating func reconnect(after error: DockerError) async throws {
                var delay = stream.policy.initialDelay
                var attempts = 0
                var lastError = error
                while true {
                    if let maximum = stream.policy.maximumAttempts, attempts >= maximum {
                        throw DockerError(
                            lastError.code, "event stream lost and not re-established after \(attempts) attempts: \(lastError.message)",
                            statusCode: lastError.statusCode, underlying: lastError.underlying
                        )
                    }
                    try await Task.sleep(for: delay)
                    attempts += 1
                    do {
                        body = try await EventStream.open(client: stream.client, filters: stream.filters, until: stream.until, cursor: &cursor).makeAsyncIterator()
                        lines = LineSplitter()
                        return
                    } catch let failure as DockerError {
                        lastError = failure
                        stream.client.logger.debug("event stream reconnect failed", metadata: ["error": "\(failure)"])
                    }
                    delay = Swift.min(delay * 2, stream.policy.maximumDelay)
                }
            }
        }
    }
}
