import Hummingbird
import NIOCore
import PersonaStorage

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
