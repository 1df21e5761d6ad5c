import COpenBLAS

/// Row-major matrix products through OpenBLAS, for `Float` (sgemm/sgemv) and `Double` (dgemm/dgemv).
public enum BLAS {
    /// C = alpha·op(A)·op(B) + beta·C with op(A) m×k, op(B) k×n, C m×n (row-major, leading dimensions).
    ///
    /// OpenBLAS runs single-threaded, and large products are split here into one block of rows (or
    /// columns) per core. One thread pool for everything: OpenBLAS's own workers spin after each call
    /// and halved the speed of the Swift kernels that ran next (measured on the attention benchmark).
    @inline(__always)
    public static func gemm<S: TensorScalar>(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: S,
        a: UnsafePointer<S>, lda: Int, b: UnsafePointer<S>, ldb: Int,
        beta: S, c: UnsafeMutablePointer<S>, ldc: Int
    ) {
        let workers = Parallel.threads
        guard workers > 1, !Parallel.isInsideParallelRegion, 2 * m * n * k >= smallProductFlops else {
            gemmSingle(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let splitRows = m >= n
        let total = splitRows ? m : n
        let parts = min(workers, max(1, total / 32))
        Parallel.forEach(parts) { part in
            let lo = total * part / parts, hi = total * (part + 1) / parts
            if splitRows {
                // Rows lo..<hi of op(A) and C.
                let aBlock = transA ? a + lo : a + lo * lda
                gemmSingle(
                    transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha, a: aBlock, lda: lda,
                    b: b, ldb: ldb, beta: beta, c: c + lo * ldc, ldc: ldc)
            } else {
                // Columns lo..<hi of op(B) and C.
                let bBlock = transB ? b + lo * ldb : b + lo
                gemmSingle(
                    transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, a: a, lda: lda,
                    b: bBlock, ldb: ldb, beta: beta, c: c + lo, ldc: ldc)
            }
        }
    }

    /// One OpenBLAS call on the calling thread.
    @inline(__always)
    static func gemmSingle<S: TensorScalar>(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: S,
        a: UnsafePointer<S>, lda: Int, b: UnsafePointer<S>, ldb: Int,
        beta: S, c: UnsafeMutablePointer<S>, ldc: Int
    ) {
        _ = configureOnce
        let ta = transA ? CblasTrans : CblasNoTrans
        let tb = transB ? CblasTrans : CblasNoTrans
        if S.self == Float.self {
            cblas_sgemm(
                CblasRowMajor, ta, tb, blasint(m), blasint(n), blasint(k), Float(alpha),
                UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), blasint(lda),
                UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), blasint(ldb), Float(beta),
                UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), blasint(ldc))
        } else {
            cblas_dgemm(
                CblasRowMajor, ta, tb, blasint(m), blasint(n), blasint(k), Double(alpha),
                UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), blasint(lda),
                UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), blasint(ldb), Double(beta),
                UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), blasint(ldc))
        }
    }

    /// y = alpha·op(A)·x + beta·y with A rows×cols (row-major, leading dimension lda).
    @inline(__always)
    public static func gemv<S: TensorScalar>(
        trans: Bool, rows: Int, cols: Int, alpha: S, a: UnsafePointer<S>, lda: Int,
        x: UnsafePointer<S>, incx: Int, beta: S, y: UnsafeMutablePointer<S>, incy: Int
    ) {
        _ = configureOnce
        let t = trans ? CblasTrans : CblasNoTrans
        if S.self == Float.self {
            cblas_sgemv(
                CblasRowMajor, t, blasint(rows), blasint(cols), Float(alpha),
                UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), blasint(lda),
                UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), blasint(incx), Float(beta),
                UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self), blasint(incy))
        } else {
            cblas_dgemv(
                CblasRowMajor, t, blasint(rows), blasint(cols), Double(alpha),
                UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), blasint(lda),
                UnsafeRawPointer(x).assumingMemoryBound(to: Double.self), blasint(incx), Double(beta),
                UnsafeMutableRawPointer(y).assumingMemoryBound(to: Double.self), blasint(incy))
        }
    }

    /// Runs `body` for items `0..<count` of a batch of independent products: several at a time, one per
    /// core, when there are enough of them; otherwise one after another, each product split by ``gemm``.
    public static func forEachItem(_ count: Int, flopsPerItem: Int, _ body: (Int) -> Void) {
        guard count >= 2 * Parallel.threads, Parallel.threads > 1, flopsPerItem <= smallProductFlops else {
            for item in 0..<count { body(item) }
            return
        }
        // Items are handed out one at a time, so a core that stalls (shared machines) does not hold
        // back a fixed half of the batch.
        Parallel.forEach(count, body)
    }

    /// Products below this size (2·m·n·k) are not split across cores: the split would cost more than it gains.
    static let smallProductFlops = 1 << 24

    /// Makes OpenBLAS single-threaded (the engine does the threading); call before the first product.
    static let configureOnce: Void = { openblas_set_num_threads(1) }()

    /// Sets the number of threads OpenBLAS uses inside each call (1 by default: the engine splits
    /// products across cores itself).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    /// The number of threads OpenBLAS uses inside each call.
    public static var threads: Int { Int(openblas_get_num_threads()) }
}

extension BLAS {
    /// The kernel set OpenBLAS chose when it loaded (`Haswell`, `SkylakeX`, `Cooperlake`, …): its
    /// own detection, or the `OPENBLAS_CORETYPE` environment variable.
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }
}
