/// The character tests and the lowercasing that NLTK's Python code relies on, on Unicode scalars.
///
/// Python strings are sequences of code points, and NLTK 3.10 asks two regular-expression engines
/// about them: the third-party `regex` module (every pattern compiled through `nltk/redos.py`) and
/// the standard `re` module (only `NLTKWordTokenizer.CONTRACTIONS2/3`). They disagree on `\w` and
/// `\s`, so each test here names the engine it mirrors. Measured against CPython 3.11 / regex
/// 2026.11.15 on every code point: the only differences come from characters assigned after
/// Unicode 14 (the Swift runtime knows newer Unicode than CPython 3.11 does).
enum PythonCharacters {
    /// `\s` of the `regex` module: the White_Space property (25 characters; `\x1c`–`\x1f` are not in it).
    @inline(__always)
    static func isRegexSpace(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c.value == 0x20 || (c.value >= 0x09 && c.value <= 0x0D) }
        return CharacterClass.of(c).contains(.whitespace)
    }

    /// `str.isspace()` and `\s` of `re`: White_Space plus the separators `\x1c`–`\x1f`.
    @inline(__always)
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c.value == 0x20 || (c.value >= 0x09 && c.value <= 0x0D) || (c.value >= 0x1C && c.value <= 0x1F) }
        return CharacterClass.of(c).contains(.whitespace)
    }

    /// `string.whitespace`: the six ASCII characters `" \t\n\r\x0b\x0c"` (punkt's `_get_last_whitespace_index`).
    @inline(__always)
    static func isASCIIWhitespace(_ c: Unicode.Scalar) -> Bool {
        c.value == 0x20 || (c.value >= 0x09 && c.value <= 0x0D)
    }

    /// `\w` of the `regex` module: Alphabetic, marks, decimal digits (Nd), connector punctuation, Join_Control.
    @inline(__always)
    static func isRegexWord(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return isASCIIAlnum(c) || c == "_" }
        return CharacterClass.of(c).contains(.word)
    }

    /// `\w` of `re`: `str.isalnum()` (letters L*, and anything with a numeric value) or `_`.
    @inline(__always)
    static func isReWord(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return isASCIIAlnum(c) || c == "_" }
        let cls = CharacterClass.of(c)
        if cls.contains(.letter) || cls.contains(.number) { return true }
        return c.properties.numericType != nil  // CJK ideographs with a numeric value are letters already
    }

    /// `\d` of both engines: general category Nd.
    @inline(__always)
    static func isDecimal(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c.value >= 0x30 && c.value <= 0x39 }
        return CharacterClass.of(c).contains(.decimal)
    }

    /// `str.isupper()` of one character: the Uppercase property.
    @inline(__always)
    static func isUpper(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c.value >= 0x41 && c.value <= 0x5A }
        return CharacterClass.of(c).contains(.upper)
    }

    /// `str.islower()` of one character: the Lowercase property.
    @inline(__always)
    static func isLower(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c.value >= 0x61 && c.value <= 0x7A }
        return CharacterClass.of(c).contains(.lower)
    }

    @inline(__always)
    private static func isASCIIAlnum(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A)
    }

    /// `str.lower()`: the full lowercase mapping of each code point (`"İ"` becomes `"i̇"`, two code
    /// points), with CPython's Final_Sigma rule for `Σ`: it becomes `ς` when a cased letter precedes
    /// it and none follows (case-ignorable characters such as `'` or `.` are skipped both ways).
    static func lowercased<C: RandomAccessCollection>(_ s: C) -> [Unicode.Scalar]
    where C.Element == Unicode.Scalar, C.Index == Int {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for i in s.indices {
            let c = s[i]
            if c.value < 0x80 {
                out.append(c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(UInt8(c.value + 32)) : c)
            } else if c.value == 0x3A3 {
                out.append(isFinalSigma(s, at: i) ? "\u{3C2}" : "\u{3C3}")
            } else {
                out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return out
    }

    /// CPython's `handle_capital_sigma`: `\p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased})`.
    private static func isFinalSigma<C: RandomAccessCollection>(_ s: C, at i: Int) -> Bool
    where C.Element == Unicode.Scalar, C.Index == Int {
        var j = i - 1
        while j >= s.startIndex, s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= s.startIndex, s[j].properties.isCased else { return false }
        j = i + 1
        while j < s.endIndex, s[j].properties.isCaseIgnorable { j += 1 }
        return j == s.endIndex || !s[j].properties.isCased
    }
}
