import Logging
import PersonaCore
import ServiceLifecycle

/// Keeps tool search vectors current: embeds new tool versions and changed manifests soon
/// after they are registered (woken by ``wakeUp``, and checking every `interval` for what
/// other processes registered).
package struct ToolSearchIndexer: Service {
    package let search: ToolSearch
    /// Opened once migrations ran.
    package let startup: Gate
    /// Signalled after registrations in this process.
    package let wakeUp: Wakeup
    package let interval: Duration
    package let logger: Logger

    package init(search: ToolSearch, startup: Gate, wakeUp: Wakeup, interval: Duration = .seconds(5), logger: Logger) {
        self.search = search
        self.startup = startup
        self.wakeUp = wakeUp
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        await startup.wait()
        var reported = false
        var delay = interval
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                _ = try await cancelWhenGracefulShutdown { try await search.embedMissing() }
                reported = false
                delay = interval
            } catch is CancellationError {
                return
            } catch {
                // No model, or the gateway is down: say so once, try again less often.
                if !reported {
                    logger.warning("tool search vectors not computed; retrying", metadata: ["error": "\(error)"])
                    reported = true
                }
                delay = min(delay * 2, .seconds(300))
            }
            let wait = delay
            await cancelWhenGracefulShutdown { await wakeUp.wait(upTo: wait) }
        }
    }
}
