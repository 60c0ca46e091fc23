#if canImport(FoundationXML)
import FoundationXML
#endif
import Foundation

/// Reads the running text of a WordprocessingML document (`word/document.xml`) or of a
/// DrawingML slide (`ppt/slides/slideN.xml`).
///
/// A paragraph (`p`) becomes a line; text runs (`t` inside `r`, or a slide's `fld`) are
/// concatenated; `tab` is a tab, `br`/`cr` a newline. A table row becomes one line with its
/// cells separated by tabs (a cell's paragraphs joined by spaces), and a blank line follows a
/// table. Content under `mc:Fallback` is skipped: it repeats the `mc:Choice` next to it.
final class FlowTextHandler: OOXMLHandler {
    enum Dialect {
        case wordprocessing
        case drawing
    }

    private struct Table {
        var cells: [String] = []
        var cell: String?
    }

    let dialect: Dialect
    private(set) var output = ""
    private var fallbackDepth = 0
    private var runDepth = 0
    private var textDepth = 0
    private var paragraphs: [String] = []
    private var tables: [Table] = []

    init(dialect: Dialect, budget: Int, kind: String) {
        self.dialect = dialect
        super.init(budget: budget, kind: kind)
    }

    private func isOwn(_ namespace: String?) -> Bool {
        guard let namespace else { return false }
        switch dialect {
        case .wordprocessing: return namespace.contains("wordprocessingml")
        case .drawing: return namespace.contains("drawingml")
        }
    }

    override func elementStarted(_ elementName: String, namespace namespaceURI: String?, attributes: [String: String], parser: XMLParser) {
        if elementName == "Fallback", namespaceURI?.contains("markup-compatibility") == true { fallbackDepth += 1 }
        guard fallbackDepth == 0, isOwn(namespaceURI) else { return }
        switch elementName {
        case "p": paragraphs.append("")
        case "r", "fld": runDepth += 1
        case "t" where runDepth > 0: textDepth += 1
        case "tab" where runDepth > 0 && dialect == .wordprocessing: append("\t", parser: parser)
        case "br" where runDepth > 0 || dialect == .drawing: append("\n", parser: parser)
        case "cr" where runDepth > 0: append("\n", parser: parser)
        case "noBreakHyphen" where runDepth > 0: append("-", parser: parser)
        case "tbl": tables.append(Table())
        case "tc" where !tables.isEmpty: tables[tables.count - 1].cell = ""
        default: break
        }
    }

    override func elementEnded(_ elementName: String, namespace namespaceURI: String?, parser: XMLParser) {
        if elementName == "Fallback", namespaceURI?.contains("markup-compatibility") == true {
            fallbackDepth = max(0, fallbackDepth - 1)
            return
        }
        guard fallbackDepth == 0, isOwn(namespaceURI) else { return }
        switch elementName {
        case "p": endParagraph()
        case "r", "fld": runDepth = max(0, runDepth - 1)
        case "t": textDepth = max(0, textDepth - 1)
        case "tc": endCell()
        case "tr": endRow()
        case "tbl":
            guard tables.popLast() != nil else { return }
            if tables.isEmpty { output += "\n" }
        default: break
        }
    }

    override func characters(_ string: String, parser: XMLParser) {
        if textDepth > 0 && fallbackDepth == 0 { append(string, parser: parser) }
    }

    private func append(_ text: String, parser: XMLParser) {
        guard charge(text, parser: parser) else { return }
        if paragraphs.isEmpty {
            output += text
        } else {
            paragraphs[paragraphs.count - 1] += text
        }
    }

    private func endParagraph() {
        guard let text = paragraphs.popLast() else { return }
        // A text box's paragraphs sit inside a paragraph of the body: they get lines of their own.
        if paragraphs.isEmpty, let index = tables.indices.last, let cell = tables[index].cell {
            let part = text.trimmedOfWhitespace()
            tables[index].cell = cell.isEmpty ? part : (part.isEmpty ? cell : cell + " " + part)
        } else {
            output += text + "\n"
        }
    }

    private func endCell() {
        guard let index = tables.indices.last, let cell = tables[index].cell else { return }
        let flat = cell.split(whereSeparator: { $0 == "\t" || $0 == "\n" }).joined(separator: " ")
        tables[index].cells.append(flat)
        tables[index].cell = nil
    }

    private func endRow() {
        guard let index = tables.indices.last else { return }
        var cells = tables[index].cells
        tables[index].cells = []
        while cells.last?.isEmpty == true { cells.removeLast() }
        guard !cells.isEmpty else { return }
        let row = cells.joined(separator: "\t")
        // A nested table's rows become part of the enclosing cell.
        if index > 0, let outer = tables[index - 1].cell {
            tables[index - 1].cell = outer.isEmpty ? row : outer + " " + row
        } else {
            output += row + "\n"
        }
    }
}
