import CSupervisorShim
#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` with this thread's filesystem uid/gid switched to `user` (`setfsuid`/`setfsgid`,
/// needing only `CAP_SETUID`/`CAP_SETGID`), so the supervisor acts with exactly that user's
/// rights on files and what it creates belongs to that user. Root only (otherwise `body` runs
/// as it is); `body` must be synchronous, so nothing else runs on the thread meanwhile.
func asFilesystemUser<T>(_ user: (uid: UInt32, gid: UInt32)?, _ body: () throws(SupervisorError) -> T) throws(SupervisorError) -> T {
    guard let user, geteuid() == 0 else { return try body() }
    let previousGID = ps_setfsgid(user.gid)
    let previousUID = ps_setfsuid(user.uid)
    defer {
        _ = ps_setfsuid(UInt32(bitPattern: previousUID))
        _ = ps_setfsgid(UInt32(bitPattern: previousGID))
    }
    return try body()
}
