#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PersonaKit
#if canImport(Glibc)
import Glibc
#endif

/// `https` for `http_fetch`: the supervisor links no TLS, so the request runs through Debian's
/// curl (libcurl with OpenSSL) as a child process of the ``ProcessRunner``: as the tool user,
/// in its own process group, under the invocation's time limit and cancel handle.
///
/// - Certificate verification is always on: the system bundle, plus an optional workspace
///   PEM (`caCertificate`) concatenated to a copy of it (curl's `cacert` replaces the bundle).
/// - Only `https` (`proto =https`), no redirects followed (like the plain-HTTP path: a 3xx is
///   returned as it is), no proxy, no `~/.curlrc` (`-q`).
/// - Nothing of the request is on argv (`/proc/*/cmdline` shows `curl -q --config -`): URL and
///   headers go in a config on stdin, a POST body in a 0600 file of the tool user in a private
///   temporary directory, removed afterwards.
/// - The response comes back on stdout with its headers (`include`); stdout is capped at the
///   body limit plus ``headerAllowance``, and curl is killed when the cap is passed, so a large
///   body is cut at `maxBytes` (`truncated: true`) rather than downloaded to its end.
extension HTTPFetchTool {
    static let curlPath = "/usr/bin/curl"
    static let systemCABundle = "/etc/ssl/certs/ca-certificates.crt"
    /// Room for the response head(s) on stdout beyond the body limit.
    static let headerAllowance = 256 << 10
    /// Where the per-call temporary directory goes (`/tmp` is a tmpfs in persona containers).
    static let temporaryRoot = "/tmp"

    /// curl exit codes that mean the TLS handshake or the certificate check failed.
    static let tlsExitCodes: Set<Int32> = [35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 82, 83, 90, 91, 98]

    static func fetchWithCurl(
        url: String, method: String, headers: [(String, String)], body: [UInt8]?, caCertificate: String?,
        maxBytes: Int, invocation: ToolInvocation, context: ToolContext
    ) async throws(SupervisorError) -> SimpleHTTPClient.Response {
        for (name, value) in headers {
            guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 && $0 != ":" }) else {
                throw SupervisorError("validation_failed", "header name \(name.debugDescription) is not a valid HTTP token", status: 400)
            }
            guard !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw SupervisorError("validation_failed", "header \(name) has a line break or NUL in its value", status: 400)
            }
        }
        var pem: [UInt8]?
        if let caCertificate {
            let bytes = try context.workspace.readFile(caCertificate, limit: 1 << 20)
            guard String(decoding: bytes, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----") else {
                throw SupervisorError("validation_failed", "caCertificate \(caCertificate) holds no PEM certificate", status: 400)
            }
            pem = bytes
        }

        let user = context.toolUser
        var directory: String?
        defer { if let directory { removeTemporary(directory, user: user) } }
        var caFile = systemCABundle
        var bodyFile: String?
        if pem != nil || !(body ?? []).isEmpty {
            let made = try makeTemporaryDirectory(user: user)
            directory = made
            if let pem {
                guard let system = readSystemFile(systemCABundle) else {
                    throw SupervisorError("tls_failed", "the system CA bundle \(systemCABundle) is missing", status: 502)
                }
                caFile = made + "/ca.pem"
                try writeNewFile(caFile, system + [10] + pem + [10], user: user)
            }
            if let body, !body.isEmpty {
                bodyFile = made + "/body"
                try writeNewFile(bodyFile!, body, user: user)
            }
        }

        var config: [String] = [
            "url = " + quoted(url),
            "globoff", "path-as-is", "silent", "show-error", "include",
            "proto = \"=https\"", "proto-redir = \"=https\"", "noproxy = \"*\"",
            "cacert = " + quoted(caFile),
            "max-time = \"\(seconds(invocation.timeout))\"",
            "user-agent = " + quoted("persona-supervisor/\(SupervisorVersion.current)"),
        ]
        if invocation.timeout > .seconds(5) { config.append("connect-timeout = \"5\"") }
        let given = Set(headers.map { $0.0.lowercased() })
        if !given.contains("expect") { config.append("header = \"Expect:\"") }
        if method == "POST" {
            // curl would add its form content type; the plain-HTTP path sends none unless asked.
            if !given.contains("content-type") { config.append("header = \"Content-Type:\"") }
            config.append("data-binary = " + quoted(bodyFile.map { "@" + $0 } ?? ""))
        }
        for (name, value) in headers {
            // `Name:` alone would remove the header; `Name;` sends it empty.
            config.append("header = " + quoted(value.isEmpty ? "\(name);" : "\(name): \(value)"))
        }

        let spec = ProcessSpec(
            executable: curlPath, arguments: ["curl", "-q", "--config", "-"],
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/nonexistent"],
            workingDirectory: "/", user: user, stdin: Array((config.joined(separator: "\n") + "\n").utf8),
            // curl's own max-time ends the call first (exit 28); this is the backstop.
            timeout: invocation.timeout + .seconds(2),
            maxStdoutBytes: headerAllowance + maxBytes + 1, killWhenStdoutFull: true)
        let outcome = try await context.processes.run(spec, handle: invocation.handle)
        if outcome.cancelled { throw SupervisorError("cancelled", "the fetch was cancelled", status: 499) }
        if !outcome.stdoutTruncated {
            if outcome.timedOut { throw SupervisorError("timeout", "no complete answer within \(invocation.timeout)", status: 504) }
            if outcome.exitStatus != 0 { throw curlFailure(outcome) }
        }
        guard let head = parseHead(outcome.stdout) else {
            throw SupervisorError(
                "fetch_failed",
                outcome.stdoutTruncated ? "the response head is larger than \(headerAllowance) bytes" : "curl returned no readable HTTP response",
                status: 502)
        }
        var response = SimpleHTTPClient.Response(status: head.status, headers: head.headers, body: Array(outcome.stdout[head.bodyStart...]),
                                                 truncated: false)
        if response.body.count > maxBytes {
            response.body.removeLast(response.body.count - maxBytes)
            response.truncated = true
        } else if outcome.stdoutTruncated {
            throw SupervisorError("fetch_failed", "the response head is larger than \(headerAllowance) bytes", status: 502)
        }
        return response
    }

    /// A failed curl run as an error code and curl's own message.
    static func curlFailure(_ outcome: ProcessOutcome) -> SupervisorError {
        let status = outcome.exitStatus
        var detail = String(decoding: outcome.stderrTail, as: UTF8.self)
            .split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        if detail.hasPrefix("curl: ("), let close = detail.firstIndex(of: ")") {
            detail = trimmed(detail[detail.index(after: close)...])
        }
        if detail.isEmpty { detail = status < 0 ? "curl was killed by signal \(-status)" : "curl exited with \(status)" }
        switch status {
        case _ where tlsExitCodes.contains(status):
            return SupervisorError("tls_failed", "TLS failed (certificate not trusted or handshake refused): \(detail)", status: 502)
        case 6:
            return SupervisorError("unresolvable", "the host name could not be resolved: \(detail)", status: 502)
        case 7:
            return SupervisorError("unreachable", "could not connect: \(detail)", status: 502)
        case 28:
            return SupervisorError("timeout", "no complete answer in time: \(detail)", status: 504)
        case 3:
            return SupervisorError("validation_failed", "curl refused the url: \(detail)", status: 400)
        default:
            return SupervisorError("fetch_failed", "the fetch failed: \(detail)", status: 502)
        }
    }

    /// The final response head of `include` output (interim 1xx heads skipped): status,
    /// headers, and where the body starts.
    static func parseHead(_ bytes: [UInt8]) -> (status: Int, headers: [(String, String)], bodyStart: Int)? {
        var offset = 0
        while true {
            guard let (end, bodyStart) = headEnd(bytes, from: offset) else { return nil }
            let lines = String(decoding: bytes[offset..<end], as: UTF8.self).split(whereSeparator: \.isNewline)
            guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/") else { return nil }
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
            if (100..<200).contains(status) && status != 101 {
                offset = bodyStart
                continue
            }
            var headers: [(String, String)] = []
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers.append((trimmed(line[..<colon]), trimmed(line[line.index(after: colon)...])))
            }
            return (status, headers, bodyStart)
        }
    }

    /// The end of the head starting at `from` (the index of the last line's LF) and the
    /// first body byte after the empty line.
    private static func headEnd(_ bytes: [UInt8], from: Int) -> (Int, Int)? {
        var index = from
        while index < bytes.count {
            if bytes[index] == 10 {
                if index + 1 < bytes.count && bytes[index + 1] == 10 { return (index, index + 2) }
                if index + 2 < bytes.count && bytes[index + 1] == 13 && bytes[index + 2] == 10 { return (index, index + 3) }
            }
            index += 1
        }
        return nil
    }

    private static func trimmed(_ text: Substring) -> String {
        String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    /// A curl config string: double-quoted, backslash-escaped.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\u{0B}": out += "\\v"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// `Duration` as decimal seconds with millisecond precision (`1.5`), for curl's `max-time`.
    static func seconds(_ duration: Duration) -> String {
        let (whole, atto) = duration.components
        let millis = max(1, whole * 1000 + atto / 1_000_000_000_000_000)
        let fraction = String(millis % 1000)
        return "\(millis / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// A private (0700) directory under ``temporaryRoot`` owned by the tool user.
    private static func makeTemporaryDirectory(user: (uid: UInt32, gid: UInt32)?) throws(SupervisorError) -> String {
        try asFilesystemUser(user) { () throws(SupervisorError) -> String in
            var template = Array("\(temporaryRoot)/persona-fetch-XXXXXX".utf8CString)
            let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
            guard made != nil else { throw .system("could not create a temporary directory", errno: errno, code: "fetch_failed", status: 502) }
            return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        }
    }

    /// Creates `path` (0600, the tool user's) with `bytes`.
    private static func writeNewFile(_ path: String, _ bytes: [UInt8], user: (uid: UInt32, gid: UInt32)?) throws(SupervisorError) {
        try asFilesystemUser(user) { () throws(SupervisorError) in
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw .system("could not create \(path)", errno: errno, code: "fetch_failed", status: 502) }
            defer { close(fd) }
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .system("could not write \(path)", errno: errno, code: "fetch_failed", status: 502)
                }
                offset += n
            }
        }
    }

    private static func readSystemFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return n == 0 ? bytes : nil }
            bytes.append(contentsOf: buffer[0..<n])
        }
    }

    private static func removeTemporary(_ directory: String, user: (uid: UInt32, gid: UInt32)?) {
        try? asFilesystemUser(user) { () throws(SupervisorError) in
            for name in ["ca.pem", "body"] { _ = unlink(directory + "/" + name) }
            _ = rmdir(directory)
        }
    }
}
