/// Row and column reductions over contiguous buffers.
enum ReduceKernels {
    /// Sum of `n` contiguous values, four SIMD8 accumulators (a plain loop never vectorizes).
    @inline(__always)
    static func sum<S: TensorScalar>(_ p: UnsafePointer<S>, _ n: Int) -> S {
        var a0 = SIMD8<S>(), a1 = SIMD8<S>(), a2 = SIMD8<S>(), a3 = SIMD8<S>()
        var i = 0
        while i + 32 <= n {
            a0 += load8(p + i); a1 += load8(p + i + 8); a2 += load8(p + i + 16); a3 += load8(p + i + 24)
            i += 32
        }
        while i + 8 <= n { a0 += load8(p + i); i += 8 }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while i < n { s += p[i]; i += 1 }
        return s
    }

    /// Σ a[i]·b[i] over `n` contiguous values.
    @inline(__always)
    static func dot<S: TensorScalar>(_ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ n: Int) -> S {
        var a0 = SIMD8<S>(), a1 = SIMD8<S>()
        var i = 0
        while i + 16 <= n {
            a0 = a0.addingProduct(load8(a + i), load8(b + i))
            a1 = a1.addingProduct(load8(a + i + 8), load8(b + i + 8))
            i += 16
        }
        while i + 8 <= n { a0 = a0.addingProduct(load8(a + i), load8(b + i)); i += 8 }
        var s = (a0 + a1).sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// Maximum of `n` ≥ 1 contiguous values.
    @inline(__always)
    static func max<S: TensorScalar>(_ p: UnsafePointer<S>, _ n: Int) -> S {
        var m = p[0]
        var i = 0
        if n >= 8 {
            var v = load8(p)
            i = 8
            while i + 8 <= n { v = S.max8(v, load8(p + i)); i += 8 }
            m = v.max()
        }
        while i < n { if p[i] > m { m = p[i] }; i += 1 }
        return m
    }

    /// out[r] = Σ_j x[r·n + j] for `rows` rows of `n`.
    static func rowSums<S: TensorScalar>(_ x: UnsafePointer<S>, rows: Int, n: Int, _ out: UnsafeMutablePointer<S>) {
        Parallel.forRanges(rows, minChunk: Swift.max(1, 16_384 / Swift.max(n, 1))) { r in
            for row in r { out[row] = sum(x + row * n, n) }
        }
    }

    /// out[j] = Σ_r x[r·n + j]: sums of the leading axis (bias gradients). Split over columns.
    static func columnSums<S: TensorScalar>(_ x: UnsafePointer<S>, rows: Int, n: Int, _ out: UnsafeMutablePointer<S>) {
        let blocks = (n + 7) / 8
        Parallel.forRanges(blocks, minChunk: Swift.max(1, 16_384 / Swift.max(rows * 8, 1))) { range in
            for b in range {
                let j = b * 8
                let width = Swift.min(8, n - j)
                if width == 8 {
                    var acc = SIMD8<S>()
                    for r in 0..<rows { acc += load8(x + r * n + j) }
                    store8(acc, out + j)
                } else {
                    for c in j..<(j + width) {
                        var s: S = 0
                        for r in 0..<rows { s += x[r * n + c] }
                        out[c] = s
                    }
                }
            }
        }
    }
}
