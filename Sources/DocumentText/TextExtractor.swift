#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns an uploaded document into plain text: txt, Markdown, HTML, PDF (through poppler's
/// `pdftotext`), docx, pptx and xlsx.
///
/// The format is detected from the file's first bytes (`%PDF-`, a ZIP archive holding
/// `word/document.xml`, `ppt/slides/` or `xl/workbook.xml`), then from the declared name's
/// extension or content type for the text formats. Every step is bounded by
/// ``Configuration``: input size, ZIP members and inflated bytes (zip bombs), text length and
/// the `pdftotext` run time.
///
/// `extract` blocks (file I/O, inflating, a child process for PDFs): call it from a thread
/// pool, not from Swift's cooperative executor.
public struct TextExtractor: Sendable {
    /// Limits and tools of a ``TextExtractor``.
    public struct Configuration: Sendable, Hashable {
        /// The largest input file accepted, in bytes.
        public var maxFileBytes: Int
        /// The most members a ZIP-based document may list in its central directory.
        public var maxArchiveEntries: Int
        /// The most bytes one ZIP member may inflate to (declared and actual).
        public var maxEntryBytes: Int
        /// The most bytes all members read from one document may inflate to.
        public var maxTotalUncompressedBytes: Int
        /// A member larger than ``compressionRatioThresholdBytes`` that inflates this many
        /// times its compressed size or more is refused as a zip bomb.
        public var maxCompressionRatio: Int
        /// Members up to this size are exempt from ``maxCompressionRatio``.
        public var compressionRatioThresholdBytes: Int
        /// The longest extracted text, in Unicode scalars.
        public var maxTextCharacters: Int
        /// The `pdftotext` executable; `nil` searches `PATH`.
        public var pdftotextPath: String?
        /// How long `pdftotext` may run before it is killed.
        public var pdfTimeout: Duration

        /// Creates a configuration; the defaults suit documents uploaded through the API.
        public init(
            maxFileBytes: Int = 100 << 20,
            maxArchiveEntries: Int = 10_000,
            maxEntryBytes: Int = 100 << 20,
            maxTotalUncompressedBytes: Int = 200 << 20,
            maxCompressionRatio: Int = 100,
            compressionRatioThresholdBytes: Int = 1 << 20,
            maxTextCharacters: Int = 50_000_000,
            pdftotextPath: String? = nil,
            pdfTimeout: Duration = .seconds(60)
        ) {
            self.maxFileBytes = maxFileBytes
            self.maxArchiveEntries = maxArchiveEntries
            self.maxEntryBytes = maxEntryBytes
            self.maxTotalUncompressedBytes = maxTotalUncompressedBytes
            self.maxCompressionRatio = maxCompressionRatio
            self.compressionRatioThresholdBytes = compressionRatioThresholdBytes
            self.maxTextCharacters = maxTextCharacters
            self.pdftotextPath = pdftotextPath
            self.pdfTimeout = pdfTimeout
        }
    }

    /// The limits and tools in effect.
    public let configuration: Configuration

    /// Creates an extractor.
    /// - Throws: ``ExtractionError`` `invalid_configuration` when a limit is not positive.
    public init(configuration: Configuration = Configuration()) throws {
        let limits = [
            configuration.maxFileBytes, configuration.maxArchiveEntries, configuration.maxEntryBytes,
            configuration.maxTotalUncompressedBytes, configuration.maxCompressionRatio,
            configuration.maxTextCharacters,
        ]
        guard limits.allSatisfy({ $0 > 0 }), configuration.compressionRatioThresholdBytes >= 0,
              configuration.pdfTimeout > .zero
        else {
            throw ExtractionError(.invalidConfiguration, "every TextExtractor limit must be positive")
        }
        self.configuration = configuration
    }

    /// Extracts the text of the file at `path`.
    /// - Parameters:
    ///   - path: where the uploaded bytes are stored (never shown in error messages).
    ///   - declaredName: the file name the client gave, used for its extension.
    ///   - contentType: the client's MIME type (parameters such as `charset` are ignored).
    /// - Returns: the text and the detected format.
    /// - Throws: ``ExtractionError``: `unsupported_type` (unknown or binary type, legacy
    ///   Office, text that is not UTF-8), `corrupt_file`, `too_large`, `tool_missing`
    ///   (no `pdftotext`), `extraction_failed` (unreadable file, `pdftotext` timed out).
    public func extract(fileAt path: String, declaredName: String, contentType: String?) throws -> ExtractedText {
        let bytes = try readFile(at: path)
        let declared = Self.declaredFormat(name: declaredName, contentType: contentType)
        switch try detect(bytes, declared: declared, declaredName: declaredName) {
        case .pdf:
            return try extractPDF(at: path)
        case .ooxml(let format, var archive):
            return try extractOOXML(format, from: &archive)
        case .text(let format):
            let text = try TextDecoding.decode(bytes, kind: format.displayName)
            let plain: String = switch format {
            case .markdown: MarkdownText.plainText(from: text)
            case .html: HTMLText.plainText(from: text)
            default: text
            }
            return ExtractedText(text: try checkLength(plain, format: format), format: format)
        }
    }

    private func readFile(at path: String) throws -> [UInt8] {
        let size: Int
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            let value = attributes[.size]
            size = (value as? Int) ?? (value as? UInt64).map { Int(clamping: $0) } ?? (value as? Int64).map { Int(clamping: $0) } ?? 0
        } catch {
            throw ExtractionError(.extractionFailed, "The uploaded file could not be read.", underlying: error)
        }
        guard size <= configuration.maxFileBytes else {
            throw ExtractionError(.tooLarge, "The file is \(size) bytes; at most \(configuration.maxFileBytes) bytes are accepted.")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExtractionError(.extractionFailed, "The uploaded file could not be read.")
        }
        guard data.count <= configuration.maxFileBytes else {
            throw ExtractionError(.tooLarge, "The file is larger than \(configuration.maxFileBytes) bytes.")
        }
        return [UInt8](data)
    }

    /// Refuses text longer than ``Configuration/maxTextCharacters``.
    func checkLength(_ text: String, format: DocumentFormat) throws -> String {
        let limit = configuration.maxTextCharacters
        // UTF-8 length bounds the scalar count from above: count scalars only when needed.
        if text.utf8.count > limit, text.unicodeScalars.count > limit {
            throw ExtractionError(.tooLarge, "The text of the \(format.displayName) is longer than \(limit) characters.")
        }
        return text
    }
}
