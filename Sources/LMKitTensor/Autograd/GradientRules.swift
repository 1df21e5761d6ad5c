/// What each recorded op saved for backward. One case per op; the rules that turn an output gradient
/// into input gradients are all in ``GradientRules/inputGradients(of:outputGradient:needs:)`` below.
enum GradRule {
    case leaf
    /// Backward already ran through this node and freed what it saved.
    case released
    case identity
    case convert(from: DType)
    case binary(BinaryOp, a: Tensor, b: Tensor)
    /// Saves the input `x` or the output `y`, whichever the derivative is cheaper from.
    case unary(UnaryOp, x: Tensor?, y: Tensor?)
    case pow(x: Tensor, exponent: Double)
    case sum(inputShape: [Int], keptShape: [Int])
    case maxAlong(axis: Int, indices: Tensor, inputShape: [Int])
    case reshape(inputShape: [Int])
    case permute(order: [Int])
    case expand(inputShape: [Int])
    case slice(axis: Int, start: Int, inputShape: [Int])
    case concat(axis: Int, sizes: [Int])
    case matmul(a: Tensor, b: Tensor)
    case linear(x: Tensor, weight: Tensor, hasBias: Bool)
    /// `x · Wᵀ` with W in its GGUF blocks: the gradient reaches `x` only (the weights are constants).
    case quantizedLinear(matrix: QuantizedMatrix)
    /// A scalar loss whose input gradients were computed with it (the fused output layer and
    /// cross-entropy): backward scales them by the output gradient.
    case precomputed(gradients: [Tensor?])
    /// A block whose intermediates were not kept (``Tensor/recomputingInBackward(_:_:)``): backward
    /// runs it again on the saved inputs, with recording on, and backpropagates through that.
    case recompute(Recomputation)
    case gatherRows(tableShape: [Int], indices: [Int])
    case scatterRows(indices: [Int], width: Int)
    case softmax(y: Tensor)
    case logSoftmax(y: Tensor)
    case layerNorm(x: Tensor, mean: Tensor, rstd: Tensor, weight: Tensor?, hasBias: Bool)
    case rmsNorm(x: Tensor, rstd: Tensor, weight: Tensor?, offset: Double)
    case crossEntropy(logits: Tensor, lse: Tensor, targets: [Int], ignoreIndex: Int, valid: Int)
    case attention(q: Tensor, k: Tensor, v: Tensor, probs: Tensor, scale: Double)

    var name: String {
        switch self {
        case .leaf: return "leaf"
        case .released: return "released"
        case .identity: return "identity"
        case .convert: return "convert"
        case .binary(let op, _, _): return op.rawValue
        case .unary(let op, _, _): return op.rawValue
        case .pow: return "pow"
        case .sum: return "sum"
        case .maxAlong: return "max"
        case .reshape: return "reshape"
        case .permute: return "permute"
        case .expand: return "expand"
        case .slice: return "slice"
        case .concat: return "concat"
        case .matmul: return "matmul"
        case .linear: return "linear"
        case .quantizedLinear: return "quantizedLinear"
        case .precomputed: return "precomputed"
        case .recompute: return "recompute"
        case .gatherRows: return "gatherRows"
        case .scatterRows: return "scatterRows"
        case .softmax: return "softmax"
        case .logSoftmax: return "logSoftmax"
        case .layerNorm: return "layerNorm"
        case .rmsNorm: return "rmsNorm"
        case .crossEntropy: return "crossEntropy"
        case .attention: return "attention"
        }
    }
}

/// The gradient rules: for each op, the gradients of its inputs given the gradient of its output.
/// Rules run with recording off and use the same ops (and fused backward kernels) as forward code.
enum GradientRules {
    /// Gradients for the op's inputs in order; `needs[i]` is false where input i takes no gradient.
    static func inputGradients(of rule: GradRule, outputGradient g: Tensor, needs: [Bool]) -> [Tensor?] {
        func need(_ i: Int) -> Bool { i < needs.count && needs[i] }
        switch rule {
        case .leaf, .released:
            preconditionFailure("backward through a graph that was already freed (call backward() once per forward pass)")

        case .identity:
            return [g]

        case .convert(let from):
            return [g.converted(to: from)]

        case let .binary(op, a, b):
            switch op {
            case .add:
                return [need(0) ? g.summed(toShape: a.shape) : nil, need(1) ? g.summed(toShape: b.shape) : nil]
            case .sub:
                return [need(0) ? g.summed(toShape: a.shape) : nil, need(1) ? (-g).summed(toShape: b.shape) : nil]
            case .mul:
                return [need(0) ? (g * b).summed(toShape: a.shape) : nil, need(1) ? (g * a).summed(toShape: b.shape) : nil]
            case .div:
                return [
                    need(0) ? (g / b).summed(toShape: a.shape) : nil,
                    need(1) ? (-(g * a) / (b * b)).summed(toShape: b.shape) : nil,
                ]
            case .maximum, .minimum:
                // The gradient goes to the operand that was chosen (a on ties, as the kernel picks a).
                let aWins = op == .maximum ? a.binary(.greaterEqual, b) : b.binary(.greaterEqual, a)
                return [
                    need(0) ? (g * aWins).summed(toShape: a.shape) : nil,
                    need(1) ? (g * (1.0 - aWins)).summed(toShape: b.shape) : nil,
                ]
            case .greaterEqual:
                return [nil, nil]
            }

        case let .unary(op, x, y):
            if op == .neg { return [-g] }
            let gc = g.contiguous()
            let dx = Tensor.empty(g.shape, dtype: g.dtype)
            func run<S: TensorScalar>(_: S.Type) {
                if let y {
                    ElementwiseKernels.unaryBackwardFromOutput(
                        op, y: y.pointer(S.self), dy: gc.pointer(S.self), dx: dx.pointer(S.self), g.count)
                } else if let x {
                    ElementwiseKernels.unaryBackward(op, x: x.pointer(S.self), dy: gc.pointer(S.self), dx: dx.pointer(S.self), g.count)
                }
            }
            if g.dtype == .float32 { run(Float.self) } else { run(Double.self) }
            return [dx]

        case let .pow(x, exponent):
            return [g * x.pow(exponent - 1) * exponent]

        case let .sum(inputShape, keptShape):
            return [g.reshaped(keptShape).expanded(to: inputShape)]

        case let .maxAlong(axis, indices, inputShape):
            // Route each gradient to the argmax position along `axis`.
            let kept = (0..<inputShape.count).filter { $0 != axis }
            let n = inputShape[axis]
            let idx = indices.indexValues
            let gv = g.contiguous()
            let moved = Tensor.zeros(kept.map { inputShape[$0] } + [n], dtype: g.dtype)
            func run<S: TensorScalar>(_: S.Type) {
                let src = gv.pointer(S.self), dst = moved.pointer(S.self)
                for (r, j) in idx.enumerated() { dst[r * n + j] = src[r] }
            }
            if g.dtype == .float32 { run(Float.self) } else { run(Double.self) }
            var inverse = [Int](repeating: 0, count: inputShape.count)
            for (i, a) in (kept + [axis]).enumerated() { inverse[a] = i }
            return [moved.permuted(inverse)]

        case let .reshape(inputShape):
            return [g.reshaped(inputShape)]

        case let .permute(order):
            var inverse = [Int](repeating: 0, count: order.count)
            for (i, a) in order.enumerated() { inverse[a] = i }
            return [g.permuted(inverse)]

        case let .expand(inputShape):
            return [g.summed(toShape: inputShape)]

        case let .slice(axis, start, inputShape):
            let full = Tensor.zeros(inputShape, dtype: g.dtype)
            full.detached().sliced(axis: axis, range: start..<(start + g.shape[axis])).assign(from: g)
            return [full]

        case let .concat(axis, sizes):
            var start = 0
            return sizes.map { size in
                defer { start += size }
                return g.sliced(axis: axis, range: start..<(start + size))
            }

        case let .matmul(a, b):
            var ga: Tensor?, gb: Tensor?
            if need(0) { ga = g.matmul(b.transposed()).summed(toShape: a.shape) }
            if need(1) {
                if b.rank == 2 && a.rank > 2 {
                    // A shared right-hand matrix: fold the batch into one [k, rows]·[rows, n] product.
                    let k = a.size(-1), n = g.size(-1)
                    gb = a.reshaped([-1, k]).transposed().matmul(g.reshaped([-1, n]))
                } else {
                    gb = a.transposed().matmul(g).summed(toShape: b.shape)
                }
            }
            return [ga, gb]

        case let .linear(x, weight, hasBias):
            let nOut = weight.shape[0], nIn = weight.shape[1]
            let g2 = g.contiguous().reshaped([-1, nOut])
            let dx = need(0) ? g2.matmul(weight).reshaped(Array(g.shape.dropLast()) + [nIn]) : nil
            let dw = need(1) ? g2.transposed().matmul(x.reshaped([-1, nIn])) : nil
            var out = [dx, dw]
            if hasBias { out.append(need(2) ? g2.sum(axis: 0) : nil) }
            return out

        case let .quantizedLinear(matrix):
            return [matrix.inputGradient(g)]

        case let .precomputed(gradients):
            let scale = g.item()
            return gradients.enumerated().map { i, d in need(i) ? d.map { scale == 1 ? $0 : $0 * scale } : nil }

        case let .recompute(block):
            return block.inputGradients(outputGradient: g, needs: needs)

        case let .gatherRows(tableShape, indices):
            return [Tensor.scatterAddingRows(g.reshaped([-1, tableShape[1]]), indices: indices, rows: tableShape[0])]

        case let .scatterRows(indices, width):
            return [g.gatheringRows(Tensor(indices: indices, shape: [indices.count])).reshaped([indices.count, width])]

        case let .softmax(y):
            let (gc, rows, n) = g.rowsView
            let dx = Tensor.empty(g.shape, dtype: g.dtype)
            func run<S: TensorScalar>(_: S.Type) {
                RowKernels.softmaxBackward(y: y.pointer(S.self), dy: gc.pointer(S.self), dx: dx.pointer(S.self), rows: rows, n: n)
            }
            if g.dtype == .float32 { run(Float.self) } else { run(Double.self) }
            return [dx]

        case let .logSoftmax(y):
            let (gc, rows, n) = g.rowsView
            let dx = Tensor.empty(g.shape, dtype: g.dtype)
            func run<S: TensorScalar>(_: S.Type) {
                RowKernels.logSoftmaxBackward(y: y.pointer(S.self), dy: gc.pointer(S.self), dx: dx.pointer(S.self), rows: rows, n: n)
            }
            if g.dtype == .float32 { run(Float.self) } else { run(Double.self) }
            return [dx]

        case let .layerNorm(x, mean, rstd, weight, hasBias):
            let (gc, rows, n) = g.rowsView
            var dx: Tensor?
            if need(0) {
                let out = Tensor.empty(g.shape, dtype: g.dtype)
                func run<S: TensorScalar>(_: S.Type) {
                    RowKernels.layerNormBackward(
                        x: x.pointer(S.self), dy: gc.pointer(S.self), weight: weight.map { UnsafePointer($0.pointer(S.self)) },
                        mean: mean.pointer(S.self), rstd: rstd.pointer(S.self), dx: out.pointer(S.self), rows: rows, n: n)
                }
                if g.dtype == .float32 { run(Float.self) } else { run(Double.self) }
                dx = out
            }
            var grads: [Tensor?] = [dx]
            let g2 = gc.reshaped([rows, n])
            if weight != nil {
                let xhat = (x.reshaped([rows, n]) - mean.reshaped([rows, 1])) * rstd.reshaped([rows, 1])
                grads.append(need(1) ? (g2 * xhat).sum(axis: 0) : nil)
            }
            if hasBias { grads.append(need(grads.count) ? g2.sum(axis: 0) : nil) }
            return grads

        case let .rmsNorm(x, rstd, weight, offset):
            let (gc, rows, n) = g.rowsView
            var dx: Tensor?
            if need(0) {
                let out = Tensor.empty(g.shape, dtype: g.dtype)
                func run<S: TensorScalar>(_: S.Type) {
                    RowKernels.rmsNormBackward(
                        x: x.pointer(S.self), dy: gc.pointer(S.self), weight: weight.map { UnsafePointer($0.pointer(S.self)) },
                        offset: S(offset), rstd: rstd.pointer(S.self), dx: out.pointer(S.self), rows: rows, n: n)
                }
                if g.dtype == .float32 { run(Float.self) } else { run(Double.self) }
                dx = out
            }
            var grads: [Tensor?] = [dx]
            if weight != nil {
                let xhat = x.reshaped([rows, n]) * rstd.reshaped([rows, 1])
                grads.append(need(1) ? (gc.reshaped([rows, n]) * xhat).sum(axis: 0) : nil)
            }
            return grads

        case let .crossEntropy(logits, lse, targets, ignoreIndex, valid):
            let (_, rows, n) = logits.rowsView
            let dx = Tensor.empty(logits.shape, dtype: logits.dtype)
            func run<S: TensorScalar>(_: S.Type) {
                let scale = S(g.item()) / S(valid)
                let xp = logits.pointer(S.self), lp = lse.pointer(S.self), dp = dx.pointer(S.self)
                RowKernels.forRows(rows, n) { row in
                    let xr = xp + row * n, dr = dp + row * n
                    let t = targets[row]
                    if t == ignoreIndex {
                        dr.update(repeating: 0, count: n)
                        return
                    }
                    let l = lp[row]
                    for j in 0..<n { dr[j] = S.exp(xr[j] - l) * scale }
                    dr[t] -= scale
                }
            }
            if logits.dtype == .float32 { run(Float.self) } else { run(Double.self) }
            return [dx]

        case let .attention(q, k, v, probs, scale):
            return AttentionBackward.gradients(q: q, k: k, v: v, probs: probs, scale: scale, outputGradient: g)
        }
    }
}

/// Backward of the fused attention: with P = softmax(scale·QKᵀ + mask) and O = P·V,
/// dV = Pᵀ·dO, dP = dO·Vᵀ, dS = scale·P∘(dP − rowsum(dP∘P)), dQ = dS·K, dK = dSᵀ·Q.
/// Query heads that share a key/value head (GQA) accumulate into it.
enum AttentionBackward {
    static func gradients(q: Tensor, k: Tensor, v: Tensor, probs: Tensor, scale: Double, outputGradient: Tensor) -> [Tensor?] {
        let (b, h, tq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let (hkv, tk, dv) = (k.shape[1], k.shape[2], v.shape[3])
        let dO = outputGradient.contiguous()
        let dq = Tensor.empty(q.shape, dtype: q.dtype)
        let dk = Tensor.zeros(k.shape, dtype: k.dtype)
        let dvT = Tensor.zeros(v.shape, dtype: v.dtype)
        let dS = Tensor.empty([b * h, tq, tk], dtype: q.dtype)
        func run<S: TensorScalar>(_: S.Type) {
            let geo = AttentionGeometry(q: q, k: k, v: v, heads: h, kvHeads: hkv)
            let group = h / hkv
            let p = probs.pointer(S.self), go = dO.pointer(S.self), ds = dS.pointer(S.self)
            let dqp = dq.pointer(S.self), dkp = dk.pointer(S.self), dvp = dvT.pointer(S.self)
            // One task per key/value head, looping over the query heads that share it, so the
            // accumulations into dK and dV never race.
            BLAS.forEachItem(b * hkv, flopsPerItem: 2 * group * tq * tk * (2 * d + 2 * dv)) { kvItem in
                let firstHead = (kvItem / hkv) * h + (kvItem % hkv) * group
                for item in firstHead..<(firstHead + group) {
                    let (qo, ko, vo) = geo.offsets(item)
                    let pi = p + item * tq * tk, gi = go + item * tq * dv, si = ds + item * tq * tk
                    // dV += Pᵀ·dO
                    BLAS.gemm(
                        transA: true, transB: false, m: tk, n: dv, k: tq, alpha: 1, a: pi, lda: tk, b: gi, ldb: dv,
                        beta: 1, c: dvp + kvItem * tk * dv, ldc: dv)
                    // dP = dO·Vᵀ
                    BLAS.gemm(
                        transA: false, transB: !geo.v.t, m: tq, n: tk, k: dv, alpha: 1, a: gi, lda: dv,
                        b: v.pointer(S.self) + vo, ldb: geo.v.ld, beta: 0, c: si, ldc: tk)
                    // dS = scale·P∘(dP − rowsum(dP∘P))
                    RowKernels.softmaxBackward(y: pi, dy: si, dx: si, rows: tq, n: tk, scale: S(scale))
                    // dQ = dS·K
                    BLAS.gemm(
                        transA: false, transB: geo.k.t, m: tq, n: d, k: tk, alpha: 1, a: si, lda: tk,
                        b: k.pointer(S.self) + ko, ldb: geo.k.ld, beta: 0, c: dqp + item * tq * d, ldc: d)
                    // dK += dSᵀ·Q
                    BLAS.gemm(
                        transA: true, transB: geo.q.t, m: tk, n: d, k: tq, alpha: 1, a: si, lda: tk,
                        b: q.pointer(S.self) + qo, ldb: geo.q.ld, beta: 1, c: dkp + kvItem * tk * d, ldc: d)
                }
            }
        }
        if q.dtype == .float32 { run(Float.self) } else { run(Double.self) }
        return [dq, dk, dvT]
    }
}
