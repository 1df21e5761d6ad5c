/// An n-dimensional array of numbers with reverse-mode automatic differentiation.
///
/// `Tensor` is a value: operations return new tensors and never change their inputs. Views
/// (``reshaped(_:)``, ``transposed(_:_:)``, ``sliced(axis:range:)``, broadcasting) share storage with
/// the tensor they come from and cost no copy. A tensor that takes part in a computation involving a
/// ``requiringGradient()`` leaf records how it was made, so ``backward()`` can compute gradients.
///
/// ```swift
/// let w = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4] as [Float]).requiringGradient()
/// let loss = (w * w).sum()
/// loss.backward()
/// w.gradient!.scalars(as: Float.self)  // [2, 4, 6, 8]
/// ```
public struct Tensor: @unchecked Sendable {
    /// Size of each axis.
    public let shape: [Int]
    /// Distance in elements between neighbours along each axis (0 on broadcast axes).
    public let strides: [Int]
    /// Position of the first element in `storage`, in elements.
    public let offset: Int
    /// Element type.
    public let dtype: DType
    /// The memory this tensor views.
    public internal(set) var storage: TensorStorage
    /// How this tensor was computed, when gradients flow through it.
    var node: GradNode?

    init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int, dtype: DType, node: GradNode? = nil) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.dtype = dtype
        self.node = node
    }

    /// A new contiguous tensor with uninitialized contents.
    static func empty(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        let count = Shape.count(shape)
        let storage = TensorStorage(byteCount: count * dtype.byteSize)
        return Tensor(storage: storage, shape: shape, strides: Shape.contiguousStrides(shape), offset: 0, dtype: dtype)
    }

    /// Number of axes.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { Shape.count(shape) }
    /// The device holding the storage.
    public var device: Device { storage.device }

    /// Whether the elements lie in row-major order with no gaps, so the tensor is one flat buffer.
    public var isContiguous: Bool {
        var expected = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// Size of `axis`; negative axes count from the end.
    public func size(_ axis: Int) -> Int { shape[Shape.normalize(axis, rank: rank)] }
}

// MARK: - Creation

extension Tensor {
    /// A tensor holding `scalars` in row-major order.
    public init<S: TensorScalar>(shape: [Int], scalars: [S]) {
        precondition(
            Shape.count(shape) == scalars.count, "Tensor(shape: \(shape)) needs \(Shape.count(shape)) scalars, got \(scalars.count)")
        self = Tensor.empty(shape, dtype: S.dtype)
        let p = mutablePointer(S.self)
        scalars.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: scalars.count) }
    }

    /// A contiguous tensor over existing storage (a memory-mapped file, say), starting at its first byte.
    public init(storage: TensorStorage, shape: [Int], dtype: DType) {
        precondition(
            Shape.count(shape) * dtype.byteSize <= storage.byteCount,
            "Tensor(storage:shape: \(shape), dtype: \(dtype)) needs more than the storage's \(storage.byteCount) bytes")
        self.init(storage: storage, shape: shape, strides: Shape.contiguousStrides(shape), offset: 0, dtype: dtype)
    }

    /// A rank-0 tensor.
    public init(_ value: Float) { self.init(shape: [], scalars: [value]) }

    /// A float32 or float64 tensor from `Double` values.
    public init(shape: [Int], doubles: [Double], dtype: DType = .float32) {
        precondition(dtype.isComputable, "Tensor(shape:doubles:dtype:) makes float32 or float64 tensors, not \(dtype)")
        if dtype == .float64 {
            self.init(shape: shape, scalars: doubles)
        } else {
            self.init(shape: shape, scalars: doubles.map { Float($0) })
        }
    }

    /// A rank-0 tensor of the given type.
    public init(_ value: Double, dtype: DType) {
        self.init(shape: [], doubles: [value], dtype: dtype)
    }

    /// An integer tensor of indices (token ids, labels), stored as `int32`.
    public init(indices: [Int], shape: [Int]) {
        precondition(
            Shape.count(shape) == indices.count, "Tensor(indices:shape: \(shape)) needs \(Shape.count(shape)) values, got \(indices.count)")
        self = Tensor.empty(shape, dtype: .int32)
        let p = storage.base.assumingMemoryBound(to: Int32.self)
        for (i, v) in indices.enumerated() {
            precondition(v >= Int(Int32.min) && v <= Int(Int32.max), "index \(v) does not fit in int32")
            p[i] = Int32(v)
        }
    }

    /// A tensor filled with `value`.
    public static func full(_ value: Double, shape: [Int], dtype: DType = .float32) -> Tensor {
        let t = Tensor.empty(shape, dtype: dtype)
        switch dtype {
        case .float32: t.mutablePointer(Float.self).update(repeating: Float(value), count: t.count)
        case .float64: t.mutablePointer(Double.self).update(repeating: value, count: t.count)
        default: preconditionFailure("full(_:shape:dtype:) supports float32 and float64, not \(dtype)")
        }
        return t
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        let t = Tensor.empty(shape, dtype: dtype)
        t.storage.base.initializeMemory(as: UInt8.self, repeating: 0, count: t.count * dtype.byteSize)
        return t
    }

    /// A tensor of ones.
    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor { full(1, shape: shape, dtype: dtype) }

    /// A zero tensor with the shape and type of `other`.
    public static func zeros(like other: Tensor) -> Tensor { zeros(other.shape, dtype: other.dtype) }

    /// `[start, start + step, …]` below `end`.
    public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .float32) -> Tensor {
        precondition(step != 0, "arange: step must not be 0")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        let values: [Double] = (0..<n).map { start + Double($0) * step }
        return Tensor(shape: [n], doubles: values, dtype: dtype)
    }
}

// MARK: - Reading values

extension Tensor {
    /// Pointer to the first element, typed. Callers must respect `strides` unless `isContiguous`.
    func pointer<S>(_: S.Type) -> UnsafeMutablePointer<S> {
        precondition(MemoryLayout<S>.size == dtype.byteSize, "pointer(\(S.self)) on a \(dtype) tensor")
        return storage.base.assumingMemoryBound(to: S.self) + offset
    }

    /// Pointer for writing into a tensor this op has just created.
    func mutablePointer<S>(_ type: S.Type) -> UnsafeMutablePointer<S> { pointer(type) }

    /// The elements in row-major order, converted to `S`.
    public func scalars<S: TensorScalar>(as: S.Type) -> [S] {
        let t = dtype == S.dtype ? self.contiguous() : self.converted(to: S.dtype)
        return Array(UnsafeBufferPointer(start: t.pointer(S.self), count: t.count))
    }

    /// A contiguous copy with storage of its own (no gradient history): writing into either tensor
    /// leaves the other as it was, as PyTorch's `clone().detach()`. (`contiguous()` and loading a
    /// module share storage when they can.)
    public func copied() -> Tensor {
        let source = contiguous()
        let out = Tensor.empty(shape, dtype: dtype)
        out.storage.base.copyMemory(from: source.storage.base + source.offset * dtype.byteSize, byteCount: count * dtype.byteSize)
        return withExtendedLifetime(source) { out }
    }

    /// The elements in row-major order as `Float`.
    public var floats: [Float] { scalars(as: Float.self) }
    /// The elements in row-major order as `Double`.
    public var doubles: [Double] { scalars(as: Double.self) }

    /// The integer values of an index tensor (any integer or float type) in row-major order.
    public var indexValues: [Int] {
        let t = contiguous()
        let n = t.count
        let raw = UnsafeRawPointer(t.storage.base) + t.offset * dtype.byteSize
        switch dtype {
        case .int64: return (0..<n).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        case .int32: return (0..<n).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        case .int16: return (0..<n).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)) }
        case .int8: return (0..<n).map { Int(raw.load(fromByteOffset: $0, as: Int8.self)) }
        case .uint8, .bool: return (0..<n).map { Int(raw.load(fromByteOffset: $0, as: UInt8.self)) }
        default: return t.doubles.map { Int($0) }
        }
    }

    /// The single value of a one-element tensor.
    public func item() -> Double {
        precondition(count == 1, "item() needs a one-element tensor, got shape \(shape)")
        return doubles[0]
    }
}

extension Tensor: CustomStringConvertible {
    /// The dtype, shape and first 8 values, e.g. `Tensor(float32, shape: [2, 3], [1.0, 2.0, …])`.
    public var description: String {
        let shown: String
        if dtype.isComputable {
            let values = doubles
            let head = values.prefix(8).map { "\(Float($0))" }.joined(separator: ", ")
            shown = values.count > 8 ? head + ", …" : head
        } else {
            shown = indexValues.prefix(8).map(String.init).joined(separator: ", ") + (count > 8 ? ", …" : "")
        }
        return "Tensor(\(dtype), shape: \(shape), [\(shown)])"
    }
}
