/// Views: new shapes over the same storage. `reshaped` of a contiguous tensor, `permuted`,
/// `transposed`, `expanded` and `sliced` copy nothing; `contiguous()` copies only when needed.
extension Tensor {
    /// The same elements with another shape; one axis may be -1 (inferred). Free for contiguous tensors.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let infer = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().reduce(1) { $1.offset == infer ? $0 : $0 * $1.element }
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            target[infer] = count / known
        }
        precondition(Shape.count(target) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        let base = isContiguous ? self : contiguous()
        var out = Tensor(storage: base.storage, shape: target, strides: Shape.contiguousStrides(target), offset: base.offset, dtype: dtype)
        Tensor.record(&out, .reshape(inputShape: shape), inputs: [self])
        return out
    }

    /// Reorders the axes: result axis i is input axis `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.count == rank && Set(order) == Set(0..<rank), "permuted(\(order)) is not a permutation of \(rank) axes")
        var out = Tensor(storage: storage, shape: order.map { shape[$0] }, strides: order.map { strides[$0] }, offset: offset, dtype: dtype)
        Tensor.record(&out, .permute(order: order), inputs: [self])
        return out
    }

    /// Swaps two axes (default: the last two, a matrix transpose).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(Shape.normalize(a, rank: rank), Shape.normalize(b, rank: rank))
        return permuted(order)
    }

    /// Broadcasts to `target` by repeating size-1 (or missing leading) axes, without copying.
    public func expanded(to target: [Int]) -> Tensor {
        if target == shape { return self }
        let s = Shape.broadcastStrides(shape: shape, strides: strides, to: target)
        var out = Tensor(storage: storage, shape: target, strides: s, offset: offset, dtype: dtype)
        Tensor.record(&out, .expand(inputShape: shape), inputs: [self])
        return out
    }

    /// The elements `range` along `axis`.
    public func sliced(axis: Int, range: Range<Int>) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        precondition(
            range.lowerBound >= 0 && range.upperBound <= shape[a], "slice \(range) out of bounds for axis \(axis) of size \(shape[a])")
        var newShape = shape
        newShape[a] = range.count
        var out = Tensor(storage: storage, shape: newShape, strides: strides, offset: offset + range.lowerBound * strides[a], dtype: dtype)
        Tensor.record(&out, .slice(axis: a, start: range.lowerBound, inputShape: shape), inputs: [self])
        return out
    }

    /// Element `index` along `axis`, with that axis removed.
    public func selected(axis: Int, index: Int) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        var newShape = shape
        newShape.remove(at: a)
        return sliced(axis: a, range: index..<(index + 1)).reshaped(newShape)
    }

    /// Splits `axis` into `parts` equal pieces.
    public func chunked(_ parts: Int, axis: Int) -> [Tensor] {
        let a = Shape.normalize(axis, rank: rank)
        precondition(parts > 0 && shape[a] % parts == 0, "cannot split axis \(axis) of size \(shape[a]) into \(parts) equal parts")
        let size = shape[a] / parts
        return (0..<parts).map { sliced(axis: a, range: ($0 * size)..<(($0 + 1) * size)) }
    }

    /// Inserts a size-1 axis at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        var s = shape
        s.insert(1, at: a)
        return reshaped(s)
    }

    /// Removes a size-1 axis.
    public func squeezed(_ axis: Int) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        precondition(shape[a] == 1, "squeezed(\(axis)) on an axis of size \(shape[a])")
        var s = shape
        s.remove(at: a)
        return reshaped(s)
    }

    /// This tensor with its elements in row-major order (itself when it already is).
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        var out = Tensor.empty(shape, dtype: dtype)
        out.assign(from: self)
        Tensor.record(&out, .identity, inputs: [self])
        return out
    }

    /// Joins tensors along `axis`; all other axes must match.
    public static func concatenated(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenated needs at least one tensor")
        let first = tensors[0]
        let a = Shape.normalize(axis, rank: first.rank)
        for t in tensors {
            var s1 = t.shape, s0 = first.shape
            s1[a] = 0; s0[a] = 0
            precondition(
                s1 == s0 && t.dtype == first.dtype,
                "concatenated: shape \(t.shape) (\(t.dtype)) does not fit \(first.shape) (\(first.dtype)) along axis \(axis)")
        }
        var outShape = first.shape
        outShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        var out = Tensor.empty(outShape, dtype: first.dtype)
        var position = 0
        for t in tensors {
            let slot = Tensor(
                storage: out.storage, shape: t.shape, strides: out.strides,
                offset: position * out.strides[a], dtype: out.dtype)
            slot.assign(from: t)
            position += t.shape[a]
        }
        Tensor.record(&out, .concat(axis: a, sizes: tensors.map { $0.shape[a] }), inputs: tensors)
        return out
    }

    /// Stacks equally shaped tensors along a new axis.
    public static func stacked(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        concatenated(tensors.map { $0.unsqueezed(axis) }, axis: axis)
    }

    /// Copies the elements of `source` (same shape and type) into the memory this tensor views.
    /// For ops that write into views of tensors they have just created; not recorded.
    func assign(from source: Tensor) {
        precondition(source.shape == shape && source.dtype == dtype, "assign: \(source.shape) \(source.dtype) into \(shape) \(dtype)")
        let dst = UnsafeMutableRawPointer(storage.base)
        let src = UnsafeRawPointer(source.storage.base)
        switch dtype.byteSize {
        case 8:
            ElementwiseKernels.copy(
                shape: shape, dst: dst.assumingMemoryBound(to: UInt64.self) + offset, dstStrides: strides,
                src: src.assumingMemoryBound(to: UInt64.self) + source.offset, srcStrides: source.strides)
        case 4:
            ElementwiseKernels.copy(
                shape: shape, dst: dst.assumingMemoryBound(to: UInt32.self) + offset, dstStrides: strides,
                src: src.assumingMemoryBound(to: UInt32.self) + source.offset, srcStrides: source.strides)
        case 2:
            ElementwiseKernels.copy(
                shape: shape, dst: dst.assumingMemoryBound(to: UInt16.self) + offset, dstStrides: strides,
                src: src.assumingMemoryBound(to: UInt16.self) + source.offset, srcStrides: source.strides)
        default:
            ElementwiseKernels.copy(
                shape: shape, dst: dst.assumingMemoryBound(to: UInt8.self) + offset, dstStrides: strides,
                src: src.assumingMemoryBound(to: UInt8.self) + source.offset, srcStrides: source.strides)
        }
    }
}

extension Tensor {
    /// Writes `source` into this tensor at positions `position ..< position + source.size(axis)` of `axis`
    /// (slice assignment, PyTorch's `self.narrow(axis, offset, n).copy_(source)`). For buffers that
    /// are filled step by step (a preallocated KV cache): this tensor must be contiguous, of the same
    /// type, and not part of a recorded computation.
    ///
    /// Copy on write: when another tensor (a view, a copy of this value) shares the storage, this
    /// tensor first gets storage of its own, so no other value changes. When none does, the write
    /// is in place and costs only the bytes written.
    public mutating func write(_ source: Tensor, axis: Int, at position: Int) {
        let a = Shape.normalize(axis, rank: rank)
        precondition(
            isContiguous && source.dtype == dtype && source.rank == rank,
            "write: \(source.shape) \(source.dtype) into \(shape) \(dtype) (contiguous)")
        for d in 0..<rank where d != a {
            precondition(source.shape[d] == shape[d], "write: \(source.shape) does not fit \(shape) outside axis \(a)")
        }
        precondition(
            position >= 0 && position + source.shape[a] <= shape[a],
            "write: positions \(position)..<\(position + source.shape[a]) outside \(shape[a])")
        precondition(node == nil, "write: the destination is part of a recorded computation")
        if !isKnownUniquelyReferenced(&storage) {
            let own = Tensor.empty(shape, dtype: dtype)
            own.storage.base.copyMemory(from: storage.base + offset * dtype.byteSize, byteCount: count * dtype.byteSize)
            self = own
        }
        let s = source.contiguous()
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        let n = source.shape[a] * inner, bytes = dtype.byteSize
        let dst = UnsafeMutableRawPointer(storage.base) + offset * bytes, src = UnsafeRawPointer(s.storage.base) + s.offset * bytes
        withExtendedLifetime(s) {
            for o in 0..<outer {
                (dst + (o * shape[a] * inner + position * inner) * bytes).copyMemory(from: src + o * n * bytes, byteCount: n * bytes)
            }
        }
    }
}
