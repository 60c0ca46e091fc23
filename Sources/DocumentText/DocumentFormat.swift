/// The document formats ``TextExtractor`` reads.
public enum DocumentFormat: String, Sendable, Hashable, CaseIterable {
    /// Plain UTF-8 text (`.txt`, any `text/*` type not listed below).
    case txt
    /// Markdown (`.md`, `.markdown`, `text/markdown`), reduced to its text.
    case markdown
    /// HTML (`.html`, `.htm`, `text/html`), reduced to its text.
    case html
    /// PDF (magic `%PDF-`), through poppler's `pdftotext`.
    case pdf
    /// Word (ZIP holding `word/document.xml`).
    case docx
    /// PowerPoint (ZIP holding `ppt/presentation.xml` or `ppt/slides/`).
    case pptx
    /// Excel (ZIP holding `xl/workbook.xml`).
    case xlsx

    /// How the format is named in error messages, e.g. "Word document (.docx)".
    public var displayName: String {
        switch self {
        case .txt: "plain-text file"
        case .markdown: "Markdown file"
        case .html: "HTML file"
        case .pdf: "PDF"
        case .docx: "Word document (.docx)"
        case .pptx: "PowerPoint presentation (.pptx)"
        case .xlsx: "Excel workbook (.xlsx)"
        }
    }
}

/// The plain text of a document and what was learned about it while extracting.
public struct ExtractedText: Sendable, Hashable {
    /// The text: UTF-8, LF line endings, paragraphs separated by a blank line where the
    /// format has paragraphs. May be empty (an empty file, a scanned PDF without text).
    public var text: String
    /// The detected format.
    public var format: DocumentFormat
    /// PDF pages or PowerPoint slides; `nil` for other formats.
    public var pageCount: Int?
    /// Excel worksheets; `nil` for other formats.
    public var sheetCount: Int?

    /// Creates a result.
    public init(text: String, format: DocumentFormat, pageCount: Int? = nil, sheetCount: Int? = nil) {
        self.text = text
        self.format = format
        self.pageCount = pageCount
        self.sheetCount = sheetCount
    }
}
