import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension TextExtractor {
    /// Runs `pdftotext -enc UTF-8 -eol unix <file> <out>` in a private temporary directory,
    /// kills it after ``Configuration/pdfTimeout`` or once its output passes the text limit,
    /// and turns the form feeds between pages into paragraph breaks.
    func extractPDF(at path: String) throws -> ExtractedText {
        let tool = try pdftotextExecutable()
        let fileManager = FileManager.default
        let directory = fileManager.temporaryDirectory.appendingPathComponent("persona-pdftotext-\(UUID().uuidString)")
        do {
            try fileManager.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ExtractionError(.extractionFailed, "The PDF could not be processed: no temporary directory.", underlying: error)
        }
        defer { try? fileManager.removeItem(at: directory) }
        let outputPath = directory.appendingPathComponent("text.txt").path
        let errorPath = directory.appendingPathComponent("stderr.txt").path
        guard fileManager.createFile(atPath: errorPath, contents: nil),
              let errorHandle = FileHandle(forWritingAtPath: errorPath)
        else { throw ExtractionError(.extractionFailed, "The PDF could not be processed: no temporary file.") }
        defer { try? errorHandle.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        // A path starting with "-" would be read as an option.
        let input = path.hasPrefix("-") ? "./" + path : path
        process.arguments = ["-enc", "UTF-8", "-eol", "unix", input, outputPath]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorHandle
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try Self.launch(process)
        let outcome = supervise(process, exited: exited, outputPath: outputPath)
        let stderrTail = Self.tail(of: errorPath, hiding: [input, directory.path])
        switch outcome {
        case .timedOut:
            throw ExtractionError(.extractionFailed, "The PDF took longer than \(configuration.pdfTimeout) to extract and was abandoned.")
        case .outputTooLarge:
            throw ExtractionError(.tooLarge, "The text of the PDF is longer than \(configuration.maxTextCharacters) characters.")
        case .exited(let status) where status != 0:
            let detail = stderrTail.isEmpty ? "" : ": \(stderrTail)"
            throw ExtractionError(.corruptFile, "The PDF is corrupt, encrypted or unreadable (pdftotext exit status \(status))\(detail).")
        case .exited:
            break
        }
        guard let data = fileManager.contents(atPath: outputPath) else {
            throw ExtractionError(.extractionFailed, "The PDF could not be processed: pdftotext wrote no output.")
        }
        let raw = String(decoding: data, as: UTF8.self)
        let pages = raw.reduce(into: 0) { count, character in if character == "\u{0C}" { count += 1 } }
        let text = TextTidy.tidy(raw.replacingOccurrences(of: "\u{0C}", with: "\n\n"))
        return ExtractedText(text: try checkLength(text, format: .pdf), format: .pdf, pageCount: pages)
    }

    /// Starts `process`. An executable that another process still holds open for writing
    /// (`ETXTBSY`: one being installed, or a descriptor a concurrent fork inherited for a
    /// moment) is retried briefly; a program that cannot be found or run is `tool_missing`;
    /// anything else is `extraction_failed`.
    static func launch(_ process: Process) throws {
        var attempt = 0
        while true {
            do {
                try process.run()
                return
            } catch {
                let code = posixCode(of: error)
                if code == ETXTBSY, attempt < 20 {
                    attempt += 1
                    usleep(25_000)
                    continue
                }
                switch code {
                case nil, ENOENT, EACCES, EPERM, ENOEXEC, ENOTDIR:
                    throw ExtractionError(.toolMissing, "PDF extraction needs the pdftotext program, which could not be started: install poppler-utils.", underlying: error)
                default:
                    throw ExtractionError(.extractionFailed, "The PDF could not be processed: pdftotext could not be started.", underlying: error)
                }
            }
        }
    }

    /// The errno behind a `Process.run()` failure: Foundation wraps it in a Cocoa error
    /// whose underlying error is in the POSIX domain.
    private static func posixCode(of error: any Error) -> Int32? {
        var current: NSError? = error as NSError
        while let error = current {
            if error.domain == NSPOSIXErrorDomain { return Int32(error.code) }
            current = error.userInfo[NSUnderlyingErrorKey] as? NSError
        }
        return nil
    }

    private enum Outcome {
        case exited(Int32)
        case timedOut
        case outputTooLarge
    }

    /// Waits for `process`, polling its output size; kills it on time-out or overflow.
    private func supervise(_ process: Process, exited: DispatchSemaphore, outputPath: String) -> Outcome {
        let deadline = ContinuousClock.now + configuration.pdfTimeout
        // UTF-8 takes at most 4 bytes per character.
        let maxOutputBytes = configuration.maxTextCharacters.multipliedReportingOverflow(by: 4)
        let outputLimit = maxOutputBytes.overflow ? Int.max : maxOutputBytes.partialValue
        while true {
            if exited.wait(timeout: .now() + .milliseconds(50)) == .success {
                return fileSize(outputPath) > outputLimit ? .outputTooLarge : .exited(process.terminationStatus)
            }
            if fileSize(outputPath) > outputLimit {
                stop(process, exited: exited)
                return .outputTooLarge
            }
            if ContinuousClock.now >= deadline {
                stop(process, exited: exited)
                return .timedOut
            }
        }
    }

    private func stop(_ process: Process, exited: DispatchSemaphore) {
        process.terminate()
        if exited.wait(timeout: .now() + .seconds(2)) == .timedOut {
            _ = kill(process.processIdentifier, SIGKILL)
            exited.wait()
        }
    }

    private func fileSize(_ path: String) -> Int {
        let value = try? FileManager.default.attributesOfItem(atPath: path)[.size]
        return (value as? Int) ?? (value as? UInt64).map { Int(clamping: $0) } ?? (value as? NSNumber)?.intValue ?? 0
    }

    private func pdftotextExecutable() throws -> String {
        let fileManager = FileManager.default
        if let configured = configuration.pdftotextPath {
            guard fileManager.isExecutableFile(atPath: configured) else {
                throw ExtractionError(.toolMissing, "PDF extraction needs the pdftotext program, which is not installed at the configured path: install poppler-utils.")
            }
            return configured
        }
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = searchPath.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"]
        for directory in directories where fileManager.isExecutableFile(atPath: directory + "/pdftotext") {
            return directory + "/pdftotext"
        }
        throw ExtractionError(.toolMissing, "PDF extraction needs the pdftotext program, which is not installed: install poppler-utils.")
    }

    /// The last few hundred characters pdftotext wrote to stderr, on one line, with the
    /// input path (a server-side detail) replaced.
    private static func tail(of path: String, hiding paths: [String]) -> String {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return "" }
        var text = String(decoding: data.suffix(4096), as: UTF8.self)
        for hidden in paths { text = text.replacingOccurrences(of: hidden, with: "(file)") }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmedOfWhitespace() }.filter { !$0.isEmpty }
        let joined = lines.suffix(3).joined(separator: "; ")
        return joined.count > 300 ? "…" + String(joined.suffix(300)) : joined
    }
}
