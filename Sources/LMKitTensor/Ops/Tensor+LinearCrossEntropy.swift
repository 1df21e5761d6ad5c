/// The output layer and the cross-entropy in one op, never holding every position's logits: a
/// decoder with Gemma's 262,144-token vocabulary writes 1 MB of float32 logits per position, and a
/// training batch of 1,000 positions would hold 1 GB of them, plus as much again for their gradient.
///
/// Rows of hidden states go through the output matrix a chunk at a time (128 rows: 128 MB of
/// logits for Gemma 3); each chunk's loss and, when
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
    public static func linearCrossEntropy(_ h: Tensor, _ w: OutputMatrix, targets: [Int], ignoreIndex: Int = -100, chunkRows: Int = 128)
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
        let dh: Tensor? = recording && h.requiresGradient ? Tensor.zeros([n, width]) : nil
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
                // In place, one row at a time: the loss from the log-sum-exp, then the logits become
                // d loss / d logits = (softmax − one-hot) / valid. One [rows, vocab] buffer in all.
                let g = logits.contiguous()
                let scale = Float(1 / Double(Swift.max(valid, 1)))
                var losses = [Double](repeating: 0, count: picked.count)
                g.withUnsafeMutableScalars(Float.self) { p in
                    let base = p.baseAddress!
                    losses.withUnsafeMutableBufferPointer { out in
                        RowKernels.forRows(picked.count, vocab) { r in
                            let row = base + r * vocab, target = targets[picked[r]]
                            let m = ReduceKernels.max(UnsafePointer(row), vocab)
                            let mv = SIMD8<Float>(repeating: m)
                            var acc = SIMD8<Float>()
                            var j = 0
                            while j + 8 <= vocab { acc += Float.exp8(load8(UnsafePointer(row + j)) - mv); j += 8 }
                            var sum = acc.sum()
                            while j < vocab { sum += Float.exp(row[j] - m); j += 1 }
                            let lse = m + Float.log(sum)
                            out[r] = Double(lse - row[target])
                            guard recording else { return }
                            let lv = SIMD8<Float>(repeating: lse), sv = SIMD8<Float>(repeating: scale)
                            j = 0
                            while j + 8 <= vocab { store8(Float.exp8(load8(UnsafePointer(row + j)) - lv) * sv, row + j); j += 8 }
                            while j < vocab { row[j] = Float.exp(row[j] - lse) * scale; j += 1 }
                            row[target] -= scale
                        }
                    }
                }
                total += losses.reduce(0, +)
                guard recording else { continue }
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
