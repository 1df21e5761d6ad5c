/// Text on its way through a tokenizer: UTF-8 bytes, and for every byte the byte range of the
/// original text it came from, so that tokens found in normalized text ("cafe" from "Café") still
/// report offsets in the original.
struct NormalizedText: Sendable {
    var bytes: [UInt8]
    /// Original start and end of each byte; nil while the text is unchanged (then byte i is i..<i+1).
    var starts: [Int32]?
    var ends: [Int32]?
    /// Offset of this text in the original string (a segment between special tokens).
    var base: Int

    init(bytes: [UInt8], base: Int = 0) {
        self.bytes = bytes
        self.base = base
    }

    /// Original byte range of the normalized bytes `range`.
    func originalRange(_ range: Range<Int>) -> Range<Int> {
        guard let starts, let ends else { return (base + range.lowerBound)..<(base + range.upperBound) }
        if range.isEmpty {
            let at = range.lowerBound < starts.count ? Int(starts[range.lowerBound]) : (ends.last.map { Int($0) } ?? 0)
            return (base + at)..<(base + at)
        }
        return (base + Int(starts[range.lowerBound]))..<(base + Int(ends[range.upperBound - 1]))
    }

    /// Rewrites the text one scalar at a time: `transform` appends the replacement of each scalar
    /// (nothing to delete it); every appended byte maps to the original scalar's range.
    mutating func mapScalars(_ transform: (Unicode.Scalar, inout [UInt8]) -> Void) {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var newStarts: [Int32] = []
        var newEnds: [Int32] = []
        newStarts.reserveCapacity(bytes.count)
        newEnds.reserveCapacity(bytes.count)
        bytes.withUnsafeBufferPointer { p in
            var i = 0
            while i < p.count {
                let (s, len) = UTF8Scanner.decode(p, at: i)
                let before = out.count
                transform(s, &out)
                let lo = starts.map { $0[i] } ?? Int32(i)
                let hi = ends.map { $0[i + len - 1] } ?? Int32(i + len)
                for _ in before..<out.count {
                    newStarts.append(lo)
                    newEnds.append(hi)
                }
                i += len
            }
        }
        bytes = out
        starts = newStarts
        ends = newEnds
    }

    /// Inserts `inserted` before byte `at`, aligned to the original range of the character there
    /// (Hugging Face's `prepend`: a prefix "▁" covers the first character of the text).
    /// With `emptyAlignment`, the inserted bytes map to the empty range before that character instead
    /// (the space Hugging Face's byte-level pre-tokenizer puts in front has offsets (0, 0)).
    mutating func insert(_ inserted: [UInt8], at: Int, emptyAlignment: Bool = false) {
        materializeAlignment()
        var lo: Int32, hi: Int32
        if emptyAlignment && at < bytes.count {
            lo = starts![at]
            hi = lo
        } else if at < bytes.count {
            let n = min(UTF8Scanner.sequenceLength(bytes[at]), bytes.count - at)
            lo = starts![at]
            hi = ends![at + n - 1]
        } else {
            lo = ends!.last ?? 0
            hi = lo
        }
        bytes.insert(contentsOf: inserted, at: at)
        starts!.insert(contentsOf: Array(repeating: lo, count: inserted.count), at: at)
        ends!.insert(contentsOf: Array(repeating: hi, count: inserted.count), at: at)
    }

    mutating func materializeAlignment() {
        if starts == nil {
            starts = (0..<bytes.count).map { Int32($0) }
            ends = (0..<bytes.count).map { Int32($0 + 1) }
        }
    }
}
