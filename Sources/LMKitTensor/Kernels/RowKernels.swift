/// Fused kernels that work on independent rows (the last axis): softmax, log-softmax, layer norm,
/// RMS norm, and their backward passes. Each row is read from memory once and stays in cache.
enum RowKernels {
    /// Rows per thread chunk so that a chunk is ~16K elements.
    @inline(__always)
    static func forRows(_ rows: Int, _ n: Int, _ body: (Int) -> Void) {
        Parallel.forRanges(rows, minChunk: Swift.max(1, 16_384 / Swift.max(n, 1))) { r in
            for row in r { body(row) }
        }
    }

    /// y = softmax(scale·x) per row. Rows whose entries are all −∞ give zeros (fully masked rows).
    static func softmax<S: TensorScalar>(
        _ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, rows: Int, n: Int, scale: S = 1, log: Bool = false
    ) {
        forRows(rows, n) { row in
            let xr = x + row * n, yr = y + row * n
            let m = ReduceKernels.max(xr, n) * scale
            if m == -S.infinity {
                yr.update(repeating: log ? -S.infinity : 0, count: n)
                return
            }
            let sv = SIMD8<S>(repeating: scale), mv = SIMD8<S>(repeating: m)
            var acc = SIMD8<S>()
            var i = 0
            while i + 8 <= n {
                let e = S.exp8(load8(xr + i) * sv - mv)
                if !log { store8(e, yr + i) }
                acc += e
                i += 8
            }
            var total = acc.sum()
            while i < n {
                let e = S.exp(xr[i] * scale - m)
                if !log { yr[i] = e }
                total += e
                i += 1
            }
            if log {
                let shift = m + S.log(total)
                for j in 0..<n { yr[j] = xr[j] * scale - shift }
            } else {
                let inv = 1 / total
                for j in 0..<n { yr[j] *= inv }
            }
        }
    }

    /// dx = scale·y·(dy − Σ dy·y) per row, the softmax backward given its output y.
    static func softmaxBackward<S: TensorScalar>(
        y: UnsafePointer<S>, dy: UnsafePointer<S>, dx: UnsafeMutablePointer<S>, rows: Int, n: Int, scale: S = 1
    ) {
        forRows(rows, n) { row in
            let yr = y + row * n, gr = dy + row * n, dr = dx + row * n
            let dot = ReduceKernels.dot(yr, gr, n)
            for j in 0..<n { dr[j] = scale * yr[j] * (gr[j] - dot) }
        }
    }

    /// dx = dy − exp(y)·Σ dy per row, the log-softmax backward given its output y.
    static func logSoftmaxBackward<S: TensorScalar>(
        y: UnsafePointer<S>, dy: UnsafePointer<S>, dx: UnsafeMutablePointer<S>, rows: Int, n: Int
    ) {
        forRows(rows, n) { row in
            let yr = y + row * n, gr = dy + row * n, dr = dx + row * n
            let total = ReduceKernels.sum(gr, n)
            for j in 0..<n { dr[j] = gr[j] - S.exp(yr[j]) * total }
        }
    }

    /// Layer norm per row: y = (x − mean)·rstd·w + b; stores mean and rstd for backward.
    static func layerNorm<S: TensorScalar>(
        _ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, weight: UnsafePointer<S>?, bias: UnsafePointer<S>?,
        mean: UnsafeMutablePointer<S>, rstd: UnsafeMutablePointer<S>, rows: Int, n: Int, eps: S
    ) {
        forRows(rows, n) { row in
            let xr = x + row * n, yr = y + row * n
            let mu = ReduceKernels.sum(xr, n) / S(n)
            // Two passes over the (cached) row: the variance of centred values does not cancel.
            var acc = SIMD8<S>()
            let mv = SIMD8<S>(repeating: mu)
            var i = 0
            while i + 8 <= n {
                let d = load8(xr + i) - mv
                acc = acc.addingProduct(d, d)
                i += 8
            }
            var ss = acc.sum()
            while i < n { let d = xr[i] - mu; ss += d * d; i += 1 }
            let r = 1 / (ss / S(n) + eps).squareRoot()
            mean[row] = mu
            rstd[row] = r
            let rv = SIMD8<S>(repeating: r)
            i = 0
            while i + 8 <= n {
                var v = (load8(xr + i) - mv) * rv
                if let weight { v *= load8(weight + i) }
                if let bias { v += load8(bias + i) }
                store8(v, yr + i)
                i += 8
            }
            while i < n {
                var v = (xr[i] - mu) * r
                if let weight { v *= weight[i] }
                if let bias { v += bias[i] }
                yr[i] = v
                i += 1
            }
        }
    }

    /// Layer norm backward for the input: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·w.
    static func layerNormBackward<S: TensorScalar>(
        x: UnsafePointer<S>, dy: UnsafePointer<S>, weight: UnsafePointer<S>?,
        mean: UnsafePointer<S>, rstd: UnsafePointer<S>, dx: UnsafeMutablePointer<S>, rows: Int, n: Int
    ) {
        forRows(rows, n) { row in
            let xr = x + row * n, gr = dy + row * n, dr = dx + row * n
            let mu = mean[row], r = rstd[row]
            var sumG: S = 0, sumGX: S = 0
            for j in 0..<n {
                let g = gr[j] * (weight?[j] ?? 1)
                sumG += g
                sumGX += g * (xr[j] - mu) * r
            }
            let meanG = sumG / S(n), meanGX = sumGX / S(n)
            for j in 0..<n {
                let g = gr[j] * (weight?[j] ?? 1)
                let xhat = (xr[j] - mu) * r
                dr[j] = r * (g - meanG - xhat * meanGX)
            }
        }
    }

    /// RMS norm per row: y = x·rstd·(w + offset), rstd = 1/√(mean(x²) + eps). Gemma uses offset 1.
    static func rmsNorm<S: TensorScalar>(
        _ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, weight: UnsafePointer<S>?, offset: S,
        rstd: UnsafeMutablePointer<S>, rows: Int, n: Int, eps: S
    ) {
        forRows(rows, n) { row in
            let xr = x + row * n, yr = y + row * n
            let r = 1 / (ReduceKernels.dot(xr, xr, n) / S(n) + eps).squareRoot()
            rstd[row] = r
            for j in 0..<n { yr[j] = xr[j] * r * (weight.map { $0[j] + offset } ?? 1) }
        }
    }

    /// RMS norm backward for the input: dx = rstd·(g − x̂·mean(g·x̂)), g = dy·(w + offset).
    static func rmsNormBackward<S: TensorScalar>(
        x: UnsafePointer<S>, dy: UnsafePointer<S>, weight: UnsafePointer<S>?, offset: S,
        rstd: UnsafePointer<S>, dx: UnsafeMutablePointer<S>, rows: Int, n: Int
    ) {
        forRows(rows, n) { row in
            let xr = x + row * n, gr = dy + row * n, dr = dx + row * n
            let r = rstd[row]
            var sumGX: S = 0
            for j in 0..<n { sumGX += gr[j] * (weight.map { $0[j] + offset } ?? 1) * xr[j] * r }
            let meanGX = sumGX / S(n)
            for j in 0..<n {
                let g = gr[j] * (weight.map { $0[j] + offset } ?? 1)
                dr[j] = r * (g - xr[j] * r * meanGX)
            }
        }
    }
}
