import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A child process run to completion (`pg_dump`, `pg_restore`), its standard output and error
/// written to files in a private directory: a pipe nobody reads while waiting would stall a
/// child that prints much.
enum ChildProcess {
    struct Result {
        var status: Int32
        var output: String
        var errors: String
        /// The end of standard error (what a failure message quotes).
        var errorTail: String {
            let text = errors.trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? "exit status \(status)" : String(text.suffix(2000))
        }
    }

    /// Runs `executable` with `arguments` and `environment` (and nothing on standard input),
    /// waiting without blocking a thread.
    /// - Throws: ``BackupError`` `io_failed` when it cannot be started.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]) async throws -> Result {
        var template = Array("/tmp/persona-run-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw FileIO.failure("cannot create a temporary directory in", "/tmp")
        }
        let directory = String(cString: made)
        defer { FileIO.removeTree(directory) }
        let outputPath = directory + "/stdout", errorPath = directory + "/stderr"
        guard FileManager.default.createFile(atPath: outputPath, contents: nil, attributes: [.posixPermissions: 0o600]),
              FileManager.default.createFile(atPath: errorPath, contents: nil, attributes: [.posixPermissions: 0o600]),
              let output = FileHandle(forWritingAtPath: outputPath), let errors = FileHandle(forWritingAtPath: errorPath) else {
            throw BackupError(.io, "cannot create the output files of \(executable) in \(directory)")
        }
        defer {
            try? output.close()
            try? errors.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: BackupError(.io, "cannot start \(executable)", underlying: error))
            }
        }
        func text(_ path: String) -> String {
            String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        }
        return Result(status: status, output: text(outputPath), errors: text(errorPath))
    }
}
