#if canImport(FoundationXML)
import FoundationXML
#endif
import Foundation

/// `xl/sharedStrings.xml`: the text of each `si`, phonetic runs (`rPh`) left out.
final class SharedStringsHandler: OOXMLHandler {
    private(set) var strings: [String] = []
    private var current: String?
    private var textDepth = 0
    private var phoneticDepth = 0

    override func elementStarted(_ elementName: String, namespace namespaceURI: String?, attributes: [String: String], parser: XMLParser) {
        switch elementName {
        case "si": current = ""
        case "rPh": phoneticDepth += 1
        case "t": textDepth += 1
        default: break
        }
    }

    override func elementEnded(_ elementName: String, namespace namespaceURI: String?, parser: XMLParser) {
        switch elementName {
        case "si":
            strings.append(current ?? "")
            current = nil
        case "rPh": phoneticDepth = max(0, phoneticDepth - 1)
        case "t": textDepth = max(0, textDepth - 1)
        default: break
        }
    }

    override func characters(_ string: String, parser: XMLParser) {
        guard textDepth > 0, phoneticDepth == 0, current != nil, charge(string, parser: parser) else { return }
        current? += string
    }
}

/// `xl/workbook.xml`: the sheets in workbook order, with their relationship ids.
final class WorkbookHandler: OOXMLHandler {
    private(set) var sheets: [(name: String, relationship: String?)] = []

    override func elementStarted(_ elementName: String, namespace namespaceURI: String?, attributes: [String: String], parser: XMLParser) {
        guard elementName == "sheet" else { return }
        sheets.append((attributes["name"] ?? "Sheet \(sheets.count + 1)", attributes.namespaced("id")))
    }
}

/// A worksheet: one line per non-empty row, cells separated by tabs at their column (from
/// the `r` reference), values as Excel stores them (numbers and dates unformatted).
final class WorksheetHandler: OOXMLHandler {
    private(set) var output = ""
    private let sharedStrings: [String]
    private var row: [Int: String] = [:]
    private var nextColumn = 0
    private var cellType: String?
    private var cellColumn = 0
    private var value: String?
    private var inlineText: String?
    private var collectingValue = false
    private var textDepth = 0
    private var phoneticDepth = 0

    init(sharedStrings: [String], budget: Int, kind: String) {
        self.sharedStrings = sharedStrings
        super.init(budget: budget, kind: kind)
    }

    override func elementStarted(_ elementName: String, namespace namespaceURI: String?, attributes: [String: String], parser: XMLParser) {
        switch elementName {
        case "row":
            row = [:]
            nextColumn = 0
        case "c":
            cellType = attributes["t"]
            cellColumn = attributes["r"].flatMap(Self.column(of:)) ?? nextColumn
            nextColumn = cellColumn + 1
            value = nil
            inlineText = nil
        case "v": collectingValue = true; value = ""
        case "is": inlineText = ""
        case "rPh": phoneticDepth += 1
        case "t": textDepth += 1
        default: break
        }
    }

    override func elementEnded(_ elementName: String, namespace namespaceURI: String?, parser: XMLParser) {
        switch elementName {
        case "v": collectingValue = false
        case "rPh": phoneticDepth = max(0, phoneticDepth - 1)
        case "t": textDepth = max(0, textDepth - 1)
        case "c":
            if let text = cellText(), !text.isEmpty { row[cellColumn] = text }
        case "row":
            guard let last = row.keys.max() else { return }
            let line = (0...last).map { row[$0] ?? "" }.joined(separator: "\t")
            if charge(line, parser: parser) { output += line + "\n" }
        default: break
        }
    }

    override func characters(_ string: String, parser: XMLParser) {
        if collectingValue {
            value? += string
        } else if textDepth > 0, phoneticDepth == 0, inlineText != nil {
            inlineText? += string
        }
    }

    private func cellText() -> String? {
        let text: String? = switch cellType {
        case "s": value.flatMap { Int($0.trimmedOfWhitespace()) }.flatMap { sharedStrings.indices.contains($0) ? sharedStrings[$0] : nil }
        case "inlineStr": inlineText
        case "b": value.map { $0.trimmedOfWhitespace() == "1" ? "TRUE" : "FALSE" }
        default: value
        }
        // Cells become tab-separated fields of one line.
        return text.map { $0.split(whereSeparator: { $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ") }
    }

    /// The zero-based column of a cell reference such as `AB12`, at most Excel's 16,384.
    static func column(of reference: String) -> Int? {
        var column = 0
        var letters = 0
        for byte in reference.utf8 {
            let upper = byte & 0xDF
            guard (0x41...0x5A).contains(upper) else { break }
            column = column * 26 + Int(upper - 0x40)
            letters += 1
            guard letters <= 3 else { return nil }
        }
        guard letters > 0, column <= 16_384 else { return nil }
        return column - 1
    }
}
