/// A model file or configuration that cannot be used, with the reason.
public struct ModelError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, usually prefixed with the file or config it concerns (and naming the key at fault).
    public let description: String
    /// An error whose message is `description`.
    public init(_ description: String) { self.description = description }
}
