/// Fused normalization and softmax ops over the last axis, each with a hand-written backward.
extension Tensor {
    /// Rows of the last axis as a contiguous `[rows, n]` buffer.
    var rowsView: (tensor: Tensor, rows: Int, n: Int) {
        let n = rank == 0 ? 1 : shape[rank - 1]
        return (contiguous(), count / Swift.max(n, 1), n)
    }

    /// Softmax over the last axis.
    public func softmax() -> Tensor {
        precondition(dtype.isComputable, "softmax of a \(dtype) tensor")
        let (x, rows, n) = rowsView
        var out = Tensor.empty(shape, dtype: dtype)
        func run<S: TensorScalar>(_: S.Type) { RowKernels.softmax(x.pointer(S.self), out.pointer(S.self), rows: rows, n: n) }
        if dtype == .float32 { run(Float.self) } else { run(Double.self) }
        let saved = out.detached()
        Tensor.record(&out, .softmax(y: saved), inputs: [self])
        return out
    }

    /// Log-softmax over the last axis (stable: x − max − log Σ exp(x − max)).
    public func logSoftmax() -> Tensor {
        precondition(dtype.isComputable, "logSoftmax of a \(dtype) tensor")
        let (x, rows, n) = rowsView
        var out = Tensor.empty(shape, dtype: dtype)
        func run<S: TensorScalar>(_: S.Type) { RowKernels.softmax(x.pointer(S.self), out.pointer(S.self), rows: rows, n: n, log: true) }
        if dtype == .float32 { run(Float.self) } else { run(Double.self) }
        let saved = out.detached()
        Tensor.record(&out, .logSoftmax(y: saved), inputs: [self])
        return out
    }

    /// Layer normalization over the last axis: (x − mean)/√(var + eps)·weight + bias.
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Double = 1e-5) -> Tensor {
        precondition(dtype.isComputable, "layerNorm of a \(dtype) tensor")
        let (x, rows, n) = rowsView
        if let weight { precondition(weight.shape == [n] && weight.dtype == dtype, "layerNorm: weight \(weight.shape) for rows of \(n)") }
        if let bias { precondition(bias.shape == [n] && bias.dtype == dtype, "layerNorm: bias \(bias.shape) for rows of \(n)") }
        var out = Tensor.empty(shape, dtype: dtype)
        let mean = Tensor.empty([rows], dtype: dtype), rstd = Tensor.empty([rows], dtype: dtype)
        let w = weight?.contiguous(), b = bias?.contiguous()
        func run<S: TensorScalar>(_: S.Type) {
            RowKernels.layerNorm(
                x.pointer(S.self), out.pointer(S.self), weight: w.map { UnsafePointer($0.pointer(S.self)) },
                bias: b.map { UnsafePointer($0.pointer(S.self)) }, mean: mean.pointer(S.self),
                rstd: rstd.pointer(S.self), rows: rows, n: n, eps: S(eps))
        }
        if dtype == .float32 { run(Float.self) } else { run(Double.self) }
        var inputs = [self]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        Tensor.record(
            &out, .layerNorm(x: x.detached(), mean: mean, rstd: rstd, weight: w?.detached(), hasBias: bias != nil), inputs: inputs)
        return out
    }

    /// RMS normalization over the last axis: x/√(mean(x²) + eps)·(weight + weightOffset).
    /// `weightOffset: 1` is Gemma's convention (weights stored as w − 1).
    public func rmsNorm(weight: Tensor?, eps: Double = 1e-6, weightOffset: Double = 0) -> Tensor {
        precondition(dtype.isComputable, "rmsNorm of a \(dtype) tensor")
        let (x, rows, n) = rowsView
        if let weight { precondition(weight.shape == [n] && weight.dtype == dtype, "rmsNorm: weight \(weight.shape) for rows of \(n)") }
        var out = Tensor.empty(shape, dtype: dtype)
        let rstd = Tensor.empty([rows], dtype: dtype)
        let w = weight?.contiguous()
        func run<S: TensorScalar>(_: S.Type) {
            RowKernels.rmsNorm(
                x.pointer(S.self), out.pointer(S.self), weight: w.map { UnsafePointer($0.pointer(S.self)) },
                offset: S(weightOffset), rstd: rstd.pointer(S.self), rows: rows, n: n, eps: S(eps))
        }
        if dtype == .float32 { run(Float.self) } else { run(Double.self) }
        var inputs = [self]
        if let weight { inputs.append(weight) }
        Tensor.record(&out, .rmsNorm(x: x.detached(), rstd: rstd, weight: w?.detached(), offset: weightOffset), inputs: inputs)
        return out
    }
}
