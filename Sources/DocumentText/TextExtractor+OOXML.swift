extension TextExtractor {
    /// docx: `word/document.xml`. pptx: the slides in presentation order, a blank line
    /// between slides. xlsx: each worksheet in workbook order, its name on a line of its own
    /// and then its rows, a blank line between sheets (empty sheets are left out of the text
    /// but counted).
    func extractOOXML(_ format: DocumentFormat, from archive: inout ZipArchive) throws -> ExtractedText {
        let budget = configuration.maxTextCharacters
        let result: ExtractedText
        switch format {
        case .docx:
            let handler = FlowTextHandler(dialect: .wordprocessing, budget: budget, kind: archive.kind)
            try OOXMLPackage.parse(archive.read("word/document.xml"), part: "word/document.xml", kind: archive.kind, handler: handler)
            result = ExtractedText(text: handler.output, format: .docx)
        case .pptx:
            var slides: [String] = []
            var remaining = budget
            let parts = try slideParts(in: &archive)
            for part in parts {
                let handler = FlowTextHandler(dialect: .drawing, budget: remaining, kind: archive.kind)
                try OOXMLPackage.parse(archive.read(part), part: part, kind: archive.kind, handler: handler)
                remaining = handler.budget
                slides.append(handler.output)
            }
            result = ExtractedText(text: slides.joined(separator: "\n\n"), format: .pptx, pageCount: parts.count)
        case .xlsx:
            let (text, sheets) = try workbookText(in: &archive, budget: budget)
            result = ExtractedText(text: text, format: .xlsx, sheetCount: sheets)
        default:
            throw ExtractionError(.unsupportedType, "Unsupported file type. \(Self.supportedTypes)")
        }
        var tidied = result
        tidied.text = try checkLength(TextTidy.tidy(result.text), format: format)
        return tidied
    }

    /// Slide parts in the order of `ppt/presentation.xml`'s slide list; without one, the
    /// `ppt/slides/slideN.xml` members by N.
    private func slideParts(in archive: inout ZipArchive) throws -> [String] {
        let presentation = "ppt/presentation.xml"
        if archive.member(presentation) != nil {
            let relationships = try OOXMLPackage.relationships(of: presentation, in: &archive)
            let handler = SlideListHandler(budget: Int.max, kind: archive.kind)
            try OOXMLPackage.parse(archive.read(presentation), part: presentation, kind: archive.kind, handler: handler)
            let parts = handler.relationshipIds.compactMap { relationships[$0] }.filter { archive.member($0) != nil }
            if !parts.isEmpty { return parts }
        }
        let numbered: [(Int, String)] = archive.members.compactMap { member in
            let path = member.path.lowercased()
            guard path.hasPrefix("ppt/slides/slide"), path.hasSuffix(".xml"),
                  let number = Int(path.dropFirst("ppt/slides/slide".count).dropLast(".xml".count))
            else { return nil }
            return (number, member.path)
        }
        return numbered.sorted { $0.0 < $1.0 }.map(\.1)
    }

    private func workbookText(in archive: inout ZipArchive, budget: Int) throws -> (String, Int) {
        let workbook = "xl/workbook.xml"
        let relationships = try OOXMLPackage.relationships(of: workbook, in: &archive)
        let sheetsHandler = WorkbookHandler(budget: Int.max, kind: archive.kind)
        try OOXMLPackage.parse(archive.read(workbook), part: workbook, kind: archive.kind, handler: sheetsHandler)
        var sharedStrings: [String] = []
        let stringsPart = relationships.values.first { $0.lowercased().hasSuffix("sharedstrings.xml") } ?? "xl/sharedStrings.xml"
        if archive.member(stringsPart) != nil {
            let handler = SharedStringsHandler(budget: budget, kind: archive.kind)
            try OOXMLPackage.parse(archive.read(stringsPart), part: stringsPart, kind: archive.kind, handler: handler)
            sharedStrings = handler.strings
        }
        var sections: [String] = []
        var worksheets = 0
        var remaining = budget
        for (position, sheet) in sheetsHandler.sheets.enumerated() {
            let fallback = "xl/worksheets/sheet\(position + 1).xml"
            let part = sheet.relationship.flatMap { relationships[$0] } ?? fallback
            // Chart sheets and dialog sheets have no cells.
            guard part.lowercased().contains("worksheets/"), archive.member(part) != nil else { continue }
            let handler = WorksheetHandler(sharedStrings: sharedStrings, budget: remaining, kind: archive.kind)
            try OOXMLPackage.parse(archive.read(part), part: part, kind: archive.kind, handler: handler)
            remaining = handler.budget
            worksheets += 1
            // An empty sheet adds nothing but its name: leave it out of the text.
            if !handler.output.isEmpty { sections.append(sheet.name + "\n" + handler.output) }
        }
        return (sections.joined(separator: "\n\n"), worksheets)
    }
}
