import DockerEngine
import Foundation
import PersonaKit
import PersonaStorage

/// What a persona container is made of: labels, the engine spec, the host directories.
extension ContainerManager {
    package func labels(personaId: String, ownerId: String, instance: String) -> [String: String] {
        var labels = settings.extraContainerLabels
        labels["io.persona.persona-id"] = personaId
        labels["io.persona.owner-id"] = ownerId
        labels["io.persona.managed-by"] = Self.managedBy
        labels["io.persona.instance"] = instance
        labels["io.persona.version"] = ControlPlaneVersion.current
        return labels
    }

    /// The container the platform runs for a persona: limits from the settings, every
    /// capability dropped but what the supervisor needs to switch to the tool user and signal
    /// it, no new privileges, a read-only root, the persona's directories bind-mounted, no
    /// secret and no token in `Env`, and no port at all unless the channel is TCP (then only
    /// on a loopback or private address).
    package func containerSpec(personaId: String, ownerId: String, settings platform: PlatformSettings, instance: String,
                       runtime: PersonaRuntime = .default) -> Docker.ContainerSpec {
        let storage = personaStorage(personaId)
        var environment = [
            "PERSONA_ID": personaId,
            "PERSONA_RUN_DIR": "/run/persona",
            "PERSONA_HEARTBEAT_SECONDS": String(settings.supervisorHeartbeatSeconds),
        ]
        var binds = ["\(storage)/workspace:/workspace", "\(storage)/cache:/cache", "\(runDirectory(personaId)):/run/persona",
                     "\(customToolsDirectory):\(Self.customToolsMountPoint):ro"]
        var exposed: [String] = []
        var ports: [String: [Docker.PortBinding]]?
        switch settings.controlChannel {
        case .unixSocket:
            environment["PERSONA_CONTROL_PLANE_SOCKET"] = "/run/persona-cp/\(Self.controlSocketName)"
            binds.append("\(settings.controlSocketDirectory):/run/persona-cp:ro")
        case .tcp(let publishHost, _, _, _, let url):
            environment["PERSONA_CONTROL_PLANE_URL"] = url
            environment["PERSONA_SUPERVISOR_TCP"] = "1"
            exposed = ["\(Self.supervisorPort)/tcp"]
            ports = ["\(Self.supervisorPort)/tcp": [Docker.PortBinding(hostIP: publishHost, hostPort: "")]]
        }
        environment.merge(runtime.environment) { $1 }
        var tmpSize = "256m"
        if runtime.image == .desktop {
            // VNC on host loopback only; the CDP port is never published. Chromium keeps its
            // shared memory and X its sockets in /tmp.
            exposed.append("\(Self.vncPort)/tcp")
            ports = (ports ?? [:]).merging(["\(Self.vncPort)/tcp": [Docker.PortBinding(hostIP: "127.0.0.1", hostPort: "")]]) { $1 }
            tmpSize = "1024m"
        }
        let memory = Int64(platform.defaultPersonaMemoryMb) << 20
        return Docker.ContainerSpec(
            image: image(for: runtime),
            environment: environment,
            labels: labels(personaId: personaId, ownerId: ownerId, instance: instance),
            hostname: "persona-\(personaId.prefix(8))",
            exposedPorts: exposed,
            stopTimeout: settings.containerStopTimeoutSeconds,
            host: Docker.HostConfig(
                binds: binds, portBindings: ports,
                memory: memory, memorySwap: memory,
                nanoCpus: Int64(platform.defaultPersonaCpuMillis) * 1_000_000,
                cpuShares: platform.defaultPersonaCpuShares,
                pidsLimit: Int64(platform.defaultPersonaPidsLimit),
                restartPolicy: Docker.RestartPolicy(name: "no"),
                securityOpt: ["no-new-privileges:true"],
                capAdd: ["SETUID", "SETGID", "KILL"], capDrop: ["ALL"],
                readonlyRootfs: true,
                tmpfs: ["/tmp": "rw,nosuid,nodev,size=\(tmpSize),mode=1777"]))
    }

    package static let vncPort = 5900

    /// Uploaded tool packages (`STORAGE_PATH/tools/<name>/<version>/`), mounted read-only into
    /// every persona container at ``customToolsMountPoint``: a package stored there is in every
    /// running container at once (its supervisor reloads its tools when told).
    package var customToolsDirectory: String {
        URL(fileURLWithPath: storagePath).standardizedFileURL.path + "/tools"
    }

    package static let customToolsMountPoint = "/opt/persona/custom-tools"

    /// The configured tag of the runtime's image.
    package func image(for runtime: PersonaRuntime) -> String {
        runtime.image == .desktop ? settings.desktopImage : settings.personaImage
    }

    /// Makes the persona's directories and writes its token: workspace (the tool user's),
    /// cache (root only), and the run directory (root only) with a 0600 root-owned token file.
    package func prepareDirectories(personaId: String, token: String) throws {
        guard geteuid() == 0 else {
            throw APIError(.serviceUnavailable, code: "container_setup_failed",
                           "The control plane must run as root to hand a container its root-owned token file")
        }
        let storage = personaStorage(personaId)
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: storage + "/workspace", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: storage + "/cache", withIntermediateDirectories: true)
            // Created once and never replaced: a bind mount follows the directory it was made from.
            try fm.createDirectory(atPath: customToolsDirectory, withIntermediateDirectories: true)
            chmod(customToolsDirectory, 0o755)
            chown(storage + "/workspace", 1000, 1000)
            chmod(storage + "/workspace", 0o755)
            // Traversable, not listable: the tool user reaches its browser profile there, the
            // supervisor's own files are 0600.
            chmod(storage + "/cache", 0o711)
            // The browser profile (cookies, logins) lives here, the tool user's.
            try fm.createDirectory(atPath: storage + "/cache/browser", withIntermediateDirectories: true)
            chown(storage + "/cache/browser", 1000, 1000)
            chmod(storage + "/cache/browser", 0o700)
            let run = runDirectory(personaId)
            try fm.createDirectory(atPath: run, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            chown(run, 0, 0)
            chmod(run, 0o700)
            // Written beside, then renamed: a supervisor never reads half a token.
            let temporary = run + "/.token.new"
            unlink(temporary)
            guard fm.createFile(atPath: temporary, contents: Data(token.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
            chown(temporary, 0, 0)
            guard rename(temporary, run + "/token") == 0 else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            throw APIError(.internalServerError, code: "container_setup_failed",
                           "Could not prepare the persona's directories under \(storagePath) and \(settings.runDirectory)")
        }
    }
}
