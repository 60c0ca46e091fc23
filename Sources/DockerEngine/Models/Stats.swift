extension Docker {
    /// One sample of `GET /containers/{id}/stats` (cgroup v1 and v2 fields the project uses).
    /// Unlike the rest of the API, these keys are snake_case.
    public struct ContainerStats: Codable, Sendable, Hashable {
        /// Time of this sample (RFC 3339).
        public var read: String?
        /// Time of the previous sample; `0001-01-01T00:00:00Z` on a one-shot sample.
        public var preread: String?
        public var pidsStats: PidsStats?
        public var memoryStats: MemoryStats?
        public var cpuStats: CPUStats?
        public var precpuStats: CPUStats?
        public var networks: [String: NetworkStats]?
        public var blkioStats: BlkioStats?

        enum CodingKeys: String, CodingKey {
            case read, preread, networks
            case pidsStats = "pids_stats", memoryStats = "memory_stats", cpuStats = "cpu_stats", precpuStats = "precpu_stats"
            case blkioStats = "blkio_stats"
        }

        /// Block I/O counters (`io_service_bytes_recursive`: one entry per device and operation;
        /// cgroup v2 engines report `read`/`write`, v1 `Read`/`Write`/`Total`...).
        public struct BlkioStats: Codable, Sendable, Hashable {
            public struct Entry: Codable, Sendable, Hashable {
                public var op: String?
                public var value: UInt64?
            }
            public var ioServiceBytesRecursive: [Entry]?

            enum CodingKeys: String, CodingKey { case ioServiceBytesRecursive = "io_service_bytes_recursive" }

            /// Bytes read and written, all devices together.
            public var bytes: (read: UInt64, write: UInt64) {
                var read: UInt64 = 0, write: UInt64 = 0
                for entry in ioServiceBytesRecursive ?? [] {
                    switch entry.op?.lowercased() {
                    case "read": read &+= entry.value ?? 0
                    case "write": write &+= entry.value ?? 0
                    default: break
                    }
                }
                return (read, write)
            }
        }

        public struct PidsStats: Codable, Sendable, Hashable {
            public var current: UInt64?
            public var limit: UInt64?
        }

        public struct MemoryStats: Codable, Sendable, Hashable {
            /// Bytes charged to the cgroup, page cache included.
            public var usage: UInt64?
            public var maxUsage: UInt64?
            public var limit: UInt64?
            /// Raw cgroup counters (`inactive_file`, `cache`, `anon`, ...).
            public var stats: [String: UInt64]?

            enum CodingKeys: String, CodingKey { case usage, limit, stats, maxUsage = "max_usage" }

            /// Usage less reclaimable page cache, as `docker stats` shows it.
            public var workingSet: UInt64? {
                guard let usage else { return nil }
                let cache = stats?["inactive_file"] ?? stats?["total_inactive_file"] ?? 0
                return usage > cache ? usage - cache : usage
            }
        }

        public struct CPUStats: Codable, Sendable, Hashable {
            public var cpuUsage: CPUUsage?
            /// Host CPU time in nanoseconds (all CPUs).
            public var systemCPUUsage: UInt64?
            public var onlineCPUs: Int?

            enum CodingKeys: String, CodingKey {
                case cpuUsage = "cpu_usage", systemCPUUsage = "system_cpu_usage", onlineCPUs = "online_cpus"
            }

            public struct CPUUsage: Codable, Sendable, Hashable {
                /// Container CPU time in nanoseconds.
                public var totalUsage: UInt64?
                public var usageInKernelmode: UInt64?
                public var usageInUsermode: UInt64?

                enum CodingKeys: String, CodingKey {
                    case totalUsage = "total_usage", usageInKernelmode = "usage_in_kernelmode", usageInUsermode = "usage_in_usermode"
                }
            }
        }

        public struct NetworkStats: Codable, Sendable, Hashable {
            public var rxBytes: UInt64?
            public var txBytes: UInt64?
            public var rxPackets: UInt64?
            public var txPackets: UInt64?

            enum CodingKeys: String, CodingKey {
                case rxBytes = "rx_bytes", txBytes = "tx_bytes", rxPackets = "rx_packets", txPackets = "tx_packets"
            }
        }

        /// CPU use between the previous sample and this one, in percent of one CPU times
        /// the number of CPUs (as `docker stats`); `nil` without a previous sample.
        public var cpuPercent: Double? {
            guard let now = cpuStats, let before = precpuStats,
                let total = now.cpuUsage?.totalUsage, let previousTotal = before.cpuUsage?.totalUsage,
                let system = now.systemCPUUsage, let previousSystem = before.systemCPUUsage,
                system > previousSystem, total >= previousTotal
            else { return nil }
            let cpus = Double(now.onlineCPUs ?? 1)
            return Double(total - previousTotal) / Double(system - previousSystem) * cpus * 100
        }
    }
}
