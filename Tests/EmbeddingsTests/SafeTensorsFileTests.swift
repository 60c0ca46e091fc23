#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing
@testable import Embeddings
@testable import Tokenizer

@Suite("safetensors reader")
struct SafeTensorsFileTests {
    /// Writes a safetensors file: 8-byte little-endian header length, JSON, data.
    private func write(header: String, data: [UInt8], headerLength: UInt64? = nil) throws -> String {
        let json = Array(header.utf8)
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (headerLength ?? UInt64(json.count)).littleEndian) { bytes += $0 }
        bytes += json + data
        let path = FileManager.default.temporaryDirectory.path + "/persona-st-\(UInt64.random(in: 0...UInt64.max)).safetensors"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }

    @Test("reads F32 tensors by name and shape")
    func readsTensors() throws {
        let header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}}"#
        let padded = header + String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
        let path = try write(header: padded, data: floatBytes([1, 2, 3, 4, 5]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try SafeTensorsFile(path: path)
        #expect(Array(try file.floats("a", shape: [2, 2])) == [1, 2, 3, 4])
        #expect(Array(try file.floats("b", shape: [1])) == [5])
        #expect(file.tensors.count == 2)
    }

    @Test("rejects a missing tensor, a wrong shape and a wrong dtype")
    func rejectsMismatches() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"i":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}"#
        let padded = header + String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
        let path = try write(header: padded, data: floatBytes([1, 2, 0, 0]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try SafeTensorsFile(path: path)
        for (name, shape) in [("missing", [2]), ("a", [3]), ("i", [1])] {
            let error = #expect(throws: EmbeddingsError.self) { try file.floats(name, shape: shape) }
            #expect(error?.code == .invalidModel)
        }
    }

    @Test("rejects a header longer than the file and offsets outside the data")
    func rejectsCorruptFiles() throws {
        let tooLong = try write(header: "{}", data: [], headerLength: 1 << 40)
        let outside = try write(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: [0, 0, 0, 0])
        let notJSON = try write(header: "not json", data: [])
        defer { [tooLong, outside, notJSON].forEach { try? FileManager.default.removeItem(atPath: $0) } }
        for path in [tooLong, outside, notJSON] {
            let error = #expect(throws: EmbeddingsError.self) { try SafeTensorsFile(path: path) }
            #expect(error?.code == .invalidModel, "\(path)")
        }
    }

    @Test("a missing file fails with model_not_found")
    func missingFile() {
        let error = #expect(throws: EmbeddingsError.self) { try SafeTensorsFile(path: "/nonexistent/model.safetensors") }
        #expect(error?.code == .modelNotFound)
    }
}
