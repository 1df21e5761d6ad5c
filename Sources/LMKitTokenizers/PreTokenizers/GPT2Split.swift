/// GPT-2's pre-tokenization, written out by hand instead of run through a regular-expression engine.
///
/// The pattern (from openai/gpt-2 `encoder.py`, also tiktoken's `r50k_base`):
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// At each position the alternatives are tried in order, as a backtracking engine would:
/// a lower-case English contraction; an optional single space then a run of letters, of digits,
/// or of other non-space characters; a run of whitespace that leaves its last character to the
/// next piece when a non-space follows (so " world" keeps its space); any whitespace left.
/// Invalid UTF-8 bytes count as "other" characters.
enum GPT2Split {
    private enum Kind { case letter, number, space, other }

    @inline(__always)
    private static func kind(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ ascii: UnsafeBufferPointer<Kind>) -> (Kind, Int) {
        let b = p[i]
        if b < 0x80 { return (ascii[Int(b)], 1) }
        let (s, n) = UTF8Scanner.decodeMultibyte(p, at: i)
        if n == 1 { return (.other, 1) }  // invalid byte
        let c = s.characterClass
        if c.contains(.letter) { return (.letter, n) }
        if c.contains(.number) { return (.number, n) }
        if c.contains(.whitespace) { return (.space, n) }
        return (.other, n)
    }

    private static let asciiKinds: [Kind] = (0..<128).map { v -> Kind in
        let s = Unicode.Scalar(UInt8(v))
        let c = s.characterClass
        if c.contains(.letter) { return .letter }
        if c.contains(.number) { return .number }
        if c.contains(.whitespace) { return .space }
        return .other
    }

    /// Appends the pieces of `p[range]` (absolute byte ranges) to `pieces`.
    static func split(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into pieces: inout [Range<Int>]) {
        asciiKinds.withUnsafeBufferPointer { ascii in split(p, range, ascii, into: &pieces) }
    }

    private static func split(
        _ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ ascii: UnsafeBufferPointer<Kind>, into pieces: inout [Range<Int>]
    ) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let start = i
            let b = p[i]
            // 's 't 're 've 'm 'll 'd
            if b == 0x27, i + 1 < end {
                let c = p[i + 1]
                if c == 0x73 || c == 0x74 || c == 0x6D || c == 0x64 { pieces.append(i..<(i + 2)); i += 2; continue }
                if i + 2 < end {
                    let d = p[i + 2]
                    if (c == 0x72 && d == 0x65) || (c == 0x76 && d == 0x65) || (c == 0x6C && d == 0x6C) {
                        pieces.append(i..<(i + 3)); i += 3; continue
                    }
                }
            }
            var j = i
            var (k, n) = kind(p, j, ascii)
            if b == 0x20 && j + 1 < end {
                let (k2, n2) = kind(p, j + 1, ascii)
                if k2 != .space { j += 1; k = k2; n = n2 }
            }
            if k == .space {
                // \s+(?!\S) then \s+
                var runEnd = j + n
                var lastStart = j
                while runEnd < end {
                    let (k3, n3) = kind(p, runEnd, ascii)
                    if k3 != .space { break }
                    lastStart = runEnd
                    runEnd += n3
                }
                if runEnd < end && lastStart > start {
                    i = lastStart  // leave the last whitespace character to the following piece
                } else {
                    i = runEnd
                }
                pieces.append(start..<i)
                continue
            }
            j += n
            while j < end {
                let (k3, n3) = kind(p, j, ascii)
                if k3 != k { break }
                j += n3
            }
            pieces.append(start..<j)
            i = j
        }
    }

    /// The pattern string as `tokenizer.json` files and tiktoken spell it, to recognize it in a `Split`.
    static let patterns: Set<String> = [
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#,
        #"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#,
    ]
}
