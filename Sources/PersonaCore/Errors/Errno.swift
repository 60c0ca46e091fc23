#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A raw `errno`, printed with its name: the underlying cause of a failed system call.
public struct Errno: Error, Sendable, Hashable, CustomStringConvertible {
    public var value: Int32
    public init(_ value: Int32) { self.value = value }
    public var description: String { "errno \(value) (\(String(cString: strerror(value))))" }
}
