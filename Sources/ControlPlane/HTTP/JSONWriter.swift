import Hummingbird
import NIOCore
import Foundation
import PersonaCore
import PersonaKit

/// Writes JSON straight into bytes. Foundation's `JSONEncoder` costs a fifth of a hot list
/// request (Codable boxing per field); types on hot paths write themselves with this instead.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = [false]

    init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    mutating func beginObject() { separator(); bytes.append(0x7B); needsComma.append(false) }
    mutating func endObject() { bytes.append(0x7D); needsComma.removeLast() }
    mutating func beginArray() { separator(); bytes.append(0x5B); needsComma.append(false) }
    mutating func endArray() { bytes.append(0x5D); needsComma.removeLast() }

    /// Writes `"name":` (the next value follows it without a comma).
    mutating func key(_ name: String) {
        separator()
        string(name, separate: false)
        bytes.append(0x3A)
        needsComma[needsComma.count - 1] = false
    }

    mutating func string(_ value: String) { string(value, separate: true) }
    mutating func null() { separator(); bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) }
    mutating func bool(_ value: Bool) { separator(); raw(value ? "true" : "false") }
    mutating func date(_ value: Date) {
        separator()
        bytes.append(0x22)
        JSONCoding.writeTimestamp(value, to: &bytes)
        bytes.append(0x22)
    }

    /// A value of any shape, through the general encoder (rarely on hot paths).
    mutating func json(_ value: JSONValue) {
        separator()
        rawJSON(value)
    }

    mutating func field(_ name: String, _ value: String?) {
        key(name)
        if let value { string(value) } else { null() }
    }

    mutating func field(_ name: String, _ value: Date?) {
        key(name)
        if let value { date(value) } else { null() }
    }

    mutating func field(_ name: String, _ value: Bool) {
        key(name)
        bool(value)
    }

    // MARK: fixed shapes
    //
    // Types on hot paths that know their own shape write it with these: constant text as is
    // (keys with their quotes, colon and comma), values without any separator bookkeeping.
    // They must leave the writer as a single value would: callers use them for a whole
    // object, begun with `raw("{...")` after ``separatorForValue()``.

    /// Writes the comma a value at this point needs, and marks the level as having a value.
    mutating func separatorForValue() { separator() }

    /// Appends constant JSON text.
    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func rawText(_ text: JSONText) {
        switch text {
        case .string(let value): string(value, separate: false)
        case .bytes(let utf8): stringBytes(utf8)
        case .buffer(let buffer): buffer.withUnsafeReadableBytes { stringBytes($0.assumingMemoryBound(to: UInt8.self)) }
        }
    }

    /// Appends bytes that are already JSON.
    mutating func rawBytes(_ json: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: json) }

    mutating func rawJSON(_ value: JSONValue) {
        bytes.append(contentsOf: (try? JSONCoding.encoder.encode(value)) ?? Data("null".utf8))
    }

    mutating func rawDate(_ value: Date) {
        bytes.append(0x22)
        JSONCoding.writeTimestamp(value, to: &bytes)
        bytes.append(0x22)
    }

    private mutating func separator() {
        if needsComma[needsComma.count - 1] { bytes.append(0x2C) }
        needsComma[needsComma.count - 1] = true
    }

    private mutating func string(_ value: String, separate: Bool) {
        if separate { separator() }
        var value = value
        value.withUTF8 { stringBytes($0) }
    }

    private mutating func stringBytes(_ utf8: UnsafeBufferPointer<UInt8>) {
        JSONEscaping.appendString(utf8, to: &bytes)
    }
}

/// A type that writes its own JSON (same output shape as its `Encodable` conformance).
protocol JSONWritable: Encodable, Sendable {
    func write(to writer: inout JSONWriter)
}

/// Text to write as a JSON string: a Swift string, or UTF-8 bytes that are only valid for the
/// call (a database row's column, written without making a string of it first).
enum JSONText {
    case string(String)
    case bytes(UnsafeBufferPointer<UInt8>)
    case buffer(ByteBuffer)
}

/// A JSON value written as given: one to encode, or JSON text already valid (a stored column).
enum JSONRawValue {
    case value(JSONValue)
    case text(UnsafeBufferPointer<UInt8>)
    case buffer(ByteBuffer)
}

/// The one place the persona object's JSON shape is written (same output as `PersonaDTO`'s
/// `Encodable` conformance: absent optionals are left out), from a DTO or straight from rows.
enum PersonaJSON {
    static func write(to writer: inout JSONWriter, id: JSONText, name: JSONText, description: JSONText?,
                      systemPrompt: JSONText?, theme: JSONRawValue?, ownerId: JSONText, isActive: Bool,
                      role: MemberRole, createdAt: Date, updatedAt: Date) {
        writer.separatorForValue()
        writer.raw("{\"id\":")
        writer.rawText(id)
        writer.raw(",\"name\":")
        writer.rawText(name)
        if let description {
            writer.raw(",\"description\":")
            writer.rawText(description)
        }
        if let systemPrompt {
            writer.raw(",\"systemPrompt\":")
            writer.rawText(systemPrompt)
        }
        switch theme {
        case .value(let value)?:
            writer.raw(",\"theme\":")
            writer.rawJSON(value)
        case .text(let text)?:
            writer.raw(",\"theme\":")
            writer.rawBytes(text)
        case .buffer(let buffer)?:
            writer.raw(",\"theme\":")
            buffer.withUnsafeReadableBytes { writer.rawBytes($0.assumingMemoryBound(to: UInt8.self)) }
        case nil:
            break
        }
        writer.raw(",\"ownerId\":")
        writer.rawText(ownerId)
        writer.raw(isActive ? ",\"isActive\":true,\"role\":" : ",\"isActive\":false,\"role\":")
        switch role {
        case .viewer: writer.raw("\"viewer\"")
        case .editor: writer.raw("\"editor\"")
        case .owner: writer.raw("\"owner\"")
        }
        writer.raw(",\"createdAt\":")
        writer.rawDate(createdAt)
        writer.raw(",\"updatedAt\":")
        writer.rawDate(updatedAt)
        writer.raw("}")
    }
}

extension PersonaDTO: JSONWritable {
    func write(to writer: inout JSONWriter) {
        PersonaJSON.write(to: &writer, id: .string(id), name: .string(name), description: description.map(JSONText.string),
                          systemPrompt: systemPrompt.map(JSONText.string), theme: theme.map(JSONRawValue.value),
                          ownerId: .string(ownerId), isActive: isActive, role: role, createdAt: createdAt, updatedAt: updatedAt)
    }
}

extension JSONResponse {
    /// `{"data": [...], "nextCursor": ...}` for self-writing elements, without `JSONEncoder`.
    static func data<T: JSONWritable>(_ values: [T], nextCursor: String?) -> Response {
        var writer = pageStart(capacity: 256 * max(1, values.count))
        for value in values { value.write(to: &writer) }
        return page(writer, nextCursor: nextCursor)
    }

    /// A writer with `{"data":[` written: the page's elements go next, then ``page(_:nextCursor:)``.
    static func pageStart(capacity: Int) -> JSONWriter {
        var writer = JSONWriter(capacity: capacity)
        writer.beginObject()
        writer.key("data")
        writer.beginArray()
        return writer
    }

    /// Closes a page begun with ``pageStart(capacity:)``.
    static func page(_ writer: JSONWriter, nextCursor: String?) -> Response {
        var writer = writer
        writer.endArray()
        if let nextCursor { writer.field("nextCursor", nextCursor) }
        writer.endObject()
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}
