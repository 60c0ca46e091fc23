#if canImport(FoundationXML)
import FoundationXML
#endif
import Foundation

/// Base of the SAX handlers that read Office Open XML parts: a handler records a failure
/// (such as the text limit) and aborts the parser, which cannot throw from a callback.
class OOXMLHandler: NSObject, XMLParserDelegate {
    var failure: ExtractionError?
    /// Unicode scalars the handler may still emit.
    var budget: Int
    let kind: String

    init(budget: Int, kind: String) {
        self.budget = budget
        self.kind = kind
    }

    /// Element nesting, to tell a complete document from one that stops early: on Linux,
    /// `XMLParser.parse()` reports success for truncated input.
    private(set) var depth = 0
    private(set) var sawRoot = false
    private(set) var sawError = false

    /// Whether the XML was well-formed to its end, as far as the parser told.
    var isComplete: Bool { sawRoot && depth == 0 && !sawError }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        depth += 1
        sawRoot = true
        elementStarted(elementName, namespace: namespaceURI, attributes: attributes, parser: parser)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        depth -= 1
        elementEnded(elementName, namespace: namespaceURI, parser: parser)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        characters(string, parser: parser)
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        sawError = true
    }

    // Hooks for the subclasses.
    func elementStarted(_ name: String, namespace: String?, attributes: [String: String], parser: XMLParser) {}
    func elementEnded(_ name: String, namespace: String?, parser: XMLParser) {}
    func characters(_ string: String, parser: XMLParser) {}

    /// Charges `text` to the budget; past it, records `too_large` and stops the parser.
    func charge(_ text: String, parser: XMLParser) -> Bool {
        budget -= text.unicodeScalars.count
        guard budget < 0 else { return true }
        if failure == nil {
            failure = ExtractionError(.tooLarge, "The text of the \(kind) is longer than the limit on extracted characters.")
            parser.abortParsing()
        }
        return false
    }
}

/// Parsing and relationships of the parts of an OOXML package.
enum OOXMLPackage {
    /// Parses `bytes` with `handler`. Namespaces are processed (handlers see local names);
    /// a part with a DTD is refused, since Office never writes one and entities are a risk.
    /// - Throws: the handler's failure, or `corrupt_file` for malformed XML.
    static func parse(_ bytes: [UInt8], part: String, kind: String, handler: OOXMLHandler) throws {
        if bytes.firstIndex(of: "<!DOCTYPE", from: 0) != nil {
            throw ExtractionError(.corruptFile, "The \(kind) is corrupt: \(part) declares a DTD, which Office files never do.")
        }
        let parser = XMLParser(data: Data(bytes))
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = handler
        let parsed = parser.parse()
        if let failure = handler.failure { throw failure }
        guard parsed, parser.parserError == nil, handler.isComplete else {
            throw ExtractionError(.corruptFile, "The \(kind) is corrupt: the XML of \(part) is malformed near line \(parser.lineNumber).")
        }
    }

    /// The internal relationships of `part` (`Id` -> package path of the target), read from
    /// its `_rels/…rels` file; empty when there is none.
    static func relationships(of part: String, in archive: inout ZipArchive) throws -> [String: String] {
        let folder = part.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let name = part.split(separator: "/").last.map(String.init) ?? part
        let relsPath = (folder.isEmpty ? "" : folder + "/") + "_rels/" + name + ".rels"
        guard archive.member(relsPath) != nil else { return [:] }
        let handler = RelationshipsHandler(budget: Int.max, kind: archive.kind)
        try parse(archive.read(relsPath), part: relsPath, kind: archive.kind, handler: handler)
        return handler.targets.mapValues { resolve($0, from: folder) }
    }

    /// A relationship target relative to `folder` (or absolute, with a leading `/`) as a
    /// package path without a leading slash, `..` resolved.
    static func resolve(_ target: String, from folder: String) -> String {
        var parts: [Substring] = target.hasPrefix("/") ? [] : folder.split(separator: "/")
        for component in target.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(component)
            }
        }
        return parts.joined(separator: "/")
    }
}

/// `<Relationship Id="rId1" Target="slides/slide1.xml"/>` entries, external ones left out.
final class RelationshipsHandler: OOXMLHandler {
    var targets: [String: String] = [:]

    override func elementStarted(_ elementName: String, namespace namespaceURI: String?, attributes: [String: String], parser: XMLParser) {
        guard elementName == "Relationship", attributes["TargetMode"] != "External",
              let id = attributes["Id"], let target = attributes["Target"]
        else { return }
        targets[id] = target
    }
}

extension [String: String] {
    /// The value of a namespaced attribute such as `r:id`, whatever its prefix.
    func namespaced(_ localName: String) -> String? {
        first { $0.key.hasSuffix(":" + localName) }?.value
    }
}

/// `ppt/presentation.xml`: the relationship ids of `sldIdLst`, in slide-show order.
final class SlideListHandler: OOXMLHandler {
    private(set) var relationshipIds: [String] = []

    override func elementStarted(_ elementName: String, namespace namespaceURI: String?, attributes: [String: String], parser: XMLParser) {
        if elementName == "sldId", let id = attributes.namespaced("id") { relationshipIds.append(id) }
    }
}
