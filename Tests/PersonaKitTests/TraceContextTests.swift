import PersonaKit
import Testing

@Suite("W3C trace context and identifiers")
struct TraceContextTests {
    @Test("a valid traceparent parses and a child keeps the trace id")
    func parseAndChild() throws {
        let parent = try #require(TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", traceState: "a=b"))
        #expect(parent.traceId == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(parent.spanId == "00f067aa0ba902b7")
        let child = parent.child()
        #expect(child.traceId == parent.traceId)
        #expect(child.parentSpanId == parent.spanId)
        #expect(child.spanId.count == 16 && child.spanId != parent.spanId)
        #expect(child.traceparent.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-"))
        #expect(child.traceparent.hasSuffix("-01"))
        #expect(child.traceState == "a=b")
    }

    @Test("malformed traceparents are refused", arguments: [
        "", "garbage", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
    ])
    func malformed(header: String) {
        #expect(TraceContext(traceparent: header) == nil)
    }

    @Test("new roots are 32/16 lower-case hex")
    func newRoot() {
        let root = TraceContext.newRoot()
        #expect(root.traceId.count == 32 && root.spanId.count == 16)
        #expect(root.traceId.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(TraceContext(traceparent: root.traceparent)?.traceId == root.traceId)
    }

    @Test("UUIDv7 identifiers are valid, version 7 and strictly increasing")
    func identifiers() {
        let ids = (0..<5000).map { _ in Identifier.make() }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { Identifier.isValid($0) && Array($0)[14] == "7" })
        #expect(!Identifier.isValid("not-a-uuid"))
    }
}
