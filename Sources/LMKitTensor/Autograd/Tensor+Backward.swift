extension Tensor {
    /// Computes gradients of this tensor with respect to every leaf it depends on.
    ///
    /// `seed` is the gradient of some final objective with respect to this tensor; it defaults to 1,
    /// which needs a one-element tensor (a loss). Leaf gradients accumulate across calls (gradient
    /// accumulation) until ``zeroGradient()``; every intermediate gradient and saved value is freed as
    /// soon as its node has been processed.
    public func backward(seed: Tensor? = nil) {
        guard let root = node else {
            preconditionFailure("backward() on a tensor that does not require gradients (shape \(shape))")
        }
        let start = seed ?? Tensor.ones(shape, dtype: dtype)
        precondition(start.shape == shape, "backward seed shape \(start.shape) differs from \(shape)")
        GradMode.withoutGradient {
            // Collect the reachable nodes; their ids give the tape order.
            var seen = Set<ObjectIdentifier>()
            var stack = [root]
            var nodes: [GradNode] = []
            while let n = stack.popLast() {
                guard seen.insert(ObjectIdentifier(n)).inserted else { continue }
                nodes.append(n)
                for case let input? in n.inputs { stack.append(input) }
            }
            nodes.sort { $0.id > $1.id }
            root.accumulate(start)
            for n in nodes where !n.isLeaf {
                defer {
                    // Free what backward no longer needs: intermediates' gradients and saved tensors.
                    n.grad = nil
                    n.inputs = []
                    n.rule = .released
                }
                guard let g = n.grad else { continue }
                let grads = GradientRules.inputGradients(of: n.rule, outputGradient: g, needs: n.inputs.map { $0 != nil })
                for (input, grad) in zip(n.inputs, grads) {
                    if let input, let grad { input.accumulate(grad) }
                }
            }
        }
    }
}
