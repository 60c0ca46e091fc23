import DockerEngine

/// Where persona containers run and how the control plane talks to their supervisors: the
/// engine, the images, the control channel, run directories and timings.
public struct ContainerSettings: Sendable {
    /// Where the Docker engine is: `DOCKER_HOST` (`unix://` or `tcp://`, TLS as the docker CLI
    /// does it), else `DOCKER_SOCKET_PATH`.
    public var dockerEndpoint: Docker.Endpoint = .unixSocket(path: Docker.Endpoint.defaultSocketPath)
    /// Root of the per-persona run directories (`PERSONA_RUN_DIR`): `<root>/<persona id>/` holds
    /// the container token and the supervisor's socket. Short, because socket paths must fit
    /// 108 bytes.
    public var runDirectory = "/run/persona"
    /// Directory of the control plane's internal socket (`PERSONA_CONTROL_SOCKET_DIR`),
    /// mounted read-only into every persona container at `/run/persona-cp`.
    public var controlSocketDirectory = "/run/persona-cp"
    /// The persona image (`PERSONA_IMAGE`), also what `scripts/build-images` tags.
    public var personaImage = "persona-platform/persona:latest"
    /// The desktop image (`PERSONA_DESKTOP_IMAGE`): the persona image plus chromium,
    /// Playwright, Xvfb and x11vnc; personas whose runtime says `desktop` run it.
    public var desktopImage = "persona-platform/persona-desktop:latest"
    /// How the control plane and supervisors talk (`PERSONA_CONTROL_CHANNEL`).
    public var controlChannel = ControlChannel.unixSocket
    /// Seconds between supervisor heartbeats (`PERSONA_HEARTBEAT_SECONDS`).
    public var supervisorHeartbeatSeconds = 10
    /// Seconds between reconciler sweeps (`PERSONA_RECONCILE_SECONDS`).
    public var reconcileIntervalSeconds: Double = 30
    /// Seconds between health samples of the running persona containers
    /// (`HEALTH_INTERVAL_SECONDS`, 30; 0 samples nothing and `GET .../container` asks the engine).
    public var healthIntervalSeconds: Double = 30
    /// Seconds `docker stop` waits before it kills a persona container.
    public var containerStopTimeoutSeconds = 10
    /// Seconds in one unit of the `personaIdleMinutes` setting (60; tests shorten it).
    public var idleMinuteSeconds: Double = 60
    /// Seconds in one unit of the `personaStopAfterIdleHours` setting (3600; tests shorten it).
    public var idleHourSeconds: Double = 3600
    /// At most one `last_active_at` write per persona and process in this many seconds (15),
    /// so a busy persona costs a write now and then, not one per tool call. Must stay below
    /// the idle period (at least one minute outside tests): a call within it finds the column
    /// recent enough that no sweep pauses the persona under it.
    public var activityWriteSeconds: Double = 15
    /// Extra labels on every persona container (tests mark theirs for clean-up checks).
    public var extraContainerLabels: [String: String] = [:]

    public init() {}

    /// The control channel between the control plane and the supervisors.
    public enum ControlChannel: Sendable, Equatable {
        /// One host: the supervisor listens on a socket in its run directory, the control
        /// plane's internal API on a socket in ``controlSocketDirectory``; no ports at all.
        case unixSocket
        /// A remote engine: the supervisor listens on TCP 7070, published on `publishHost`
        /// (loopback or a private address of the engine host) and reached at `supervisorHost`;
        /// the internal API listens on `internalHost:internalPort` and containers reach it at
        /// `controlPlaneURL`.
        case tcp(publishHost: String, supervisorHost: String, internalHost: String, internalPort: Int, controlPlaneURL: String)
    }
}
