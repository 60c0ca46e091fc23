import Hummingbird
import HTTPTypes
import Logging
import PersonaKit

extension HTTPField.Name {
    static let traceparent = HTTPField.Name("traceparent")!
    static let tracestate = HTTPField.Name("tracestate")!
    static let xTraceId = HTTPField.Name("X-Trace-Id")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}

/// Continues the caller's W3C trace (or starts one), puts the trace id on the request's
/// logger, and answers with `traceparent` and `X-Trace-Id` so clients can quote it.
struct TraceMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.traceparent],
           let parent = TraceContext(traceparent: header, traceState: request.headers[.tracestate]) {
            context.trace = parent.child()
        } else {
            context.trace = .newRoot()
        }
        context.logger[metadataKey: "trace_id"] = .string(context.trace.traceId)
        context.logger[metadataKey: "span_id"] = .string(context.trace.spanId)
        var response = try await next(request, context)
        response.headers[.traceparent] = context.trace.traceparent
        response.headers[.xTraceId] = context.trace.traceId
        if let state = context.trace.traceState { response.headers[.tracestate] = state }
        return response
    }
}
