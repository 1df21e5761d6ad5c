import Synchronization

/// One entry of the tape: how a tensor was computed, what backward needs, and its gradient.
///
/// Nodes are numbered in creation order, which is a topological order of the graph: running the
/// reachable nodes from the highest number down is replaying the tape backwards.
final class GradNode: @unchecked Sendable {
    private static let counter = Atomic<Int>(0)

    /// Position on the tape.
    let id: Int
    /// The op and the values its gradient rule needs (see `GradientRules.swift`).
    var rule: GradRule
    /// Nodes of the differentiable inputs, in the order the rule returns their gradients.
    var inputs: [GradNode?]
    /// Shape and type of the tensor this node made (gradients have the same).
    let shape: [Int]
    let dtype: DType
    /// Accumulated gradient of the final output with respect to this tensor.
    var grad: Tensor?

    init(rule: GradRule, inputs: [GradNode?], shape: [Int], dtype: DType) {
        id = GradNode.counter.wrappingAdd(1, ordering: .relaxed).newValue
        self.rule = rule
        self.inputs = inputs
        self.shape = shape
        self.dtype = dtype
    }

    /// Frees the chain of inputs iteratively. The default would release node after node recursively,
    /// and a long graph dropped without `backward()` (an unrolled recurrent network, say) would
    /// overflow the stack.
    deinit {
        var pending = inputs.compactMap { $0 }
        inputs = []
        while var node = pending.popLast() {
            if isKnownUniquelyReferenced(&node) {
                pending.append(contentsOf: node.inputs.compactMap { $0 })
                node.inputs = []
            }
        }
    }

    var isLeaf: Bool {
        if case .leaf = rule { return true }
        return false
    }

    /// Adds `g` to the accumulated gradient, in place when this node owns the only reference.
    func accumulate(_ g: Tensor) {
        precondition(g.shape == shape, "gradient shape \(g.shape) does not match tensor shape \(shape) (\(rule.name))")
        if var existing = grad {
            grad = nil
            existing.addInPlace(g)
            grad = existing
        } else {
            grad = g.dtype == dtype ? g : g.converted(to: dtype)
        }
    }
}

/// Whether operations record themselves for backward.
public enum GradMode {
    @TaskLocal static var isEnabled = true

    /// Runs `body` without recording gradients (evaluation, optimizer updates, generation).
    public static func withoutGradient<R>(_ body: () throws -> R) rethrows -> R {
        try $isEnabled.withValue(false) { try body() }
    }

    /// Whether operations are being recorded now.
    public static var isRecording: Bool { isEnabled }
}

extension Tensor {
    /// A leaf that collects gradients: parameters and inputs you differentiate with respect to.
    public func requiringGradient() -> Tensor {
        var t = self
        t.node = GradNode(rule: .leaf, inputs: [], shape: shape, dtype: dtype)
        return t
    }

    /// The same values, cut from the graph: no gradient flows back through the result.
    public func detached() -> Tensor {
        var t = self
        t.node = nil
        return t
    }

    /// Whether gradients flow into or through this tensor.
    public var requiresGradient: Bool { node != nil }

    /// The accumulated gradient of a leaf (or of any recorded tensor, until backward frees it).
    public var gradient: Tensor? { node?.grad }

    /// Forgets the accumulated gradient of this leaf.
    public func zeroGradient() { node?.grad = nil }

    /// Sets `output.node` when gradient recording is on and some input takes part in the graph.
    @inline(__always)
    static func record(_ output: inout Tensor, _ rule: @autoclosure () -> GradRule, inputs: [Tensor]) {
        guard GradMode.isEnabled, inputs.contains(where: { $0.node != nil }) else { return }
        output.node = GradNode(rule: rule(), inputs: inputs.map(\.node), shape: output.shape, dtype: output.dtype)
    }
}

extension Tensor {
    /// Multiplies the accumulated gradient of this leaf by `factor` (gradient clipping).
    public func scaleGradient(by factor: Double) {
        guard let node, let g = node.grad else { return }
        node.grad = GradMode.withoutGradient { (g * factor).detached() }
    }

    /// Calls `body` with the tensor's elements as a mutable buffer, for in-place updates of a tensor
    /// this code owns (optimizer steps on parameters). Every tensor sharing the storage sees the change.
    public func withUnsafeMutableScalars<S: TensorScalar, R>(_: S.Type, _ body: (UnsafeMutableBufferPointer<S>) throws -> R) rethrows -> R {
        precondition(
            isContiguous && dtype == S.dtype,
            "withUnsafeMutableScalars(\(S.self)) needs a contiguous \(S.dtype) tensor, got \(dtype) \(shape)")
        return try body(UnsafeMutableBufferPointer(start: pointer(S.self), count: count))
    }

    /// Calls `body` with the tensor's elements (made contiguous) as a read-only buffer.
    public func withUnsafeScalars<S: TensorScalar, R>(_: S.Type, _ body: (UnsafeBufferPointer<S>) throws -> R) rethrows -> R {
        let t = dtype == S.dtype ? contiguous() : converted(to: S.dtype)
        return try withExtendedLifetime(t) { try body(UnsafeBufferPointer(start: t.pointer(S.self), count: t.count)) }
    }
}
