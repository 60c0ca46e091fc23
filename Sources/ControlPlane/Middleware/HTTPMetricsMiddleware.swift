import Hummingbird
import Prometheus

/// Counts requests and records latencies by method, matched route and status, into the
/// application's own Prometheus registry (served at `/metrics`), and writes one access-log
/// line per request (its trace id comes from the request's logger).
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let registry: PrometheusCollectorRegistry

    private static let buckets: [Duration] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        .map { .nanoseconds(Int64($0 * 1e9)) }

    private static var requests: MetricNameDescriptor { MetricNameDescriptor(namespace: "http", metricName: "requests", unitName: "total", helpText: "HTTP requests by method, route and status") }
    private static var latency: MetricNameDescriptor { MetricNameDescriptor(namespace: "http", metricName: "request_duration", unitName: "seconds", helpText: "HTTP request latency by method and route") }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let route = context.endpointPath ?? "unmatched"
        let labels = [("method", request.method.rawValue), ("route", route), ("status", String(response.status.code))]
        registry.makeCounter(descriptor: Self.requests, labels: labels).increment()
        registry.makeDurationHistogram(descriptor: Self.latency,
                                       labels: [("method", request.method.rawValue), ("route", route)],
                                       buckets: Self.buckets)
            .record(elapsed)
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue), "path": .string(request.uri.path), "route": .string(route),
            "status": .stringConvertible(response.status.code),
            "duration_ms": .stringConvertible((Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)),
        ])
        return response
    }
}
