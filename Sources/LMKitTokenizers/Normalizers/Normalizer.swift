import Foundation
import Synchronization

/// The first stage of a tokenizer: rewrites the text (lower-casing, accent stripping, Unicode
/// normalization) while keeping each byte's link to the original text.
protocol Normalizer: Sendable {
    func normalize(_ text: inout NormalizedText)
}

/// The `tokenizer.json` normalizer types LMKit reads; raw values are the JSON `"type"` strings.
enum NormalizerType: String {
    case bert = "BertNormalizer", lowercase = "Lowercase", stripAccents = "StripAccents"
    case nfd = "NFD", nfkd = "NFKD", nfc = "NFC", nfkc = "NFKC"
    case replace = "Replace", prepend = "Prepend", strip = "Strip", sequence = "Sequence"

    static func make(_ o: JSONObject) throws(TokenizerError) -> any Normalizer {
        guard let name = o.type, let type = NormalizerType(rawValue: name) else {
            throw o.unsupported("normalizer type \(o.type.map { "\"\($0)\"" } ?? "(none)")")
        }
        switch type {
        case .bert:
            return BertNormalizer(
                cleanText: try o.bool("clean_text", default: true),
                handleChineseChars: try o.bool("handle_chinese_chars", default: true),
                stripAccents: try o.optionalBool("strip_accents"),
                lowercase: try o.bool("lowercase", default: true))
        case .lowercase: return LowercaseNormalizer()
        case .stripAccents: return StripAccentsNormalizer()
        case .nfd: return UnicodeNormalizer(form: .nfd)
        case .nfkd: return UnicodeNormalizer(form: .nfkd)
        case .nfc: return UnicodeNormalizer(form: .nfc)
        case .nfkc: return UnicodeNormalizer(form: .nfkc)
        case .replace:
            guard case .string(let pattern) = try JSONPattern(o.dict["pattern"], path: o.path + ".pattern") else {
                throw o.unsupported("Replace with a regular-expression pattern")
            }
            return ReplaceNormalizer(pattern: pattern, content: try o.string("content"))
        case .prepend: return PrependNormalizer(prefix: try o.string("prepend"))
        case .strip: return StripNormalizer(left: try o.bool("strip_left", default: true), right: try o.bool("strip_right", default: true))
        case .sequence:
            return SequenceNormalizer(steps: try o.objects("normalizers").map { (n) throws(TokenizerError) in try make(n) })
        }
    }
}

struct SequenceNormalizer: Normalizer {
    let steps: [any Normalizer]
    func normalize(_ text: inout NormalizedText) { for s in steps { s.normalize(&text) } }
}

/// BERT's text cleaning (reference: `BertNormalizer` in Hugging Face tokenizers, `BasicTokenizer` in
/// transformers): drop NUL, U+FFFD and control characters, turn whitespace into spaces, put spaces
/// around CJK ideographs, strip accents (NFD, then drop Mn) and lower-case.
struct BertNormalizer: Normalizer {
    let cleanText: Bool
    let handleChineseChars: Bool
    /// nil: follow `lowercase`, as BERT does.
    let stripAccents: Bool?
    let lowercase: Bool

    func normalize(_ text: inout NormalizedText) {
        let strip = stripAccents ?? lowercase
        // Fast exit: ASCII text with nothing to clean and nothing upper-case is left as is.
        let unchanged = text.bytes.allSatisfy { b in
            b >= 0x20 && b < 0x7F && !(lowercase && b >= 0x41 && b <= 0x5A)
        }
        if unchanged { return }
        let clean = cleanText, chinese = handleChineseChars, lower = lowercase
        text.mapScalars { s, out in
            let v = s.value
            if v < 0x80 {
                var b = UInt8(v)
                if clean {
                    if b == 0 { return }
                    if b == 0x09 || b == 0x0A || b == 0x0D { b = 0x20 } else if b < 0x20 || b == 0x7F { return }
                }
                if lower && b >= 0x41 && b <= 0x5A { b += 32 }
                out.append(b)
                return
            }
            let cls = s.characterClass
            if clean {
                if v == 0xFFFD || cls.contains(.other) { return }
                if cls.contains(.whitespace) { out.append(0x20); return }
            }
            if chinese && isCJK(v) {
                out.append(0x20); UTF8Scanner.append(s, to: &out); out.append(0x20)
                return
            }
            var scalars: [Unicode.Scalar] =
                strip ? UnicodeTables.canonicalDecomposition(s).filter { !$0.characterClass.contains(.nonspacingMark) } : [s]
            if lower { scalars = scalars.flatMap { UnicodeTables.lowercase($0) } }
            for x in scalars { UTF8Scanner.append(x, to: &out) }
        }
    }

    /// The CJK Unified Ideographs blocks BERT treats as words of their own (not Japanese kana or Hangul).
    func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}

struct LowercaseNormalizer: Normalizer {
    func normalize(_ text: inout NormalizedText) {
        if !text.bytes.contains(where: { $0 >= 0x41 && $0 <= 0x5A || $0 >= 0x80 }) { return }
        text.mapScalars { s, out in
            if s.value < 0x80 {
                let b = UInt8(s.value)
                out.append(b >= 0x41 && b <= 0x5A ? b + 32 : b)
            } else {
                for x in UnicodeTables.lowercase(s) { UTF8Scanner.append(x, to: &out) }
            }
        }
    }
}

/// Removes combining marks (Mn, Mc and Me, as Hugging Face's `StripAccents` does; BERT's own
/// accent stripping removes only Mn); meant to follow NFD.
struct StripAccentsNormalizer: Normalizer {
    func normalize(_ text: inout NormalizedText) {
        if !text.bytes.contains(where: { $0 >= 0x80 }) { return }
        text.mapScalars { s, out in
            if !s.characterClass.contains(.mark) { UTF8Scanner.append(s, to: &out) }
        }
    }
}

/// Unicode normalization forms, applied one grapheme cluster at a time (composition and reordering
/// never cross a cluster boundary). Alignment follows Hugging Face: an unchanged character keeps its
/// own range; a decomposed character's pieces all map to it; a composed character maps to the first
/// character it was made from.
struct UnicodeNormalizer: Normalizer {
    enum Form { case nfd, nfkd, nfc, nfkc }
    let form: Form

    func normalized(_ s: String) -> String {
        switch form {
        case .nfd: return s.decomposedStringWithCanonicalMapping
        case .nfkd: return s.decomposedStringWithCompatibilityMapping
        case .nfc: return s.precomposedStringWithCanonicalMapping
        case .nfkc: return s.precomposedStringWithCompatibilityMapping
        }
    }

    func normalize(_ text: inout NormalizedText) {
        if !text.bytes.contains(where: { $0 >= 0x80 }) { return }
        let string = String(decoding: text.bytes, as: UTF8.self)
        var out: [UInt8] = []
        var starts: [Int32] = [], ends: [Int32] = []
        var i = 0
        func range(_ at: Int, _ n: Int) -> (Int32, Int32) {
            (text.starts.map { $0[at] } ?? Int32(at), text.ends.map { $0[at + n - 1] } ?? Int32(at + n))
        }
        for ch in string {
            let n = ch.utf8.count
            let source = String(ch)
            // Each input scalar's byte position and length.
            var scalarRanges: [(Int32, Int32)] = []
            var at = i
            for u in source.unicodeScalars {
                let len = String(u).utf8.count
                scalarRanges.append(range(at, len))
                at += len
            }
            let result = n == 1 ? source : normalized(source)
            let outScalars = Array(result.unicodeScalars)
            // (Compared by scalars: Swift's String equality is canonical equivalence.)
            if outScalars.count == scalarRanges.count {
                // Unchanged, or one for one: each scalar keeps its own range.
                for (k, u) in outScalars.enumerated() {
                    for b in String(u).utf8 { out.append(b); starts.append(scalarRanges[k].0); ends.append(scalarRanges[k].1) }
                }
            } else if outScalars.count < scalarRanges.count {
                // Composition: output scalar k comes from input scalar k onwards.
                for (k, u) in outScalars.enumerated() {
                    for b in String(u).utf8 { out.append(b); starts.append(scalarRanges[k].0); ends.append(scalarRanges[k].1) }
                }
            } else {
                // Decomposition: per input scalar when that reproduces the result, else the whole cluster.
                let pieces = source.unicodeScalars.map { normalized(String($0)) }
                if pieces.joined().unicodeScalars.elementsEqual(result.unicodeScalars) {
                    for (k, piece) in pieces.enumerated() {
                        for b in piece.utf8 { out.append(b); starts.append(scalarRanges[k].0); ends.append(scalarRanges[k].1) }
                    }
                } else {
                    let whole = range(i, n)
                    for b in result.utf8 { out.append(b); starts.append(whole.0); ends.append(whole.1) }
                }
            }
            i += n
        }
        text.bytes = out
        text.starts = starts
        text.ends = ends
    }
}

/// Replaces every occurrence of a literal string (`"▁"` for `" "` in SentencePiece-style pipelines).
struct ReplaceNormalizer: Normalizer {
    let pattern: [UInt8]
    let content: [UInt8]
    init(pattern: String, content: String) {
        self.pattern = Array(pattern.utf8)
        self.content = Array(content.utf8)
    }

    func normalize(_ text: inout NormalizedText) {
        guard !pattern.isEmpty else { return }
        var out: [UInt8] = []
        var starts: [Int32] = [], ends: [Int32] = []
        let src = text
        var i = 0
        var changed = false
        let b = src.bytes
        while i < b.count {
            if b[i] == pattern[0] && i + pattern.count <= b.count && b[i..<(i + pattern.count)].elementsEqual(pattern) {
                let r = src.originalRange(i..<(i + pattern.count))
                for c in content {
                    out.append(c); starts.append(Int32(r.lowerBound - src.base)); ends.append(Int32(r.upperBound - src.base))
                }
                i += pattern.count
                changed = true
            } else {
                out.append(b[i])
                starts.append(src.starts.map { $0[i] } ?? Int32(i))
                ends.append(src.ends.map { $0[i] } ?? Int32(i + 1))
                i += 1
            }
        }
        guard changed else { return }
        text.bytes = out
        text.starts = starts
        text.ends = ends
    }
}

struct PrependNormalizer: Normalizer {
    let prefix: [UInt8]
    init(prefix: String) { self.prefix = Array(prefix.utf8) }
    func normalize(_ text: inout NormalizedText) {
        if !text.bytes.isEmpty { text.insert(prefix, at: 0) }
    }
}

struct StripNormalizer: Normalizer {
    let left: Bool, right: Bool
    func normalize(_ text: inout NormalizedText) {
        var lo = 0, hi = text.bytes.count
        text.bytes.withUnsafeBufferPointer { p in
            if left {
                while lo < hi {
                    let (s, n) = UTF8Scanner.decode(p, at: lo)
                    guard s.characterClass.contains(.whitespace) else { break }
                    lo += n
                }
            }
            if right {
                while hi > lo {
                    var k = hi - 1
                    while k > lo && p[k] & 0xC0 == 0x80 { k -= 1 }
                    let (s, _) = UTF8Scanner.decode(p, at: k)
                    guard s.characterClass.contains(.whitespace) else { break }
                    hi = k
                }
            }
        }
        if lo == 0 && hi == text.bytes.count { return }
        text.materializeAlignment()
        text.bytes = Array(text.bytes[lo..<hi])
        text.starts = Array(text.starts![lo..<hi])
        text.ends = Array(text.ends![lo..<hi])
    }
}

/// Per-scalar Unicode mappings that the standard library does not expose cheaply, memoized.
enum UnicodeTables {
    private static let decompositions = Mutex<[UInt32: [Unicode.Scalar]]>([:])

    /// The canonical decomposition (NFD) of one scalar.
    static func canonicalDecomposition(_ s: Unicode.Scalar) -> [Unicode.Scalar] {
        if s.value < 0xC0 { return [s] }
        if let d = decompositions.withLock({ $0[s.value] }) { return d }
        let d = Array(String(Character(s)).decomposedStringWithCanonicalMapping.unicodeScalars)
        decompositions.withLock { $0[s.value] = d }
        return d
    }

    /// The full lower-case mapping of one scalar (İ → i̇), without context (no final sigma), as
    /// Rust's `char::to_lowercase`, which Hugging Face tokenizers uses.
    static func lowercase(_ s: Unicode.Scalar) -> [Unicode.Scalar] {
        if s.value < 0x80 {
            return s.value >= 0x41 && s.value <= 0x5A ? [Unicode.Scalar(s.value + 32)!] : [s]
        }
        return Array(s.properties.lowercaseMapping.unicodeScalars)
    }
}
