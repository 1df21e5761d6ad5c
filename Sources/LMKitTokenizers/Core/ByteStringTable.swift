/// A hash table from byte strings to 32-bit values: the vocabulary lookup of every model and the
/// piece cache of BPE. Keys live in one byte arena and slots are open-addressed, so a lookup hashes
/// the bytes once and compares them in place, without building a `String` or an `Array`.
struct ByteStringTable: Sendable {
    private struct Slot: Sendable {
        var start: Int32 = -1
        var length: Int32 = 0
        var value: Int32 = 0
        var hash: UInt32 = 0
    }

    private var arena: [UInt8] = []
    private var slots: [Slot]
    private var mask: Int
    /// Number of keys stored.
    private(set) var count = 0

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: Slot(), count: size)
        mask = size - 1
    }

    /// Stores `value` under `key`, replacing a previous value. Returns false when the key was new.
    @discardableResult
    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, value: Int32) -> Bool {
        if (count + 1) * 2 > slots.count { grow() }
        let h = ByteStringTable.hash(key)
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[i]
            if s.start < 0 {
                let start = Int32(arena.count)
                arena.append(contentsOf: key)
                slots[i] = Slot(start: start, length: Int32(key.count), value: value, hash: UInt32(truncatingIfNeeded: h))
                count += 1
                return false
            }
            if s.hash == UInt32(truncatingIfNeeded: h), s.length == key.count, equal(s, key) {
                slots[i].value = value
                return true
            }
            i = (i + 1) & mask
        }
    }

    /// The table of a vocabulary (spelling → id; the first id wins for a repeated spelling; empty
    /// spellings are gaps) and the longest spelling in bytes.
    static func vocabulary(_ tokens: [String]) -> (table: ByteStringTable, longest: Int) {
        var table = ByteStringTable(capacity: tokens.count)
        var longest = 0
        for (i, t) in tokens.enumerated() where !t.isEmpty {
            let b = Array(t.utf8)
            if table.lookup(b) == nil { table.insert(b, value: Int32(i)) }
            longest = max(longest, b.count)
        }
        return (table, longest)
    }

    mutating func insert(_ key: [UInt8], value: Int32) {
        key.withUnsafeBufferPointer { _ = insert($0, value: value) }
    }

    /// The value stored under `key`, if any.
    @inline(__always)
    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        let h = ByteStringTable.hash(key)
        var i = Int(truncatingIfNeeded: h) & mask
        return slots.withUnsafeBufferPointer { slots in
            while true {
                let s = slots[i]
                if s.start < 0 { return nil }
                if s.hash == UInt32(truncatingIfNeeded: h), s.length == key.count, equal(s, key) { return s.value }
                i = (i + 1) & mask
            }
        }
    }

    func lookup(_ key: [UInt8]) -> Int32? { key.withUnsafeBufferPointer { lookup($0) } }

    mutating func removeAll() {
        arena.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = Slot() }
        count = 0
    }

    @inline(__always)
    private func equal(_ s: Slot, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        if key.isEmpty { return true }
        return arena.withUnsafeBufferPointer { a in
            memcmpBytes(a.baseAddress! + Int(s.start), key.baseAddress!, key.count)
        }
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(), count: old.count * 2)
        mask = slots.count - 1
        for s in old where s.start >= 0 {
            var i = Int(s.hash) & mask
            while slots[i].start >= 0 { i = (i + 1) & mask }
            slots[i] = s
        }
    }

    /// A fast non-cryptographic hash of a byte string (8 bytes per step, then the tail).
    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let n = key.count
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
        guard let p = key.baseAddress else { return h }
        var i = 0
        while i + 8 <= n {
            let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(p[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
        h ^= h >> 29
        // The low 32 bits are stored in slots; mix the high half in so they are well spread.
        return h ^ (h >> 32)
    }
}

@inline(__always)
func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    while i + 8 <= n {
        if UnsafeRawPointer(a + i).loadUnaligned(as: UInt64.self) != UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self) { return false }
        i += 8
    }
    while i < n {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}

/// A hash map from a pair of token ids to a merge: its priority (lower merges first) and the id it makes.
struct PairTable: Sendable {
    private var keys: [UInt64]
    private var values: [(priority: Float, merged: Int32)]
    private var mask: Int
    private(set) var count = 0
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = Array(repeating: PairTable.empty, count: size)
        values = Array(repeating: (0, 0), count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func slot(_ key: UInt64) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return Int(truncatingIfNeeded: h)
    }

    /// Records the merge of (a, b); keeps the earlier (lower-priority) one when a pair repeats.
    mutating func insert(_ a: Int32, _ b: Int32, priority: Float, merged: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        let key = UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
        var i = PairTable.slot(key) & mask
        while keys[i] != PairTable.empty {
            if keys[i] == key {
                if priority < values[i].priority { values[i] = (priority, merged) }
                return
            }
            i = (i + 1) & mask
        }
        keys[i] = key
        values[i] = (priority, merged)
        count += 1
    }

    @inline(__always)
    func lookup(_ a: Int32, _ b: Int32) -> (priority: Float, merged: Int32)? {
        let key = UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
        var i = PairTable.slot(key) & mask
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k == PairTable.empty { return nil }
            i = (i + 1) & mask
        }
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = Array(repeating: PairTable.empty, count: oldKeys.count * 2)
        values = Array(repeating: (0, 0), count: oldKeys.count * 2)
        mask = keys.count - 1
        count = 0
        for (i, k) in oldKeys.enumerated() where k != PairTable.empty {
            var j = PairTable.slot(k) & mask
            while keys[j] != PairTable.empty { j = (j + 1) & mask }
            keys[j] = k
            values[j] = oldValues[i]
            count += 1
        }
    }
}
