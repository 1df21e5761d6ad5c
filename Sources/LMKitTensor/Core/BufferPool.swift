import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// A cache of freed storage buffers, bucketed by size class.
///
/// Large `malloc` blocks go straight to the kernel (`mmap`), so a fresh multi-megabyte buffer per op
/// means page faults and zeroing on every call. Reusing freed buffers of the same size class makes the
/// steady state of a training loop allocation-free. Size classes are 4 per power of two (≤ 19% waste).
final class BufferPool: Sendable {
    static let shared = BufferPool(limitBytes: BufferPool.defaultLimit())

    private struct State: ~Copyable {
        var free: [Int: [UInt]] = [:]  // addresses (raw pointers are not Sendable)
        var cachedBytes = 0
    }

    private let state = Mutex(State())
    private let limitBytes: Int
    static let alignment = 64

    init(limitBytes: Int) {
        self.limitBytes = limitBytes
    }

    /// The cache limit: `LMKIT_POOL_MB` megabytes, or 2 GiB.
    static func defaultLimit() -> Int {
        if let text = getenv("LMKIT_POOL_MB"), let mb = Int(String(cString: text)), mb >= 0 {
            return mb << 20
        }
        return 2 << 30
    }

    /// The size class that holds `bytes`: the smallest value of the form (4+k)·2^e, k in 0..<4, ≥ bytes.
    static func sizeClass(_ bytes: Int) -> Int {
        let n = max(bytes, 64)
        let e = Int.bitWidth - (n - 1).leadingZeroBitCount - 3  // 2^(e+2) < n ≤ 2^(e+3)
        if e <= 0 { return (n + 7) & ~7 }
        let unit = 1 << e
        return (n + unit - 1) / unit * unit
    }

    /// A buffer of at least `bytes` bytes, 64-byte aligned, contents undefined.
    func allocate(bytes: Int) -> (pointer: UnsafeMutableRawPointer, capacity: Int) {
        let size = Self.sizeClass(bytes)
        let reused: UInt? = state.withLock { state in
            guard var list = state.free[size], let p = list.popLast() else { return nil }
            state.free[size] = list
            state.cachedBytes -= size
            return p
        }
        if let reused, let p = UnsafeMutableRawPointer(bitPattern: reused) { return (p, size) }
        return (UnsafeMutableRawPointer.allocate(byteCount: size, alignment: Self.alignment), size)
    }

    /// Gives a buffer from ``allocate(bytes:)`` back; it is kept for reuse while the cache is under its limit.
    func release(_ pointer: UnsafeMutableRawPointer, capacity: Int) {
        let address = UInt(bitPattern: pointer)
        let kept = state.withLock { state -> Bool in
            guard state.cachedBytes + capacity <= limitBytes else { return false }
            state.free[capacity, default: []].append(address)
            state.cachedBytes += capacity
            return true
        }
        if !kept { pointer.deallocate() }
    }

    /// Frees every cached buffer (for tests and for handing memory back between phases).
    func drain() {
        let all = state.withLock { state -> [UInt] in
            let all = state.free.values.flatMap { $0 }
            state.free = [:]
            state.cachedBytes = 0
            return all
        }
        for a in all { UnsafeMutableRawPointer(bitPattern: a)?.deallocate() }
    }

    /// Bytes currently held in the cache.
    var cachedBytes: Int { state.withLock { $0.cachedBytes } }
}
