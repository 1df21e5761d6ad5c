/// The memory behind one or more tensors: a typed-agnostic byte buffer on a device.
///
/// Tensors are values that share storage: views (reshape, transpose, slice) point into the same
/// storage with other strides and offsets. Storage either owns a pooled buffer, or borrows memory
/// that another object keeps alive (a memory-mapped checkpoint file).
public final class TensorStorage: @unchecked Sendable {
    /// The first byte.
    public let base: UnsafeMutableRawPointer
    /// Usable bytes.
    public let byteCount: Int
    /// Where the bytes live.
    public let device: Device
    private let pooledCapacity: Int  // > 0 when the buffer came from the pool
    private let owner: AnyObject?

    /// Uninitialized storage of at least `byteCount` bytes from the buffer pool.
    init(byteCount: Int, device: Device = .cpu) {
        let (p, cap) = BufferPool.shared.allocate(bytes: max(byteCount, 1))
        base = p
        self.byteCount = byteCount
        self.device = device
        pooledCapacity = cap
        owner = nil
    }

    /// Storage that borrows `byteCount` bytes at `base`, kept valid by `owner` (e.g. a mapped file).
    public init(borrowing base: UnsafeMutableRawPointer, byteCount: Int, owner: AnyObject, device: Device = .cpu) {
        self.base = base
        self.byteCount = byteCount
        self.device = device
        pooledCapacity = 0
        self.owner = owner
    }

    deinit {
        if pooledCapacity > 0 { BufferPool.shared.release(base, capacity: pooledCapacity) }
    }
}
