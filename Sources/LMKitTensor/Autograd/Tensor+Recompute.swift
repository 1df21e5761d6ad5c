// Activation checkpointing ("gradient checkpointing", PyTorch's `torch.utils.checkpoint`): a block's
// forward pass runs without recording, so none of its intermediates stay in memory between forward
// and backward; backward runs the block again from its saved inputs, this time recording, and
// backpropagates through the fresh graph. Memory falls from every intermediate of every block to the
// blocks' inputs plus one block's intermediates, for one more forward pass of compute.

/// What backward needs to run a block again: its inputs (values only) and the block.
final class Recomputation {
    let inputs: [Tensor]
    let body: ([Tensor]) -> Tensor

    init(inputs: [Tensor], body: @escaping ([Tensor]) -> Tensor) {
        self.inputs = inputs
        self.body = body
    }

    /// Runs the block again with the needed inputs as fresh leaves, backpropagates `g` through it, and
    /// returns the leaves' gradients. Parameters the block uses get theirs accumulated on the way.
    func inputGradients(outputGradient g: Tensor, needs: [Bool]) -> [Tensor?] {
        let leaves = inputs.enumerated().map { i, x in i < needs.count && needs[i] ? x.requiringGradient() : x }
        let y = GradMode.$isEnabled.withValue(true) { body(leaves) }
        precondition(y.shape == g.shape, "a recomputed block gave \(y.shape), its first run \(g.shape)")
        if y.requiresGradient { y.backward(seed: g) }
        return leaves.enumerated().map { i, leaf in i < needs.count && needs[i] ? leaf.gradient : nil }
    }
}

extension Tensor {
    /// `body(inputs)`, keeping none of its intermediates for backward: backward calls `body` again.
    ///
    /// `body` must compute the same values both times: a random op inside it (dropout) has to draw
    /// the same numbers on the second call (``Module/checkpointed(_:_:)`` in LMKitNN sees to
    /// dropout). Gradients reach `inputs` and every parameter `body` uses, even when no input
    /// requires a gradient. Without recording (evaluation), this is `body(inputs)`.
    public static func recomputingInBackward(_ inputs: [Tensor], _ body: @escaping ([Tensor]) -> Tensor) -> Tensor {
        guard GradMode.isEnabled else { return body(inputs) }
        let values = inputs.map { $0.detached() }
        var output = GradMode.withoutGradient { body(values) }
        output.node = GradNode(
            rule: .recompute(Recomputation(inputs: values, body: body)), inputs: inputs.map(\.node), shape: output.shape,
            dtype: output.dtype)
        return output
    }
}
