/// Reading Unicode scalars out of UTF-8 bytes, tolerant of invalid input.
///
/// Tokenizers work on the UTF-8 bytes of a text so that offsets are byte offsets and nothing is
/// copied. Invalid bytes (possible only for raw byte input) decode as U+FFFD of length 1, so every
/// byte belongs to exactly one "character" and no input can make a scanner stop or crash.
enum UTF8Scanner {
    /// Decodes the scalar starting at `i` and returns it with its length in bytes (1...4).
    @inline(__always)
    static func decode(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> (scalar: Unicode.Scalar, length: Int) {
        let b0 = p[i]
        if b0 < 0x80 { return (Unicode.Scalar(b0), 1) }
        return decodeMultibyte(p, at: i)
    }

    static func decodeMultibyte(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> (scalar: Unicode.Scalar, length: Int) {
        let b0 = UInt32(p[i])
        let n = p.count
        @inline(__always) func cont(_ k: Int) -> UInt32? {
            guard i + k < n else { return nil }
            let b = UInt32(p[i + k])
            return b & 0xC0 == 0x80 ? b & 0x3F : nil
        }
        if b0 >= 0xC2 && b0 <= 0xDF, let c1 = cont(1) {
            return (Unicode.Scalar((b0 & 0x1F) << 6 | c1)!, 2)
        }
        if b0 >= 0xE0 && b0 <= 0xEF, let c1 = cont(1), let c2 = cont(2) {
            let v = (b0 & 0x0F) << 12 | c1 << 6 | c2
            if v >= 0x800, let s = Unicode.Scalar(v) { return (s, 3) }
        }
        if b0 >= 0xF0 && b0 <= 0xF4, let c1 = cont(1), let c2 = cont(2), let c3 = cont(3) {
            let v = (b0 & 0x07) << 18 | c1 << 12 | c2 << 6 | c3
            if v >= 0x10000 && v <= 0x10FFFF, let s = Unicode.Scalar(v) { return (s, 4) }
        }
        return ("\u{FFFD}", 1)
    }

    /// Appends the UTF-8 encoding of `s` to `out`.
    @inline(__always)
    static func append(_ s: Unicode.Scalar, to out: inout [UInt8]) {
        let v = s.value
        if v < 0x80 {
            out.append(UInt8(v))
        } else if v < 0x800 {
            out.append(UInt8(0xC0 | v >> 6)); out.append(UInt8(0x80 | v & 0x3F))
        } else if v < 0x10000 {
            out.append(UInt8(0xE0 | v >> 12)); out.append(UInt8(0x80 | (v >> 6) & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        } else {
            out.append(UInt8(0xF0 | v >> 18)); out.append(UInt8(0x80 | (v >> 12) & 0x3F))
            out.append(UInt8(0x80 | (v >> 6) & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        }
    }

    /// Length of the UTF-8 sequence that `lead` starts (1 for ASCII and for invalid lead bytes).
    @inline(__always)
    static func sequenceLength(_ lead: UInt8) -> Int {
        if lead < 0xC0 { return 1 }
        if lead < 0xE0 { return 2 }
        if lead < 0xF0 { return 3 }
        return 4
    }
}

/// Turns a stream of byte chunks (one token's bytes at a time) into text, holding back an incomplete
/// UTF-8 sequence until the bytes that complete it arrive: a byte-level BPE token can end in the
/// middle of a character, and a streaming generator must not print half of one.
///
/// ```swift
/// var stream = UTF8StreamDecoder()
/// for id in ids { print(stream.push(tokenizer.bytes(of: id)), terminator: "") }
/// print(stream.finish())
/// ```
public struct UTF8StreamDecoder: Sendable {
    private var pending: [UInt8] = []

    /// A decoder with no bytes held back.
    public init() {}

    /// Adds bytes and returns the text that is now complete. Invalid bytes become U+FFFD.
    public mutating func push<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        pending.append(contentsOf: bytes)
        // Find the start of a trailing, possibly incomplete sequence (at most 3 bytes back).
        var cut = pending.count
        var k = pending.count - 1
        var back = 0
        while k >= 0 && back < 4 {
            let b = pending[k]
            if b & 0xC0 != 0x80 {
                if b >= 0xC0 && pending.count - k < UTF8Scanner.sequenceLength(b) { cut = k }
                break
            }
            k -= 1
            back += 1
        }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Returns whatever is left (an incomplete sequence decodes as U+FFFD) and resets.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }
}
