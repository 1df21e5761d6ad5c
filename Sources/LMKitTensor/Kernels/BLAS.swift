import COpenBLAS

/// Row-major matrix products through OpenBLAS, for `Float` (sgemm/sgemv) and `Double` (dgemm/dgemv).
public enum BLAS {
    /// C = alpha·op(A)·op(B) + beta·C with op(A) m×k, op(B) k×n, C m×n (row-major, leading dimensions).
    @inline(__always)
    public static func gemm<S: TensorScalar>(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: S,
                                             a: UnsafePointer<S>, lda: Int, b: UnsafePointer<S>, ldb: Int,
                                             beta: S, c: UnsafeMutablePointer<S>, ldc: Int) {
        let ta = transA ? CblasTrans : CblasNoTrans
        let tb = transB ? CblasTrans : CblasNoTrans
        if S.self == Float.self {
            cblas_sgemm(CblasRowMajor, ta, tb, blasint(m), blasint(n), blasint(k), Float(alpha),
                        UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), blasint(lda),
                        UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), blasint(ldb), Float(beta),
                        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), blasint(ldc))
        } else {
            cblas_dgemm(CblasRowMajor, ta, tb, blasint(m), blasint(n), blasint(k), Double(alpha),
                        UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), blasint(lda),
                        UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), blasint(ldb), Double(beta),
                        UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), blasint(ldc))
        }
    }

    /// y = alpha·op(A)·x + beta·y with A rows×cols (row-major, leading dimension lda).
    @inline(__always)
    public static func gemv<S: TensorScalar>(trans: Bool, rows: Int, cols: Int, alpha: S, a: UnsafePointer<S>, lda: Int,
                                             x: UnsafePointer<S>, incx: Int, beta: S, y: UnsafeMutablePointer<S>, incy: Int) {
        let t = trans ? CblasTrans : CblasNoTrans
        if S.self == Float.self {
            cblas_sgemv(CblasRowMajor, t, blasint(rows), blasint(cols), Float(alpha),
                        UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), blasint(lda),
                        UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), blasint(incx), Float(beta),
                        UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self), blasint(incy))
        } else {
            cblas_dgemv(CblasRowMajor, t, blasint(rows), blasint(cols), Double(alpha),
                        UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), blasint(lda),
                        UnsafeRawPointer(x).assumingMemoryBound(to: Double.self), blasint(incx), Double(beta),
                        UnsafeMutableRawPointer(y).assumingMemoryBound(to: Double.self), blasint(incy))
        }
    }

    /// Runs `body` for items `0..<count` of a batch of independent products.
    ///
    /// Small products (attention's per-head matrices) are run several at a time, one per core, with
    /// OpenBLAS single-threaded: threading inside a product this small costs more than it gains.
    /// Large products run one after another, each using every core inside BLAS.
    public static func forEachItem(_ count: Int, flopsPerItem: Int, _ body: (Int) -> Void) {
        let workers = Parallel.threads
        guard count >= 2 * workers, workers > 1, flopsPerItem <= smallProductFlops else {
            for item in 0..<count { body(item) }
            return
        }
        let previous = threads
        setThreads(1)
        defer { setThreads(previous) }
        // Items are handed out one at a time, so a core that stalls (shared machines) does not hold
        // back a fixed half of the batch.
        Parallel.forEach(count, body)
    }

    /// Products up to this size (2·m·n·k) run batched across cores rather than threaded inside BLAS.
    static let smallProductFlops = 1 << 24

    /// Sets the number of threads OpenBLAS uses inside each call.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    /// The number of threads OpenBLAS uses inside each call.
    public static var threads: Int { Int(openblas_get_num_threads()) }
}
