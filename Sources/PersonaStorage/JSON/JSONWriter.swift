import NIOCore
import Foundation
import PersonaCore
import PersonaKit

/// Writes JSON straight into bytes. Foundation's `JSONEncoder` costs a fifth of a hot list
/// request (Codable boxing per field); types on hot paths write themselves with this instead.
package struct JSONWriter {
    package private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = [false]

    package init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    package mutating func beginObject() { separator(); bytes.append(0x7B); needsComma.append(false) }
    package mutating func endObject() { bytes.append(0x7D); needsComma.removeLast() }
    package mutating func beginArray() { separator(); bytes.append(0x5B); needsComma.append(false) }
    package mutating func endArray() { bytes.append(0x5D); needsComma.removeLast() }

    /// Writes `"name":` (the next value follows it without a comma).
    package mutating func key(_ name: String) {
        separator()
        string(name, separate: false)
        bytes.append(0x3A)
        needsComma[needsComma.count - 1] = false
    }

    package mutating func string(_ value: String) { string(value, separate: true) }
    package mutating func null() { separator(); bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) }
    package mutating func bool(_ value: Bool) { separator(); raw(value ? "true" : "false") }
    package mutating func date(_ value: Date) {
        separator()
        bytes.append(0x22)
        JSONCoding.writeTimestamp(value, to: &bytes)
        bytes.append(0x22)
    }

    /// A value of any shape, through the general encoder (rarely on hot paths).
    package mutating func json(_ value: JSONValue) {
        separator()
        rawJSON(value)
    }

    package mutating func field(_ name: String, _ value: String?) {
        key(name)
        if let value { string(value) } else { null() }
    }

    package mutating func field(_ name: String, _ value: Date?) {
        key(name)
        if let value { date(value) } else { null() }
    }

    package mutating func field(_ name: String, _ value: Bool) {
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
    package mutating func separatorForValue() { separator() }

    /// Appends constant JSON text.
    package mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    package mutating func rawText(_ text: JSONText) {
        switch text {
        case .string(let value): string(value, separate: false)
        case .bytes(let utf8): stringBytes(utf8)
        case .buffer(let buffer): buffer.withUnsafeReadableBytes { stringBytes($0.assumingMemoryBound(to: UInt8.self)) }
        }
    }

    /// Appends bytes that are already JSON.
    package mutating func rawBytes(_ json: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: json) }

    package mutating func rawJSON(_ value: JSONValue) {
        bytes.append(contentsOf: (try? JSONCoding.encoder.encode(value)) ?? Data("null".utf8))
    }

    package mutating func rawDate(_ value: Date) {
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
package protocol JSONWritable: Encodable, Sendable {
    func write(to writer: inout JSONWriter)
}

/// Text to write as a JSON string: a Swift string, or UTF-8 bytes that are only valid for the
/// call (a database row's column, written without making a string of it first).
package enum JSONText {
    case string(String)
    case bytes(UnsafeBufferPointer<UInt8>)
    case buffer(ByteBuffer)
}

/// A JSON value written as given: one to encode, or JSON text already valid (a stored column).
package enum JSONRawValue {
    case value(JSONValue)
    case text(UnsafeBufferPointer<UInt8>)
    case buffer(ByteBuffer)
}

/// The one place the persona object's JSON shape is written (same output as `PersonaDTO`'s
/// `Encodable` conformance: absent optionals are left out), from a DTO or straight from rows.
package enum PersonaJSON {
    package static func write(to writer: inout JSONWriter, id: JSONText, name: JSONText, description: JSONText?,
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
    package func write(to writer: inout JSONWriter) {
        PersonaJSON.write(to: &writer, id: .string(id), name: .string(name), description: description.map(JSONText.string),
                          systemPrompt: systemPrompt.map(JSONText.string), theme: theme.map(JSONRawValue.value),
                          ownerId: .string(ownerId), isActive: isActive, role: role, createdAt: createdAt, updatedAt: updatedAt)
    }
}
