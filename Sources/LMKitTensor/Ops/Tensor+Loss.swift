/// Losses.
extension Tensor {
    /// Mean cross-entropy of `logits: […, classes]` against integer `targets: […]`, skipping targets
    /// equal to `ignoreIndex` (as PyTorch's `F.cross_entropy`). Log-softmax is fused in: only the
    /// per-row log-sum-exp is kept for backward, never a second `[rows, classes]` tensor.
    public func crossEntropy(targets: Tensor, ignoreIndex: Int = -100) -> Tensor {
        precondition(dtype.isComputable && rank >= 1, "crossEntropy of a \(dtype) tensor of shape \(shape)")
        let (x, rows, n) = rowsView
        precondition(targets.count == rows, "crossEntropy: \(targets.count) targets for \(rows) rows of logits \(shape)")
        let t = targets.indexValues
        for (i, v) in t.enumerated() where v != ignoreIndex {
            precondition(v >= 0 && v < n, "crossEntropy: target \(v) at position \(i) is outside 0..<\(n)")
        }
        let lse = Tensor.empty([rows], dtype: dtype)
        var out = Tensor.empty([], dtype: dtype)
        let valid = t.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
        func run<S: TensorScalar>(_: S.Type) {
            let xp = x.pointer(S.self), lp = lse.pointer(S.self)
            let losses = UnsafeMutablePointer<S>.allocate(capacity: Swift.max(rows, 1))
            defer { losses.deallocate() }
            RowKernels.forRows(rows, n) { row in
                let xr = xp + row * n
                let m = ReduceKernels.max(xr, n)
                var total: S = 0
                var i = 0
                let mv = SIMD8<S>(repeating: m)
                var acc = SIMD8<S>()
                while i + 8 <= n { acc += S.exp8(load8(xr + i) - mv); i += 8 }
                total = acc.sum()
                while i < n { total += S.exp(xr[i] - m); i += 1 }
                let l = m + S.log(total)
                lp[row] = l
                losses[row] = t[row] == ignoreIndex ? 0 : l - xr[t[row]]
            }
            var sum: S = 0
            for r in 0..<rows { sum += losses[r] }
            // PyTorch returns NaN when every target is ignored (0/0); so do we.
            out.pointer(S.self).pointee = sum / S(valid)
        }
        if dtype == .float32 { run(Float.self) } else { run(Double.self) }
        Tensor.record(
            &out, .crossEntropy(logits: x.detached(), lse: lse, targets: t, ignoreIndex: ignoreIndex, valid: valid), inputs: [self])
        return out
    }

    /// Mean squared error against `target` (same shape).
    public func meanSquaredError(_ target: Tensor) -> Tensor {
        (self - target).squared().mean()
    }
}
