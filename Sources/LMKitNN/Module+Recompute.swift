// Activation checkpointing at the level of a model's blocks: ``Module/checkpointed(_:_:)`` runs a block
// through ``Tensor/recomputingInBackward(_:_:)`` and makes its dropout draw the same masks when
// backward runs it again, as PyTorch's checkpoint does by restoring the random state.
import LMKitTensor

extension Module {
    /// `body(x)` for this module, with its intermediates recomputed in backward instead of kept
    /// (PyTorch's `torch.utils.checkpoint`, transformers' `gradient_checkpointing`).
    ///
    /// Every ``Dropout`` in the module, and in the LoRA adapters of its linear layers, is rewound
    /// for the second run, so the masks are the ones the first run drew and the gradients are those
    /// of the pass that was actually computed. `body` may capture constants (masks, rotary tables)
    /// and parameters, but no other tensor that requires a gradient: those come in through `x`.
    public func checkpointed(_ x: Tensor, _ body: @escaping (Tensor) -> Tensor) -> Tensor {
        guard GradMode.isRecording else { return body(x) }
        let streams = activeDropouts
        let start = streams.map(\.generator)
        var firstRun = true
        return Tensor.recomputingInBackward([x]) { inputs in
            guard !firstRun, !streams.isEmpty else {
                firstRun = false
                return body(inputs[0])
            }
            let current = streams.map(\.generator)
            for (d, g) in zip(streams, start) { d.generator = g }
            defer { for (d, g) in zip(streams, current) { d.generator = g } }
            return body(inputs[0])
        }
    }

    /// The dropouts that draw masks now (training mode, rate above 0), here, below, and in adapters.
    var activeDropouts: [Dropout] {
        var out: [Dropout] = []
        var seen = Set<ObjectIdentifier>()
        var pending: [Module] = [self]
        while let m = pending.popLast() {
            guard seen.insert(ObjectIdentifier(m)).inserted else { continue }
            if let d = m as? Dropout, d.isTraining, d.probability > 0 { out.append(d) }
            if let layer = m as? any AdaptableLinear, let adapter = layer.adapter { pending.append(adapter) }
            pending.append(contentsOf: m.children.map(\.module))
        }
        return out
    }
}
