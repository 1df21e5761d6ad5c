extension QuantizedMatrix {
    /// Rows of the matrix expanded per product in ``inputGradient(_:)``: 256 rows of Gemma 3's
    /// 640 columns are 640 KB of float32, and a product of that depth runs near the GEMM's peak.
    static let backwardTileRows = 256

    /// The gradient of ``linear(_:)``'s input: `g · W` for `g: [..., rows]` → `[..., columns]`.
    ///
    /// The matrix is expanded `backwardTileRows` rows at a time and each tile's product accumulated,
    /// so the float32 weights are never all in memory (QLoRA's promise: memory ≈ the quantized file).
    /// Float32 activations meet the expanded weights, as in bitsandbytes' QLoRA backward.
    public func inputGradient(_ g: Tensor) -> Tensor {
        precondition(g.size(-1) == rows, "quantized linear backward: gradient \(g.shape) does not fit \(rows)×\(columns)")
        let gc = g.dtype == .float32 ? g.contiguous() : g.converted(to: .float32)
        let m = gc.count / rows
        let dx = Tensor.empty(Array(g.shape.dropLast()) + [columns], dtype: .float32)
        let tile = Self.backwardTileRows
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: min(tile, rows) * columns)
        defer { buffer.deallocate() }
        let gp = UnsafePointer(gc.pointer(Float.self)), dp = dx.pointer(Float.self)
        if m == 0 { return dx }
        for r0 in stride(from: 0, to: rows, by: tile) {
            let n = min(tile, rows - r0)
            let source = base + r0 * rowBytes
            Parallel.forRanges(n, minChunk: 16) { range in
                for r in range {
                    GGMLDequantize.dequantizeSerial(type, source + r * rowBytes, count: columns, into: buffer + r * columns)
                }
            }
            // dx (m, columns) += g[:, r0 ..< r0 + n] (m, n) · W[r0 ..< r0 + n] (n, columns)
            BLAS.gemm(
                transA: false, transB: false, m: m, n: columns, k: n, alpha: 1, a: gp + r0, lda: rows,
                b: UnsafePointer(buffer), ldb: columns, beta: r0 == 0 ? 0 : 1, c: dp, ldc: columns)
        }
        return withExtendedLifetime((owner, gc)) { dx }
    }
}
