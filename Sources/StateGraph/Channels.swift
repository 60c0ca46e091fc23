/// Reducer building blocks for ``GraphState`` channels.
public enum Reducers {
    /// Appends `update` to `value` (LangGraph's `x.concat(y)`).
    public static func append<T>(_ value: inout [T], _ update: [T]?) {
        if let update { value.append(contentsOf: update) }
    }

    /// Replaces `value` when an update is given (`y ?? x`).
    public static func replace<T>(_ value: inout T, _ update: T?) {
        if let update { value = update }
    }

    /// Adds a numeric delta.
    public static func add<T: AdditiveArithmetic>(_ value: inout T, _ update: T?) {
        if let update { value += update }
    }
}
