import Containers
import Foundation
import PersonaKit
import PersonaStorage
import Testing

/// The idle rules without I/O: when a container is paused or stopped, what keeps it awake,
/// and how VNC viewers are counted from `/proc/net/tcp`.
@Suite("Idle policy")
struct IdlePolicyTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("ready containers pause after the idle period and stop after the stop period; paused ones only stop; 0 turns either off")
    func actions() {
        let policy = IdlePolicy(settings: PlatformSettings(stored: ["personaIdleMinutes": 15, "personaStopAfterIdleHours": 24]),
                                minuteSeconds: 60, hourSeconds: 3600)
        #expect(policy == IdlePolicy(pauseAfter: 900, stopAfter: 86_400))
        func action(_ state: ContainerState, idle seconds: Double, desired: DesiredState = .running) -> IdlePolicy.Action? {
            policy.action(state: state, desiredState: desired, idleSince: now.addingTimeInterval(-seconds), now: now)
        }
        #expect(action(.ready, idle: 899) == nil)
        #expect(action(.ready, idle: 900) == .pause)
        #expect(action(.ready, idle: 86_400) == .stop, "a ready one idle that long is stopped directly")
        #expect(action(.paused, idle: 3600) == nil)
        #expect(action(.paused, idle: 86_400) == .stop)
        for state in [ContainerState.starting, .unhealthy, .failed, .stopped] {
            #expect(action(state, idle: 100_000) == nil, "\(state) is left to the reconciler")
        }
        #expect(action(.ready, idle: 100_000, desired: .stopped) == nil)
        #expect(policy.action(state: .ready, desiredState: .running, idleSince: nil, now: now) == nil)
        #expect(policy.cutoff(for: .pause, now: now) == now.addingTimeInterval(-900))
        #expect(policy.cutoff(for: .stop, now: now) == now.addingTimeInterval(-86_400))

        let never = IdlePolicy(settings: PlatformSettings(stored: ["personaIdleMinutes": 0, "personaStopAfterIdleHours": 0]),
                               minuteSeconds: 60, hourSeconds: 3600)
        #expect(!never.isActive)
        #expect(never.action(state: .ready, desiredState: .running, idleSince: .distantPast, now: now) == nil)
        let stopOnly = IdlePolicy(pauseAfter: nil, stopAfter: 3600)
        #expect(stopOnly.action(state: .ready, desiredState: .running, idleSince: now.addingTimeInterval(-1800), now: now) == nil)
        #expect(stopOnly.action(state: .ready, desiredState: .running, idleSince: now.addingTimeInterval(-3600), now: now) == .stop)
    }

    @Test("running tool calls, eager sidecars and VNC viewers keep a container awake")
    func keepAwake() {
        func beat(running: Int = 0, sidecars: [SidecarHealth] = []) -> Heartbeat {
            Heartbeat(personaId: "p", bootId: "b", sentAt: now, status: "ok", uptimeSeconds: 1, rssBytes: 1,
                      runningInvocations: running, outboxDepth: 0, sidecars: sidecars)
        }
        #expect(IdlePolicy.keepAwakeReason(heartbeat: beat(), inFlight: 0, eagerSidecars: [], vncClients: 0) == nil)
        #expect(IdlePolicy.keepAwakeReason(heartbeat: nil, inFlight: 0, eagerSidecars: [], vncClients: 0) == nil)
        #expect(IdlePolicy.keepAwakeReason(heartbeat: beat(running: 1), inFlight: 0, eagerSidecars: [], vncClients: 0) == "tool call running")
        #expect(IdlePolicy.keepAwakeReason(heartbeat: beat(), inFlight: 2, eagerSidecars: [], vncClients: 0) == "tool call running")
        #expect(IdlePolicy.keepAwakeReason(heartbeat: beat(), inFlight: 0, eagerSidecars: ["desktop"], vncClients: 0) == "eager sidecars")
        let eagerBeat = beat(sidecars: [SidecarHealth(name: "chromium", state: "ready", eager: true)])
        #expect(IdlePolicy.keepAwakeReason(heartbeat: eagerBeat, inFlight: 0, eagerSidecars: [], vncClients: 0) == "eager sidecars",
                "what the container runs counts, even when the runtime changed since")
        #expect(IdlePolicy.keepAwakeReason(heartbeat: beat(), inFlight: 0, eagerSidecars: [], vncClients: 1) == "VNC session open")
        #expect(!IdlePolicy.mayHaveVNCClients(beat()))
        #expect(!IdlePolicy.mayHaveVNCClients(beat(sidecars: [SidecarHealth(name: "x11vnc", state: "stopped")])))
        #expect(IdlePolicy.mayHaveVNCClients(beat(sidecars: [SidecarHealth(name: "x11vnc", state: "ready")])))
    }

    @Test("VNC viewers are the established connections to local port 5900 in /proc/net/tcp and tcp6")
    func vncConnections() {
        let text = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 00000000:170C 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1001        0 1 1 0000000000000000 100 0 0 10 0
               1: 0200110A:170C 010011AC:D4A2 01 00000000:00000000 00:00000000 00000000  1001        0 2 1 0000000000000000 20 4 30 10 -1
               2: 0200110A:170C 010011AC:D4A4 06 00000000:00000000 00:00000000 00000000     0        0 0 3 0000000000000000
               3: 0200110A:1B9E 010011AC:D4A6 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
              sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0000000000000000FFFF00000200110A:170C 0000000000000000FFFF0000010011AC:D4B0 01 00000000:00000000 00:00000000 00000000  1001        0 4 1 0000000000000000 20 4 30 10 -1
            """
        #expect(IdlePolicy.establishedConnections(toPort: 5900, procNetTCP: text) == 2, "the listener, TIME_WAIT and port 7070 do not count")
        #expect(IdlePolicy.establishedConnections(toPort: 5900, procNetTCP: "") == 0)
    }
}
