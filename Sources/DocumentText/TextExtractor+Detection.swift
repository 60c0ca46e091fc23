extension TextExtractor {
    /// What the bytes turned out to be.
    enum Detected {
        case pdf
        case ooxml(DocumentFormat, ZipArchive)
        case text(DocumentFormat)
    }

    /// The format a client's file name or content type claims, if it is one we read.
    static func declaredFormat(name: String, contentType: String?) -> DocumentFormat? {
        let fileName = name.split(separator: "/").last.map(String.init) ?? name
        if let dot = fileName.lastIndex(of: "."), dot != fileName.startIndex {
            switch fileName[fileName.index(after: dot)...].lowercased() {
            case "txt", "text": return .txt
            case "md", "markdown", "mdown", "mkd": return .markdown
            case "html", "htm", "xhtml": return .html
            case "pdf": return .pdf
            case "docx": return .docx
            case "pptx": return .pptx
            case "xlsx": return .xlsx
            default: break
            }
        }
        let mime = (contentType ?? "").split(separator: ";").first.map { $0.trimmedOfWhitespace().lowercased() } ?? ""
        switch mime {
        case "text/markdown", "text/x-markdown": return .markdown
        case "text/html", "application/xhtml+xml": return .html
        case "application/pdf": return .pdf
        case "application/vnd.openxmlformats-officedocument.wordprocessingml.document": return .docx
        case "application/vnd.openxmlformats-officedocument.presentationml.presentation": return .pptx
        case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": return .xlsx
        case _ where mime.hasPrefix("text/"): return .txt
        default: return nil
        }
    }

    /// Magic bytes first, then the declared format (only text formats can be declared alone).
    func detect(_ bytes: [UInt8], declared: DocumentFormat?, declaredName: String) throws -> Detected {
        if bytes.starts(with: Array("%PDF-".utf8)) { return .pdf }
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            return try detectOOXML(bytes, declared: declared)
        }
        if let binary = Self.binaryKind(bytes) {
            throw ExtractionError(.unsupportedType, "Unsupported file type: \(binary). \(Self.supportedTypes)")
        }
        switch declared {
        case .txt, .markdown, .html:
            return .text(declared ?? .txt)
        case .pdf:
            throw ExtractionError(.corruptFile, "The file is declared as a PDF but is not one: it does not start with %PDF-.")
        case .docx, .pptx, .xlsx:
            let kind = declared?.displayName ?? "Office document"
            throw ExtractionError(.corruptFile, "The file is declared as a \(kind) but is not one: it is not a ZIP archive.")
        case nil:
            let quoted = declaredName.isEmpty ? "" : " (\"\(declaredName.prefix(100))\")"
            throw ExtractionError(.unsupportedType, "Unsupported file type\(quoted). \(Self.supportedTypes)")
        }
    }

    static let supportedTypes = "Supported types: .txt, .md, .html, .pdf, .docx, .pptx, .xlsx."

    private func detectOOXML(_ bytes: [UInt8], declared: DocumentFormat?) throws -> Detected {
        let kind = switch declared {
        case .docx, .pptx, .xlsx: declared?.displayName ?? "ZIP archive"
        default: "ZIP archive"
        }
        var archive = try ZipArchive(bytes: bytes, limits: configuration, kind: kind)
        let format: DocumentFormat
        if archive.member("word/document.xml") != nil {
            format = .docx
        } else if archive.member("xl/workbook.xml") != nil {
            format = .xlsx
        } else if archive.member("ppt/presentation.xml") != nil || archive.containsMember(withPrefix: "ppt/slides/") {
            format = .pptx
        } else {
            throw ExtractionError(.unsupportedType, "Unsupported file type: a ZIP archive that is not a Word, PowerPoint or Excel document. \(Self.supportedTypes)")
        }
        archive.kind = format.displayName
        return .ooxml(format, archive)
    }

    /// Names well-known binary formats, so that the error says what the file is.
    static func binaryKind(_ bytes: [UInt8]) -> String? {
        let signatures: [(prefix: [UInt8], name: String)] = [
            ([0x89, 0x50, 0x4E, 0x47], "PNG image"),
            ([0xFF, 0xD8, 0xFF], "JPEG image"),
            (Array("GIF8".utf8), "GIF image"),
            ([0x49, 0x49, 0x2A, 0x00], "TIFF image"),
            ([0x4D, 0x4D, 0x00, 0x2A], "TIFF image"),
            ([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
             "legacy Office document (.doc, .xls, .ppt) or password-protected Office document"),
            (Array("{\\rtf".utf8), "RTF document"),
            ([0x1F, 0x8B], "gzip archive"),
            (Array("7z".utf8) + [0xBC, 0xAF], "7-Zip archive"),
            (Array("Rar!".utf8), "RAR archive"),
            ([0x7F, 0x45, 0x4C, 0x46], "executable"),
            (Array("OggS".utf8), "Ogg media"),
        ]
        if let match = signatures.first(where: { bytes.starts(with: $0.prefix) }) { return match.name }
        if bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8) {
            return bytes[8..<12].elementsEqual("WEBP".utf8) ? "WebP image" : "RIFF media file"
        }
        if bytes.count >= 12, bytes[4..<8].elementsEqual("ftyp".utf8) { return "MP4/QuickTime media" }
        return nil
    }
}
