/// Matrix products. Transposed operands are passed to BLAS as transposed (never copied), and batches
/// that share the right-hand matrix are folded into one large product.
extension Tensor {
    /// How BLAS can read the last two axes as a matrix, or nil when it must be copied first.
    func matrixLayout() -> (transposed: Bool, ld: Int)? {
        let rows = shape[rank - 2], cols = shape[rank - 1]
        let rs = strides[rank - 2], cs = strides[rank - 1]
        if cs == 1 || cols == 1 {
            let ld = rows == 1 ? Swift.max(cols, 1) : rs
            if ld >= Swift.max(cols, 1) { return (false, ld) }
        }
        if rs == 1 || rows == 1 {
            let ld = cols == 1 ? Swift.max(rows, 1) : cs
            if ld >= Swift.max(rows, 1) { return (true, ld) }
        }
        return nil
    }

    /// Matrix product over the last two axes, `[…, m, k] · […, k, n] → […, m, n]`, broadcasting batch axes.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank >= 2 && other.rank >= 2, "matmul needs rank ≥ 2 operands, got \(shape) and \(other.shape)")
        precondition(dtype == other.dtype && dtype.isComputable, "matmul: types \(dtype) and \(other.dtype)")
        let m = shape[rank - 2], k = shape[rank - 1], n = other.shape[other.rank - 1]
        precondition(other.shape[other.rank - 2] == k, "matmul: inner sizes differ: \(shape) · \(other.shape)")
        let batchA = Array(shape.dropLast(2)), batchB = Array(other.shape.dropLast(2))
        guard let batch = Shape.broadcast(batchA, batchB) else {
            preconditionFailure("matmul: batch axes \(batchA) and \(batchB) do not broadcast")
        }
        var out = Tensor.empty(batch + [m, n], dtype: dtype)
        let a = matrixLayout() == nil ? contiguous() : self
        let b = other.matrixLayout() == nil ? other.contiguous() : other
        func run<S: TensorScalar>(_: S.Type) {
            Tensor.matmulKernel(a, b, into: out, batch: batch, m: m, k: k, n: n, S.self)
        }
        if dtype == .float32 { run(Float.self) } else { run(Double.self) }
        Tensor.record(&out, .matmul(a: self.detached(), b: other.detached()), inputs: [self, other])
        return out
    }

    private static func matmulKernel<S: TensorScalar>(
        _ a: Tensor, _ b: Tensor, into out: Tensor, batch: [Int],
        m: Int, k: Int, n: Int, _: S.Type
    ) {
        let (ta, lda) = a.matrixLayout()!
        let (tb, ldb) = b.matrixLayout()!
        let pa = a.pointer(S.self), pb = b.pointer(S.self), po = out.pointer(S.self)
        let count = Shape.count(batch)
        if m == 0 || n == 0 { return }
        if k == 0 { po.update(repeating: 0, count: count * m * n); return }
        let sa = Shape.broadcastStrides(shape: Array(a.shape.dropLast(2)), strides: Array(a.strides.dropLast(2)), to: batch)
        let sb = Shape.broadcastStrides(shape: Array(b.shape.dropLast(2)), strides: Array(b.strides.dropLast(2)), to: batch)
        // One right-hand matrix for the whole batch and a left operand whose rows run on: one big GEMM.
        if count > 1 && sb.allSatisfy({ $0 == 0 }) && !ta && a.isContiguous {
            BLAS.gemm(
                transA: false, transB: tb, m: count * m, n: n, k: k, alpha: 1, a: pa, lda: k, b: pb, ldb: ldb,
                beta: 0, c: po, ldc: n)
            return
        }
        BLAS.forEachItem(count, flopsPerItem: 2 * m * n * k) { item in
            var rem = item, oa = 0, ob = 0
            for axis in stride(from: batch.count - 1, through: 0, by: -1) {
                let i = rem % batch[axis]
                rem /= batch[axis]
                oa += i * sa[axis]
                ob += i * sb[axis]
            }
            let c = po + item * m * n
            if m == 1 && !ta {
                // A row vector times a matrix: gemv is several times faster than gemm with m = 1.
                BLAS.gemv(
                    trans: !tb, rows: tb ? n : k, cols: tb ? k : n, alpha: 1, a: pb + ob, lda: ldb,
                    x: pa + oa, incx: 1, beta: 0, y: c, incy: 1)
            } else {
                BLAS.gemm(
                    transA: ta, transB: tb, m: m, n: n, k: k, alpha: 1, a: pa + oa, lda: lda, b: pb + ob, ldb: ldb,
                    beta: 0, c: c, ldc: n)
            }
        }
    }

    /// `x · weightᵀ + bias` for `x: […, in]`, `weight: [out, in]` (PyTorch's `nn.Linear` layout),
    /// `bias: [out]`. The bias is written first and the GEMM accumulates onto it, so there is no
    /// separate pass over the output.
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        precondition(
            weight.rank == 2 && x.size(-1) == weight.shape[1],
            "linear: input \(x.shape) does not fit weight \(weight.shape) ([out, in])")
        precondition(x.dtype == weight.dtype && x.dtype.isComputable, "linear: types \(x.dtype) and \(weight.dtype)")
        let nOut = weight.shape[0], nIn = weight.shape[1]
        if let bias { precondition(bias.shape == [nOut], "linear: bias \(bias.shape) for \(nOut) outputs") }
        let xc = x.contiguous()
        let rows = x.count / Swift.max(nIn, 1)
        let w = weight.matrixLayout() == nil ? weight.contiguous() : weight
        var out = Tensor.empty(Array(x.shape.dropLast()) + [nOut], dtype: x.dtype)
        func run<S: TensorScalar>(_: S.Type) {
            let o = out.pointer(S.self)
            var beta: S = 0
            if let bias {
                let b = bias.contiguous().pointer(S.self)
                for r in 0..<rows { (o + r * nOut).update(from: b, count: nOut) }
                beta = 1
            }
            let (tw, ldw) = w.matrixLayout()!
            if rows == 1 {
                BLAS.gemv(
                    trans: tw, rows: tw ? nIn : nOut, cols: tw ? nOut : nIn, alpha: 1, a: w.pointer(S.self), lda: ldw,
                    x: xc.pointer(S.self), incx: 1, beta: beta, y: o, incy: 1)
            } else if rows > 0 {
                BLAS.gemm(
                    transA: false, transB: !tw, m: rows, n: nOut, k: nIn, alpha: 1, a: xc.pointer(S.self), lda: nIn,
                    b: w.pointer(S.self), ldb: ldw, beta: beta, c: o, ldc: nOut)
            }
        }
        if x.dtype == .float32 { run(Float.self) } else { run(Double.self) }
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        Tensor.record(&out, .linear(x: xc.detached(), weight: weight.detached(), hasBias: bias != nil), inputs: inputs)
        return out
    }
}
