/// The output layer and the cross-entropy in one op, never holding every position's logits: a
/// decoder with Gemma's 262,144-token vocabulary writes 1 MB of float32 logits per position, and a
/// training batch of 1,000 positions would hold 1 GB of them, plus as much again for their gradient.
///
/// Rows of hidden states go through the output matrix a chunk at a time; each chunk's loss and, when
/// a gradient is being recorded, its gradients (hidden states, and the matrix when it trains) are
/// computed right away and the chunk's logits dropped (the approach of Liger Kernel's fused linear
/// cross-entropy). Backward then only scales the stored gradients by the loss's output gradient.
/// Rows whose target is ignored (prompts under completion-only loss, padding) never go through the
/// output matrix: their loss and gradient are zero.
/// The result equals `Tensor.linear(h, weight: w, bias: nil).crossEntropy(targets:)` up to rounding.
public enum OutputMatrix {
    /// A float matrix `[vocab, width]` (a parameter: its gradient is computed when it requires one).
    case float(Tensor)
    /// A matrix kept in its GGUF blocks (constant).
    case quantized(QuantizedMatrix)

    var rows: Int {
        switch self {
        case .float(let w): return w.shape[0]
        case .quantized(let m): return m.rows
        }
    }
}

extension Tensor {
    /// Mean cross-entropy of the logits `h · Wᵀ` (`h: [N, width]`, `W: [vocab, width]`) against
    /// `targets: [N]`, skipping `ignoreIndex`, computed `chunkRows` rows at a time (see ``OutputMatrix``).
    public static func linearCrossEntropy(_ h: Tensor, _ w: OutputMatrix, targets: [Int], ignoreIndex: Int = -100, chunkRows: Int = 256)
        -> Tensor
    {
        precondition(
            h.rank == 2 && h.dtype == .float32 && targets.count == h.shape[0],
            "linearCrossEntropy: h \(h.shape) \(h.dtype), \(targets.count) targets")
        let (n, width, vocab) = (h.shape[0], h.shape[1], w.rows)
        let scored = targets.indices.filter { targets[$0] != ignoreIndex }  // rows that count
        let valid = scored.count
        let weight: Tensor? = { if case .float(let t) = w { return t } else { return nil } }()
        let recording = GradMode.isRecording && (h.requiresGradient || weight?.requiresGradient == true)
        let hc = h.contiguous().detached()
        var dh: Tensor? = recording && h.requiresGradient ? Tensor.zeros([n, width]) : nil
        var dw: Tensor? = recording && weight?.requiresGradient == true ? Tensor.zeros([vocab, width]) : nil
        var total = 0.0
        GradMode.withoutGradient {
            for start in stride(from: 0, to: valid, by: chunkRows) {
                let end = min(start + chunkRows, valid)
                let picked = Array(scored[start..<end])
                let rows = hc.gatheringRows(Tensor(indices: picked, shape: [picked.count]))  // (rows, width)
                let logits: Tensor
                switch w {
                case .float(let t): logits = Tensor.linear(rows, weight: t.detached(), bias: nil)
                case .quantized(let m): logits = m.linear(rows)
                }
                let logProbabilities = logits.logSoftmax()  // (rows, vocab)
                guard recording else {
                    logProbabilities.withUnsafeScalars(Float.self) { p in
                        for (r, i) in picked.enumerated() { total -= Double(p[r * vocab + targets[i]]) }
                    }
                    continue
                }
                // d loss / d logits = (softmax − one-hot) / valid.
                let g = logProbabilities.exp().contiguous()
                let scale = Float(1 / Double(Swift.max(valid, 1)))
                logProbabilities.withUnsafeScalars(Float.self) { lp in
                    g.withUnsafeMutableScalars(Float.self) { p in
                        for (r, i) in picked.enumerated() {
                            let row = p.baseAddress! + r * vocab
                            total -= Double(lp[r * vocab + targets[i]])
                            row[targets[i]] -= 1
                            for j in 0..<vocab { row[j] *= scale }
                        }
                    }
                }
                if dh != nil {
                    let part: Tensor
                    switch w {
                    case .float(let t): part = g.matmul(t.detached())  // (rows, width)
                    case .quantized(let m): part = m.inputGradient(g)
                    }
                    dh?.withUnsafeMutableScalars(Float.self) { d in
                        part.withUnsafeScalars(Float.self) { q in
                            for (r, i) in picked.enumerated() {
                                (d.baseAddress! + i * width).update(from: q.baseAddress! + r * width, count: width)
                            }
                        }
                    }
                }
                if dw != nil { dw?.addInPlace(g.transposed().matmul(rows)) }  // (vocab, width)
            }
        }
        var loss = Tensor(shape: [], doubles: [valid > 0 ? total / Double(valid) : .nan])
        if recording {
            var inputs: [Tensor] = [h]
            var gradients: [Tensor?] = [dh]
            if let weight, weight.requiresGradient { inputs.append(weight); gradients.append(dw) }
            record(&loss, .precomputed(gradients: gradients), inputs: inputs)
        }
        return loss
    }
}
