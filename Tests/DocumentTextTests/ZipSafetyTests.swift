import Testing
@testable import DocumentText
import TestTraits

/// Zip bombs and broken archives. The limits are lowered so that small bombs suffice.
@Suite("ZIP safety", .blocking)
struct ZipSafetyTests {
    /// A docx whose document.xml is `size` bytes of one repeated paragraph (compresses ~1000:1).
    static func bomb(size: Int) throws -> [UInt8] {
        let paragraph = Array(OOXMLFixtures.paragraph("zero zero zero zero").utf8)
        let head = Array("<w:document xmlns:w=\"\(OOXMLFixtures.wordNamespace)\"><w:body>".utf8)
        let tail = Array("</w:body></w:document>".utf8)
        var document = head
        document.reserveCapacity(size + paragraph.count)
        while document.count + paragraph.count + tail.count <= size { document += paragraph }
        document += tail
        return try Fixtures.zip([("word/document.xml", document)])
    }

    /// Overwrites a little-endian UInt32 in `bytes`.
    static func patch(_ bytes: inout [UInt8], at offset: Int, _ value: UInt32) {
        for byte in 0..<4 { bytes[offset + byte] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(byte))) }
    }

    /// The offset of the first central-directory record (signature PK\1\2).
    static func centralDirectory(_ bytes: [UInt8]) -> Int? {
        (0..<(bytes.count - 4)).first { bytes[$0] == 0x50 && bytes[$0 + 1] == 0x4B && bytes[$0 + 2] == 1 && bytes[$0 + 3] == 2 }
    }

    @Test("a member whose declared size passes the per-member limit is refused before inflating")
    func declaredEntrySize() throws {
        let bytes = try Self.bomb(size: 3 << 20)
        let error = Fixtures.extractionError {
            try Fixtures.extract(bytes, name: "bomb.docx", configuration: .init(maxEntryBytes: 1 << 20, maxCompressionRatio: 10_000))
        }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("Word document") == true)
    }

    @Test("a member compressed more than 100:1 is refused as a zip bomb")
    func compressionRatio() throws {
        let bytes = try Self.bomb(size: 3 << 20)
        #expect(bytes.count < 30_000, "the fixture should compress far beyond 100:1")
        let error = Fixtures.extractionError { try Fixtures.extract(bytes, name: "bomb.docx") }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("zip bomb") == true)
    }

    @Test("a member that inflates beyond a forged small declared size is stopped while inflating")
    func forgedHeader() throws {
        var bytes = try Self.bomb(size: 3 << 20)
        let directory = try #require(Self.centralDirectory(bytes))
        Self.patch(&bytes, at: directory + 24, 4096)  // uncompressed size in the central directory
        Self.patch(&bytes, at: 22, 4096)              // and in the local header
        let error = Fixtures.extractionError { try Fixtures.extract(bytes, name: "forged.docx") }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("declared size") == true)
    }

    @Test("the total inflated size of all parts read is capped")
    func totalSize() throws {
        let slide = (0..<2_000).map { "<a:p><a:r><a:t>Paragraph \($0) of a long slide.</a:t></a:r></a:p>" }.joined()
        let bytes = try OOXMLFixtures.pptx(slides: [[slide], [slide], [slide]])
        let error = Fixtures.extractionError {
            try Fixtures.extract(bytes, name: "deck.pptx", configuration: .init(maxTotalUncompressedBytes: 250_000))
        }
        #expect(error?.code == .tooLarge)
        let result = try Fixtures.extract(bytes, name: "deck.pptx", configuration: .init(maxTotalUncompressedBytes: 2_000_000))
        #expect(result.pageCount == 3)
    }

    @Test("an archive listing more members than allowed is refused")
    func entryCount() throws {
        let members = (0..<50).map { ("word/media/item\($0).txt", "x") } + [("word/document.xml", "<w:document/>")]
        let error = Fixtures.extractionError {
            try Fixtures.extract(Fixtures.zip(members), name: "many.docx", configuration: .init(maxArchiveEntries: 20))
        }
        #expect(error?.code == .tooLarge)
    }

    @Test("a deflate stream cut short is a corrupt file, not a hang")
    func truncatedDeflate() throws {
        var bytes = try OOXMLFixtures.docx(body: (0..<3_000).map { OOXMLFixtures.paragraph("Sentence number \($0) of many.") }.joined())
        var offset = try #require(Self.centralDirectory(bytes))
        // Halve the compressed size of word/document.xml in the central directory.
        while !String(decoding: bytes[(offset + 46)..<(offset + 46 + 17)], as: UTF8.self).hasPrefix("word/document.xml") {
            let record = 46 + Int(bytes[offset + 28]) + Int(bytes[offset + 29]) << 8 + Int(bytes[offset + 30]) + Int(bytes[offset + 31]) << 8
            offset += record
        }
        let compressed = UInt32(bytes[offset + 20]) | UInt32(bytes[offset + 21]) << 8 | UInt32(bytes[offset + 22]) << 16
        Self.patch(&bytes, at: offset + 20, compressed / 2)
        let error = Fixtures.extractionError { try Fixtures.extract(bytes, name: "cut.docx") }
        #expect(error?.code == .corruptFile)
        #expect(error?.message.contains("ends early") == true)
    }

    @Test("a file claiming to be a docx whose ZIP structure is garbage is a corrupt file")
    func garbageZip() throws {
        let bytes: [UInt8] = [0x50, 0x4B, 0x03, 0x04] + (0..<2_000).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }
        let error = Fixtures.extractionError { try Fixtures.extract(bytes, name: "report.docx") }
        #expect(error?.code == .corruptFile)
        #expect(error?.message.contains("Word document") == true)
    }

    @Test("a docx that is not a ZIP archive at all is a corrupt file")
    func notZip() throws {
        let error = Fixtures.extractionError { try Fixtures.extract("just some text", name: "report.docx") }
        #expect(error?.code == .corruptFile)
    }

    @Test("a checksum mismatch is a corrupt file")
    func checksum() throws {
        var bytes = try OOXMLFixtures.docx(body: OOXMLFixtures.paragraph("Checked"))
        var offset = try #require(Self.centralDirectory(bytes))
        while !String(decoding: bytes[(offset + 46)..<(offset + 46 + 17)], as: UTF8.self).hasPrefix("word/document.xml") {
            offset += 46 + Int(bytes[offset + 28]) + Int(bytes[offset + 29]) << 8 + Int(bytes[offset + 30]) + Int(bytes[offset + 31]) << 8
        }
        bytes[offset + 16] ^= 0xFF
        let error = Fixtures.extractionError { try Fixtures.extract(bytes, name: "crc.docx") }
        #expect(error?.code == .corruptFile)
        #expect(error?.message.contains("checksum") == true)
    }
}
