/// A W3C trace context (`traceparent` + `tracestate`): 32-hex trace id, 16-hex span id.
public struct TraceContext: Sendable, Hashable, CustomStringConvertible {
    /// 32 lower-case hex characters, never all zeros.
    public let traceId: String
    /// 16 lower-case hex characters of the current span, never all zeros.
    public let spanId: String
    /// The span this one is a child of, when the context came from a caller.
    public let parentSpanId: String?
    /// Trace flags (bit 0: sampled).
    public let flags: UInt8
    /// The opaque `tracestate` header, passed through unchanged.
    public let traceState: String?

    /// Starts a brand-new trace with a fresh root span.
    public static func newRoot(sampled: Bool = true) -> TraceContext {
        TraceContext(traceId: randomHex(bytes: 16), spanId: randomHex(bytes: 8), parentSpanId: nil,
                     flags: sampled ? 1 : 0, traceState: nil)
    }

    /// Parses a `traceparent` header (version 00 or a later version's first four fields).
    /// Returns `nil` for anything malformed, so the caller starts a new trace instead.
    public init?(traceparent: String, traceState: String? = nil) {
        let parts = traceparent.trimmingWhitespace().split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4,
              parts[0].count == 2, Self.isHex(parts[0]), parts[0] != "ff",
              parts[1].count == 32, Self.isHex(parts[1]), !parts[1].allSatisfy({ $0 == "0" }),
              parts[2].count == 16, Self.isHex(parts[2]), !parts[2].allSatisfy({ $0 == "0" }),
              parts[3].count == 2, Self.isHex(parts[3]), let flags = UInt8(parts[3], radix: 16)
        else { return nil }
        if parts[0] == "00" && parts.count != 4 { return nil }
        self.init(traceId: parts[1].lowercased(), spanId: parts[2].lowercased(), parentSpanId: nil,
                  flags: flags, traceState: traceState)
    }

    public init(traceId: String, spanId: String, parentSpanId: String?, flags: UInt8, traceState: String?) {
        self.traceId = traceId
        self.spanId = spanId
        self.parentSpanId = parentSpanId
        self.flags = flags
        self.traceState = traceState
    }

    /// A child span in the same trace: the new span's parent is this span.
    public func child() -> TraceContext {
        TraceContext(traceId: traceId, spanId: Self.randomHex(bytes: 8), parentSpanId: spanId,
                     flags: flags, traceState: traceState)
    }

    /// The `traceparent` header value for this span.
    public var traceparent: String {
        let hexFlags = String(flags, radix: 16)
        return "00-\(traceId)-\(spanId)-\(hexFlags.count == 1 ? "0" + hexFlags : hexFlags)"
    }

    public var description: String { traceparent }

    /// `bytes` random bytes as lower-case hex, never all zeros.
    public static func randomHex(bytes: Int) -> String {
        // Eight random bytes per generator call (one `getrandom` each), hex-encoded in place:
        // this runs for every request, so no per-byte calls and no intermediate strings.
        var generator = SystemRandomNumberGenerator()
        let digits: StaticString = "0123456789abcdef"
        while true {
            var allZero = true
            let text = String(unsafeUninitializedCapacity: bytes * 2) { buffer in
                digits.withUTF8Buffer { hex in
                    var index = 0
                    var word: UInt64 = 0
                    for position in 0..<bytes {
                        if position % 8 == 0 { word = generator.next() }
                        let byte = UInt8(truncatingIfNeeded: word >> UInt64((position % 8) * 8))
                        if byte != 0 { allZero = false }
                        buffer[index] = hex[Int(byte >> 4)]
                        buffer[index + 1] = hex[Int(byte & 0x0f)]
                        index += 2
                    }
                }
                return bytes * 2
            }
            if !allZero { return text }
        }
    }


    private static func isHex(_ s: Substring) -> Bool {
        s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) }
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        let scalars = self[...]
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end, scalars[start].isWhitespace { start = scalars.index(after: start) }
        while end > start, scalars[scalars.index(before: end)].isWhitespace { end = scalars.index(before: end) }
        return Substring(scalars[start..<end])
    }
}
