import Foundation
import PersonaKit
import PersonaStorage

/// When idleness pauses or stops a persona's container, and what keeps it awake: the rules of
/// the idle sweep, without I/O.
///
/// A container that should run (`desiredState` `running`) and is `ready` is paused once it has
/// been idle (``PersonaContainerRecord/idleSince``) for `pauseAfter`; a `ready` or `paused` one
/// is stopped once idle for `stopAfter`. Either is off when `nil` (the setting is 0). A tool call
/// running (in the supervisor's last heartbeat or in this process), an eager sidecar and an
/// open VNC connection keep it awake.
package struct IdlePolicy: Sendable, Equatable {
    /// What idleness does to a container.
    package enum Action: String, Sendable, Equatable {
        case pause, stop
    }

    /// Idle seconds before a pause (`personaIdleMinutes`); `nil`: never.
    package var pauseAfter: TimeInterval?
    /// Idle seconds before a stop (`personaStopAfterIdleHours`); `nil`: never.
    package var stopAfter: TimeInterval?

    package init(pauseAfter: TimeInterval?, stopAfter: TimeInterval?) {
        self.pauseAfter = pauseAfter
        self.stopAfter = stopAfter
    }

    /// The policy of the platform settings, in the configured units (a minute and an hour,
    /// shortened in tests).
    package init(settings: PlatformSettings, minuteSeconds: Double, hourSeconds: Double) {
        pauseAfter = settings.personaIdleMinutes > 0 ? Double(settings.personaIdleMinutes) * minuteSeconds : nil
        stopAfter = settings.personaStopAfterIdleHours > 0 ? Double(settings.personaStopAfterIdleHours) * hourSeconds : nil
    }

    /// Whether the sweep has anything to do at all.
    package var isActive: Bool { pauseAfter != nil || stopAfter != nil }

    /// What idleness asks of this container now, before what keeps it awake is checked.
    package func action(for record: PersonaContainerRecord, now: Date) -> Action? {
        guard record.containerId != nil else { return nil }
        return action(state: record.state, desiredState: record.desiredState, idleSince: record.idleSince, now: now)
    }

    /// What idleness asks of a container in `state` that has been idle since `idleSince`.
    package func action(state: ContainerState, desiredState: DesiredState, idleSince: Date?, now: Date) -> Action? {
        guard desiredState == .running, let since = idleSince else { return nil }
        let idle = now.timeIntervalSince(since)
        switch state {
        case .ready:
            if let stopAfter, idle >= stopAfter { return .stop }
            if let pauseAfter, idle >= pauseAfter { return .pause }
            return nil
        case .paused:
            if let stopAfter, idle >= stopAfter { return .stop }
            return nil
        case .stopped, .starting, .unhealthy, .failed:
            return nil
        }
    }

    /// The latest activity an `action` may still ignore: a claim fails when the persona was
    /// active after it.
    package func cutoff(for action: Action, now: Date) -> Date {
        let seconds = (action == .pause ? pauseAfter : stopAfter) ?? 0
        return now.addingTimeInterval(-seconds)
    }

    /// Why a container must stay awake, or `nil`.
    /// - Parameters:
    ///   - heartbeat: the supervisor's last heartbeat (running invocations, eager sidecars).
    ///   - inFlight: tool calls this process has in flight.
    ///   - eagerSidecars: the persona runtime's eager sidecars.
    ///   - vncClients: open connections to the desktop's VNC server.
    package static func keepAwakeReason(heartbeat: Heartbeat?, inFlight: Int, eagerSidecars: [String], vncClients: Int) -> String? {
        if inFlight > 0 || (heartbeat?.runningInvocations ?? 0) > 0 { return "tool call running" }
        if !eagerSidecars.isEmpty || heartbeat?.sidecars.contains(where: \.eager) == true { return "eager sidecars" }
        if vncClients > 0 { return "VNC session open" }
        return nil
    }

    /// Whether the heartbeat shows a VNC server that could have clients (x11vnc ready).
    package static func mayHaveVNCClients(_ heartbeat: Heartbeat?) -> Bool {
        heartbeat?.sidecars.contains { $0.name == "x11vnc" && $0.state == "ready" } == true
    }

    /// Established TCP connections to local `port` in the text of `/proc/net/tcp` and
    /// `/proc/net/tcp6` (`sl local_address rem_address st ...`, addresses as `HEX:PORT`, state
    /// `01` = established).
    package static func establishedConnections(toPort port: Int, procNetTCP text: String) -> Int {
        let hexPort = String(format: "%04X", port)
        return text.split(separator: "\n").reduce(0) { count, line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 3, fields[3] == "01", let local = fields[1].split(separator: ":").last else { return count }
            return local.uppercased() == hexPort ? count + 1 : count
        }
    }
}
