import DockerEngine
import Foundation
import Testing

@Suite("event subscriptions against the real engine")
struct EventTests {
    @Test("the event stream sees a labelled container's create, start and die, in order")
    func containerLifecycleEvents() async throws {
        try await TestEngine.withClient { client in
            let run = UUID().uuidString
            let events = try await client.events(filters: Docker.Filters(["type": ["container"]]).label("\(TestEngine.testLabel).run", run))
            try await TestEngine.withContainer(client, command: ["sh", "-c", "exit 4"], run: run) { id in
                try await client.startContainer(id)
                var seen: [Docker.Event] = []
                for try await element in events {
                    guard case .event(let event) = element else { continue }
                    seen.append(event)
                    if event.action == "die" { break }
                }
                #expect(seen.map(\.action) == ["create", "start", "die"])
                #expect(seen.allSatisfy { $0.actor.id == id })
                #expect(seen.last?.actor.attributes?["exitCode"] == "4")
                #expect(seen.first?.actor.attributes?["\(TestEngine.testLabel).run"] == run)
                #expect(seen.map(\.timeNano) == seen.map(\.timeNano).sorted())
            }
        }
    }

    @Test("a subscription with since and until replays past events once and then ends")
    func replayAndEnd() async throws {
        try await TestEngine.withClient { client in
            let run = UUID().uuidString
            let start = Date().addingTimeInterval(-1)
            try await TestEngine.withContainer(client, command: ["true"], run: run) { id in
                try await client.startContainer(id)
                _ = try await client.waitContainer(id)
            }
            let filters = Docker.Filters.label("\(TestEngine.testLabel).run", run)
            var actions: [String] = []
            for try await element in try await client.events(filters: filters, since: start, until: Date().addingTimeInterval(1)) {
                if case .event(let event) = element { actions.append(event.actionName) }
            }
            #expect(actions == ["create", "start", "die", "destroy"])
        }
    }

    @Test("cancelling the task that iterates the stream ends it promptly")
    func cancellation() async throws {
        try await TestEngine.withClient { client in
            let events = try await client.events(filters: .label("\(TestEngine.testLabel).run", UUID().uuidString))
            let task = Task {
                var count = 0
                for try await _ in events { count += 1 }
                return count
            }
            try await Task.sleep(for: .milliseconds(200))
            let started = ContinuousClock.now
            task.cancel()
            let result = await task.result
            #expect(ContinuousClock.now - started < .seconds(5))
            switch result {
            case .success(let count): #expect(count == 0)
            case .failure(let error): #expect(error is CancellationError || (error as? DockerError) != nil)
            }
        }
    }
}
