#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Tokenizer

/// A read-only memory mapping of a `.safetensors` file.
///
/// Format: 8-byte little-endian header length N, N bytes of JSON mapping tensor names to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the end of the
/// header), then the raw little-endian tensor data. Pages are shared with the page cache
/// and loaded on first touch, so unused tensors (the pooler) cost no memory.
final class SafeTensorsFile: @unchecked Sendable {
    // @unchecked: the mapping is read-only and immutable for the object's lifetime.

    /// One tensor's entry in the header.
    struct Tensor: Sendable {
        var dtype: String
        var shape: [Int]
        /// Absolute byte range in the file.
        var bytes: Range<Int>
    }

    private struct HeaderEntry: Decodable {
        var dtype: String?
        var shape: [Int]?
        var data_offsets: [Int]?
    }

    let path: String
    let tensors: [String: Tensor]
    private let base: UnsafeRawPointer
    private let length: Int

    /// Maps the file at `path` and parses its header.
    /// - Throws: ``EmbeddingsError`` `.modelNotFound` if it cannot be opened,
    ///   `.invalidModel` if the header is malformed or points outside the file.
    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw EmbeddingsError(.modelNotFound, "cannot open \(path) (errno \(errno))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw EmbeddingsError(.modelNotFound, "cannot stat \(path) (errno \(errno))")
        }
        let length = Int(info.st_size)
        guard length >= 8 else {
            throw EmbeddingsError(.invalidModel, "\(path) is too short to be a safetensors file")
        }
        guard let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw EmbeddingsError(.modelNotFound, "cannot map \(path) (errno \(errno))")
        }
        let base = UnsafeRawPointer(mapped)
        do {
            self.tensors = try Self.parseHeader(base: base, length: length, path: path)
        } catch {
            munmap(mapped, length)
            throw error
        }
        self.path = path
        self.base = base
        self.length = length
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), length)
    }

    private static func parseHeader(base: UnsafeRawPointer, length: Int, path: String) throws -> [String: Tensor] {
        let headerLength = Int(UInt64(littleEndian: base.loadUnaligned(as: UInt64.self)))
        guard headerLength > 0, headerLength <= length - 8 else {
            throw EmbeddingsError(.invalidModel, "\(path): header length \(headerLength) exceeds the file")
        }
        let json = Data(bytes: base + 8, count: headerLength)
        let entries: [String: HeaderEntry]
        do {
            entries = try JSONDecoder().decode([String: HeaderEntry].self, from: json)
        } catch {
            throw EmbeddingsError(.invalidModel, "\(path): header is not valid safetensors JSON", underlying: error)
        }
        let dataStart = 8 + headerLength
        var tensors: [String: Tensor] = [:]
        for (name, entry) in entries where name != "__metadata__" {
            guard let dtype = entry.dtype, let shape = entry.shape, let offsets = entry.data_offsets,
                  offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1],
                  offsets[1] <= length - dataStart
            else {
                throw EmbeddingsError(.invalidModel, "\(path): tensor \(name) has a malformed header entry")
            }
            tensors[name] = Tensor(dtype: dtype, shape: shape, bytes: (dataStart + offsets[0])..<(dataStart + offsets[1]))
        }
        return tensors
    }

    /// The F32 data of tensor `name`, checked against `shape`.
    ///
    /// Returns a pointer into the mapping, valid while this object lives.
    /// - Throws: ``EmbeddingsError`` `.invalidModel` if the tensor is missing, not F32,
    ///   of another shape, or not 4-byte aligned (the safetensors library pads the header
    ///   so that it always is).
    func floats(_ name: String, shape: [Int]) throws -> UnsafeBufferPointer<Float> {
        guard let tensor = tensors[name] else {
            throw EmbeddingsError(.invalidModel, "\(path): tensor \(name) is missing")
        }
        guard tensor.dtype == "F32" else {
            throw EmbeddingsError(.invalidModel, "\(path): tensor \(name) is \(tensor.dtype), expected F32")
        }
        let count = shape.reduce(1, *)
        guard tensor.shape == shape, tensor.bytes.count == count * MemoryLayout<Float>.size else {
            throw EmbeddingsError(.invalidModel, "\(path): tensor \(name) has shape \(tensor.shape), expected \(shape)")
        }
        let start = base + tensor.bytes.lowerBound
        guard Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0 else {
            throw EmbeddingsError(.invalidModel, "\(path): tensor \(name) is not 4-byte aligned")
        }
        return UnsafeBufferPointer(start: start.assumingMemoryBound(to: Float.self), count: count)
    }
}
