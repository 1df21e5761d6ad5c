/// Reductions: sums, means, maxima over axes.
extension Tensor {
    /// Sum over `axes` (all axes when empty); reduced axes are kept with size 1 when `keepDims`.
    public func sum(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        let reduce = axes.isEmpty ? Array(0..<rank) : Array(Set(axes.map { Shape.normalize($0, rank: rank) })).sorted()
        let kept = (0..<rank).filter { !reduce.contains($0) }
        var keptShape = shape
        for a in reduce { keptShape[a] = 1 }
        let outShape = keepDims ? keptShape : kept.map { shape[$0] }
        var out = Tensor.empty(outShape, dtype: dtype)
        let inner = reduce.reduce(1) { $0 * shape[$1] }
        let outer = kept.reduce(1) { $0 * shape[$1] }
        func run<S: TensorScalar>(_: S.Type) {
            let o = out.pointer(S.self)
            if inner == 0 { o.update(repeating: 0, count: outer); return }
            if isContiguous && reduce == Array((rank - reduce.count)..<rank) {
                ReduceKernels.rowSums(pointer(S.self), rows: outer, n: inner, o)
            } else if isContiguous && reduce == Array(0..<reduce.count) {
                ReduceKernels.columnSums(pointer(S.self), rows: inner, n: outer, o)
            } else {
                // Move the reduced axes last, then sum rows.
                let moved = self.detached().permuted(kept + reduce).contiguous()
                ReduceKernels.rowSums(moved.pointer(S.self), rows: outer, n: inner, o)
            }
        }
        precondition(dtype.isComputable, "sum of a \(dtype) tensor")
        if dtype == .float32 { run(Float.self) } else { run(Double.self) }
        Tensor.record(&out, .sum(inputShape: shape, keptShape: keptShape), inputs: [self])
        return out
    }

    /// Sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Mean over `axes` (all axes when empty).
    public func mean(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        let reduced = axes.isEmpty ? count : Set(axes.map { Shape.normalize($0, rank: rank) }).reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepDims: keepDims) * (1.0 / Double(Swift.max(reduced, 1)))
    }

    /// Mean over one axis.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Variance over one axis (biased, as layer norm uses; `unbiased` divides by n − 1).
    public func variance(axis: Int, keepDims: Bool = false, unbiased: Bool = false) -> Tensor {
        let n = size(axis)
        let centered = self - mean(axis: axis, keepDims: true)
        let ss = centered.squared().sum(axis: axis, keepDims: keepDims)
        return ss * (1.0 / Double(Swift.max(unbiased ? n - 1 : n, 1)))
    }

    /// Maximum over one axis; the gradient flows to the first position holding the maximum.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        let (values, indices) = maxWithIndices(axis: a)
        var keptShape = shape
        keptShape[a] = 1
        var out = keepDims ? values.reshaped(keptShape) : values
        Tensor.record(&out, .maxAlong(axis: a, indices: indices, inputShape: shape), inputs: [self])
        return out
    }

    /// Index of the maximum along `axis` (axis removed), as an `int32` tensor.
    public func argmax(axis: Int) -> Tensor { maxWithIndices(axis: Shape.normalize(axis, rank: rank)).indices }

    /// Largest element.
    public func max() -> Tensor { reshaped([count]).max(axis: 0) }

    private func maxWithIndices(axis a: Int) -> (values: Tensor, indices: Tensor) {
        precondition(dtype.isComputable && shape[a] > 0, "max over axis \(a) of a \(dtype) tensor of shape \(shape)")
        let kept = (0..<rank).filter { $0 != a }
        let moved = self.detached().permuted(kept + [a]).contiguous()
        let n = shape[a]
        let rows = count / n
        let outShape = kept.map { shape[$0] }
        let values = Tensor.empty(outShape, dtype: dtype)
        let indices = Tensor.empty(outShape, dtype: .int32)
        let ip = indices.pointer(Int32.self)
        func run<S: TensorScalar>(_: S.Type) {
            let x = moved.pointer(S.self), v = values.pointer(S.self)
            for r in 0..<rows {
                let row = x + r * n
                var best = 0
                for j in 1..<Swift.max(n, 1) where row[j] > row[best] { best = j }
                v[r] = row[best]
                ip[r] = Int32(best)
            }
        }
        if dtype == .float32 { run(Float.self) } else { run(Double.self) }
        return (values, indices)
    }

    /// Sums a broadcast gradient back down to `target` (the shape an operand had before broadcasting).
    func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        var axes = Array(0..<lead)
        for (i, d) in target.enumerated() where d == 1 && shape[lead + i] != 1 { axes.append(lead + i) }
        let reduced = axes.isEmpty ? self : sum(axes: axes, keepDims: true)
        return reduced.reshaped(target)
    }
}
