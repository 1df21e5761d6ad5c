/// Gather and scatter of rows: the embedding lookup and its gradient.
extension Tensor {
    /// Rows of this `[rows, width]` table picked by integer `indices` of any shape: `[…, width]`.
    public func gatheringRows(_ indices: Tensor) -> Tensor {
        precondition(rank == 2 && dtype.isComputable, "gatheringRows needs a float [rows, width] table, got \(dtype) \(shape)")
        let ids = indices.indexValues
        let rows = shape[0], width = shape[1]
        for (i, id) in ids.enumerated() {
            precondition(id >= 0 && id < rows, "index \(id) at position \(i) is outside the table's \(rows) rows")
        }
        let table = contiguous()
        var out = Tensor.empty(indices.shape + [width], dtype: dtype)
        let bytes = width * dtype.byteSize
        let src = UnsafeRawPointer(table.storage.base) + table.offset * dtype.byteSize
        let dst = out.storage.base
        for (i, id) in ids.enumerated() {
            (dst + i * bytes).copyMemory(from: src + id * bytes, byteCount: bytes)
        }
        Tensor.record(&out, .gatherRows(tableShape: shape, indices: ids), inputs: [self])
        return out
    }

    /// A `[rows, width]` tensor of zeros with `values: [k, width]` added at rows `indices[k]`
    /// (repeated indices accumulate). The gradient of ``gatheringRows(_:)``.
    public static func scatterAddingRows(_ values: Tensor, indices: [Int], rows: Int) -> Tensor {
        let width = values.size(-1)
        precondition(values.count == indices.count * width, "scatterAddingRows: \(indices.count) indices for values \(values.shape)")
        var out = Tensor.zeros([rows, width], dtype: values.dtype)
        let v = values.contiguous()
        func run<S: TensorScalar>(_: S.Type) {
            let o = out.pointer(S.self), src = v.pointer(S.self)
            for (k, id) in indices.enumerated() {
                precondition(id >= 0 && id < rows, "scatterAddingRows: index \(id) outside 0..<\(rows)")
                let dst = o + id * width, s = src + k * width
                for j in 0..<width { dst[j] += s[j] }
            }
        }
        if values.dtype == .float32 { run(Float.self) } else { run(Double.self) }
        Tensor.record(&out, .scatterRows(indices: indices, width: width), inputs: [values])
        return out
    }
}
