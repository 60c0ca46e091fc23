#if canImport(Glibc)
import Glibc
#endif

/// A snapshot of `/proc`: each process's parent, process group and memory, to add up what a
/// sidecar really uses (chromium is a dozen processes). Memory is the proportional share of
/// anonymous and shared-memory pages (`Pss_Anon + Pss_Shmem` of `smaps_rollup`): what stopping
/// the sidecar gives back. Pages shared between chromium's processes count once, and the
/// browser binary's file pages (page cache the kernel can drop) not at all; adding RSS would
/// count the binary a dozen times. Kernels without those lines give `Pss`, then `statm`'s RSS.
struct ProcessTree {
    struct Entry {
        var parent: pid_t
        var group: pid_t
    }

    var entries: [pid_t: Entry] = [:]
    /// Parent -> children, from ``entries``.
    var children: [pid_t: [pid_t]] = [:]
    let proc: String
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))

    init(proc: String = "/proc") {
        self.proc = proc
    }

    /// Reads every `/proc/<pid>/stat` now (memory is read later, for the trees asked about).
    static func snapshot(proc: String = "/proc") -> ProcessTree {
        var tree = ProcessTree(proc: proc)
        guard let dir = opendir(proc) else { return tree }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = pid_t(name) else { continue }
            guard let stat = readText("\(proc)/\(pid)/stat") else { continue }
            // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
            guard let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 3, let parent = pid_t(fields[1]), let group = pid_t(fields[2]) else { continue }
            tree.entries[pid] = Entry(parent: parent, group: group)
            tree.children[parent, default: []].append(pid)
        }
        return tree
    }

    /// Memory of `root`, its descendants and anything left in its process group.
    func memoryBytes(ofTree root: pid_t) -> Int {
        var seen: Set<pid_t> = []
        var stack = [root] + entries.filter { $0.value.group == root }.map(\.key)
        var total = 0
        while let pid = stack.popLast() {
            guard seen.insert(pid).inserted, entries[pid] != nil else { continue }
            // Memory is read only for the tree's own processes (smaps_rollup walks page tables).
            total += Self.proportionalBytes(pid, proc: proc, page: page)
            stack.append(contentsOf: children[pid] ?? [])
        }
        return total
    }

    /// See the type's note; `smaps_rollup` values are in kB.
    /// Reading another user's `smaps_rollup` needs ptrace rights; without `CAP_SYS_PTRACE` the
    /// supervisor reads it with the process's own filesystem uid/gid.
    private static func proportionalBytes(_ pid: pid_t, proc: String, page: Int) -> Int {
        var owner = stat()
        let user: (uid: UInt32, gid: UInt32)? = stat("\(proc)/\(pid)", &owner) == 0 && owner.st_uid != geteuid()
            ? (owner.st_uid, owner.st_gid) : nil
        let rollup = (try? asFilesystemUser(user) { () throws(SupervisorError) in
            readText("\(proc)/\(pid)/smaps_rollup")
        }) ?? nil
        if let rollup {
            var fields: [Substring: Int] = [:]
            for line in rollup.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count >= 2, let kilobytes = Int(parts[1]) { fields[parts[0]] = kilobytes }
            }
            if let anonymous = fields["Pss_Anon:"] { return (anonymous + (fields["Pss_Shmem:"] ?? 0)) * 1024 }
            if let pss = fields["Pss:"] { return pss * 1024 }
        }
        let memory = readText("\(proc)/\(pid)/statm")?.split(separator: " ") ?? []
        return (memory.count > 1 ? Int(memory[1]) ?? 0 : 0) * page
    }

    private static func readText(_ path: String) -> String? {
        readWholeFile(path, limit: 64 << 10).map { String(decoding: $0, as: UTF8.self) }
    }
}

