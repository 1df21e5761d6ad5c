/// The pre-tokenization of Llama 3 (tiktoken's `cl100k_base` pattern) and Qwen2, written out by
/// hand instead of run through a regular-expression engine, like ``GPT2Split``.
///
/// The pattern (Qwen2's has `\p{N}` where Llama 3 has `\p{N}{1,3}`):
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// At each position the alternatives are tried in order, as the backtracking engines of
/// `tokenizers` (Oniguruma) and tiktoken do:
/// 1. an English contraction, any case (`'S`, `'ll`; `ſ` folds to `s`);
/// 2. one character that is not a letter, digit or line break, if letters follow, then the letters
///    (`" world"`, `"(hello"`, `"\tx"`);
/// 3. up to `maxDigits` digits;
/// 4. an optional space, a run of other characters (not space, letter or digit), then any line breaks;
/// 5. whitespace up to and including its last line break (`"  \n\n"`);
/// 6. a whitespace run that leaves its last character to the next piece when a non-space follows;
/// 7. any whitespace left.
/// `\s` is Unicode White_Space; invalid UTF-8 bytes count as "other" characters.
enum Llama3Split {
    private enum Kind { case letter, number, space, other }

    @inline(__always)
    private static func kind(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (Kind, Int) {
        let (s, n) = UTF8Scanner.decode(p, at: i)
        if n == 1 && p[i] >= 0x80 { return (.other, 1) }  // an invalid byte
        let c = s.characterClass
        if c.contains(.letter) { return (.letter, n) }
        if c.contains(.number) { return (.number, n) }
        if c.contains(.whitespace) { return (.space, n) }
        return (.other, n)
    }

    @inline(__always) private static func isLineBreak(_ b: UInt8) -> Bool { b == 0x0A || b == 0x0D }

    /// The length of a contraction at `i` (an apostrophe then s, t, m, d, re, ve or ll in any case), or 0.
    private static func contraction(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        guard p[i] == 0x27, i + 1 < end else { return 0 }
        let c = p[i + 1] | 0x20  // ASCII lower case
        if c == 0x73 || c == 0x74 || c == 0x6D || c == 0x64 { return 2 }  // s t m d
        if p[i + 1] == 0xC5, i + 2 < end, p[i + 2] == 0xBF { return 3 }  // ſ (U+017F) folds to s
        if i + 2 < end {
            let d = p[i + 2] | 0x20
            if (c == 0x72 && d == 0x65) || (c == 0x76 && d == 0x65) || (c == 0x6C && d == 0x6C) { return 3 }  // re ve ll
        }
        return 0
    }

    /// Appends the pieces of `p[range]` (absolute byte ranges) to `pieces`; `maxDigits` is 3 for
    /// Llama 3 and 1 for Qwen2.
    static func split(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, maxDigits: Int, into pieces: inout [Range<Int>]) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let start = i
            // 1. contractions
            let n = contraction(p, i, end)
            if n > 0 { pieces.append(i..<(i + n)); i += n; continue }
            let (k, len) = kind(p, i)
            // 2. [^\r\n\p{L}\p{N}]?\p{L}+
            var letters = -1
            if k == .letter {
                letters = i
            } else if k != .number && !isLineBreak(p[i]) && i + len < end && kind(p, i + len).0 == .letter {
                letters = i + len
            }
            if letters >= 0 {
                var j = letters
                while j < end {
                    let (k2, n2) = kind(p, j)
                    if k2 != .letter { break }
                    j += n2
                }
                pieces.append(start..<j); i = j; continue
            }
            // 3. \p{N}{1,maxDigits}
            if k == .number {
                var j = i + len, count = 1
                while j < end && count < maxDigits {
                    let (k2, n2) = kind(p, j)
                    if k2 != .number { break }
                    j += n2; count += 1
                }
                pieces.append(start..<j); i = j; continue
            }
            // 4. ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            var other = -1
            if k == .other {
                other = i
            } else if p[i] == 0x20 && i + 1 < end && kind(p, i + 1).0 == .other {
                other = i + 1
            }
            if other >= 0 {
                var j = other
                while j < end {
                    let (k2, n2) = kind(p, j)
                    if k2 != .other { break }
                    j += n2
                }
                while j < end && isLineBreak(p[j]) { j += 1 }
                pieces.append(start..<j); i = j; continue
            }
            // Whitespace from here on: find the run and its last line break.
            var runEnd = i, lastStart = i, lastBreakEnd = -1
            while runEnd < end {
                let (k2, n2) = kind(p, runEnd)
                if k2 != .space { break }
                if isLineBreak(p[runEnd]) { lastBreakEnd = runEnd + 1 }
                lastStart = runEnd
                runEnd += n2
            }
            // 5. \s*[\r\n]+
            if lastBreakEnd > 0 { pieces.append(start..<lastBreakEnd); i = lastBreakEnd; continue }
            // 6. \s+(?!\S), then 7. \s+
            i = runEnd < end && lastStart > start ? lastStart : runEnd
            pieces.append(start..<i)
        }
    }

    /// Pattern strings of `tokenizer.json` `Split` pre-tokenizers, with their digit-run length.
    static let patterns: [String: Int] = [
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#: 3,
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#: 1,
    ]
}

/// A `Split` pre-tokenizer with the Llama 3 or Qwen2 pattern (``Llama3Split``), pieces isolated.
struct Llama3SplitPreTokenizer: PreTokenizer {
    let maxDigits: Int

    func preTokenize(_ p: inout PreTokenized) {
        p.split { b, range, out in Llama3Split.split(b, range, maxDigits: maxDigits, into: &out) }
    }
}
