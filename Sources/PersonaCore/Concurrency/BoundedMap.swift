/// Runs `body` for every element with at most `limit` running at once and returns the results
/// in completion order (`nil` results left out). For fan-outs to many peers (containers,
/// supervisors) that must not open a connection to each at the same moment.
public func boundedConcurrentMap<Element: Sendable, Result: Sendable>(
    _ elements: [Element], limit: Int, _ body: @escaping @Sendable (Element) async -> Result?
) async -> [Result] {
    await withTaskGroup(of: Result?.self) { group in
        var pending = elements[...]
        var results: [Result] = []
        for _ in 0..<min(max(1, limit), elements.count) {
            if let element = pending.popFirst() { group.addTask { await body(element) } }
        }
        for await result in group {
            if let result { results.append(result) }
            if let element = pending.popFirst() { group.addTask { await body(element) } }
        }
        return results
    }
}
