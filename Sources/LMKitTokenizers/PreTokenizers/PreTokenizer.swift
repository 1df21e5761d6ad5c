/// Text cut into pieces that the model tokenizes independently (words, in most tokenizers).
/// Pieces are byte ranges of `text`, in order, never overlapping.
struct PreTokenized: Sendable {
    var text: NormalizedText
    var pieces: [Range<Int>]

    init(_ text: NormalizedText) {
        self.text = text
        pieces = text.bytes.isEmpty ? [] : [0..<text.bytes.count]
    }

    /// Replaces every piece by the sub-ranges `split` appends for it.
    mutating func split(_ split: (UnsafeBufferPointer<UInt8>, Range<Int>, inout [Range<Int>]) -> Void) {
        var out: [Range<Int>] = []
        out.reserveCapacity(pieces.count + text.bytes.count / 4)
        text.bytes.withUnsafeBufferPointer { p in
            for r in pieces { split(p, r, &out) }
        }
        pieces = out
    }
}

/// The second stage of a tokenizer: cuts normalized text into pieces.
protocol PreTokenizer: Sendable {
    func preTokenize(_ p: inout PreTokenized)
}

/// How a `Split` or `Punctuation` pre-tokenizer treats the matched delimiter.
enum SplitBehavior: String {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

    /// Cuts `range` given the delimiter matches inside it (sorted, disjoint), as Hugging Face's
    /// `NormalizedString::split` does.
    func apply(_ range: Range<Int>, matches: [Range<Int>], into out: inout [Range<Int>]) {
        var pieces: [(Range<Int>, Bool)] = []
        var at = range.lowerBound
        for m in matches {
            if at < m.lowerBound { pieces.append((at..<m.lowerBound, false)) }
            pieces.append((m, true))
            at = m.upperBound
        }
        if at < range.upperBound { pieces.append((at..<range.upperBound, false)) }
        switch self {
        case .removed:
            for (r, isMatch) in pieces where !isMatch { out.append(r) }
        case .isolated:
            for (r, _) in pieces { out.append(r) }
        case .contiguous:
            var current: Range<Int>? = nil
            var currentIsMatch = false
            for (r, isMatch) in pieces {
                if let c = current, isMatch && currentIsMatch {
                    current = c.lowerBound..<r.upperBound
                } else {
                    if let c = current { out.append(c) }
                    current = r
                    currentIsMatch = isMatch
                }
            }
            if let c = current { out.append(c) }
        case .mergedWithPrevious:
            var current: Range<Int>? = nil
            for (r, isMatch) in pieces {
                if isMatch, let c = current {
                    current = c.lowerBound..<r.upperBound
                    out.append(current!)
                    current = nil
                } else if isMatch {
                    out.append(r)
                } else {
                    if let c = current { out.append(c) }
                    current = r
                }
            }
            if let c = current { out.append(c) }
        case .mergedWithNext:
            var pendingStart: Int? = nil
            for (r, isMatch) in pieces {
                if isMatch {
                    if let s = pendingStart { out.append(s..<r.lowerBound) }
                    pendingStart = r.lowerBound
                } else {
                    out.append((pendingStart ?? r.lowerBound)..<r.upperBound)
                    pendingStart = nil
                }
            }
            if let s = pendingStart { out.append(s..<range.upperBound) }
        }
    }
}

/// The `tokenizer.json` pre-tokenizer types LMKit reads; raw values are the JSON `"type"` strings.
enum PreTokenizerType: String {
    case bert = "BertPreTokenizer", byteLevel = "ByteLevel", whitespace = "Whitespace"
    case whitespaceSplit = "WhitespaceSplit", metaspace = "Metaspace", split = "Split"
    case punctuation = "Punctuation", digits = "Digits", sequence = "Sequence"

    static func make(_ o: JSONObject) throws(TokenizerError) -> any PreTokenizer {
        guard let name = o.type, let type = PreTokenizerType(rawValue: name) else {
            throw o.unsupported("pre-tokenizer type \(o.type.map { "\"\($0)\"" } ?? "(none)")")
        }
        switch type {
        case .bert: return BertPreTokenizer()
        case .byteLevel:
            return ByteLevelPreTokenizer(
                addPrefixSpace: try o.bool("add_prefix_space", default: true), useRegex: try o.bool("use_regex", default: true))
        case .whitespace: return WhitespacePreTokenizer()
        case .whitespaceSplit: return WhitespaceSplitPreTokenizer()
        case .metaspace:
            let replacement = try o.string("replacement", default: "▁")!
            var scheme = try o.string("prepend_scheme", default: nil)
            if scheme == nil { scheme = try o.bool("add_prefix_space", default: true) ? "always" : "never" }
            guard let s = scheme, let prepend = MetaspacePreTokenizer.Prepend(rawValue: s) else {
                throw o.unsupported("Metaspace prepend_scheme \"\(scheme ?? "")\"")
            }
            return MetaspacePreTokenizer(replacement: replacement, prepend: prepend, split: try o.bool("split", default: true))
        case .split:
            let behaviorName = try o.string("behavior")
            guard let behavior = SplitBehavior(rawValue: behaviorName) else { throw o.unsupported("Split behavior \"\(behaviorName)\"") }
            let invert = try o.bool("invert", default: false)
            switch try JSONPattern(o.dict["pattern"], path: o.path + ".pattern") {
            case .string(let s):
                guard !invert else { throw o.unsupported("inverted Split") }
                return StringSplitPreTokenizer(delimiter: Array(s.utf8), behavior: behavior)
            case .regex(let r):
                if let digits = Llama3Split.patterns[r], behavior == .isolated, !invert {
                    return Llama3SplitPreTokenizer(maxDigits: digits)
                }
                guard GPT2Split.patterns.contains(r), behavior == .isolated || behavior == .removed, invert == false else {
                    throw o.unsupported(
                        "Split regular expression \(r) (LMKit implements GPT-2's, Llama 3's and Qwen2's patterns by hand; other patterns are not read)"
                    )
                }
                return ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true)
            }
        case .punctuation:
            let behaviorName = try o.string("behavior", default: "Isolated")!
            guard let behavior = SplitBehavior(rawValue: behaviorName) else {
                throw o.unsupported("Punctuation behavior \"\(behaviorName)\"")
            }
            return PunctuationPreTokenizer(behavior: behavior)
        case .digits: return DigitsPreTokenizer(individual: try o.bool("individual_digits", default: false))
        case .sequence:
            return SequencePreTokenizer(steps: try o.objects("pretokenizers").map { (n) throws(TokenizerError) in try make(n) })
        }
    }
}

struct SequencePreTokenizer: PreTokenizer {
    let steps: [any PreTokenizer]
    func preTokenize(_ p: inout PreTokenized) { for s in steps { s.preTokenize(&p) } }
}

/// BERT: split on whitespace (dropped) and put every punctuation character in a piece of its own.
struct BertPreTokenizer: PreTokenizer {
    /// BERT's punctuation: every ASCII non-alphanumeric printable character, and Unicode P*.
    @inline(__always)
    static func isPunctuation(_ s: Unicode.Scalar, _ c: CharacterClass) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        return c.contains(.punctuation)
    }

    func preTokenize(_ p: inout PreTokenized) {
        p.split { b, range, out in
            var i = range.lowerBound
            var wordStart = -1
            while i < range.upperBound {
                let byte = b[i]
                if byte < 0x80 {
                    // ASCII: whitespace is 0x09–0x0D and space; punctuation is BERT's ASCII ranges.
                    if byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) {
                        if wordStart >= 0 { out.append(wordStart..<i); wordStart = -1 }
                    } else if (33...47).contains(byte) || (58...64).contains(byte) || (91...96).contains(byte) || (123...126).contains(byte)
                    {
                        if wordStart >= 0 { out.append(wordStart..<i); wordStart = -1 }
                        out.append(i..<(i + 1))
                    } else if wordStart < 0 {
                        wordStart = i
                    }
                    i += 1
                    continue
                }
                let (s, n) = UTF8Scanner.decode(b, at: i)
                let c = s.characterClass
                if c.contains(.whitespace) {
                    if wordStart >= 0 { out.append(wordStart..<i); wordStart = -1 }
                } else if BertPreTokenizer.isPunctuation(s, c) {
                    if wordStart >= 0 { out.append(wordStart..<i); wordStart = -1 }
                    out.append(i..<(i + n))
                } else if wordStart < 0 {
                    wordStart = i
                }
                i += n
            }
            if wordStart >= 0 { out.append(wordStart..<range.upperBound) }
        }
    }
}

/// Byte-level pre-tokenization (GPT-2, RoBERTa): GPT-2's pattern, optionally after a space is put in
/// front of the text. The mapping of bytes to printable characters is done by the model's vocabulary
/// loader instead (LMKit's BPE works on raw bytes).
struct ByteLevelPreTokenizer: PreTokenizer {
    let addPrefixSpace: Bool
    let useRegex: Bool

    func preTokenize(_ p: inout PreTokenized) {
        if addPrefixSpace, let first = p.pieces.first, p.text.bytes[first.lowerBound] != 0x20 {
            // Hugging Face prepends the space to every piece; with one piece (the usual case) that is the text.
            p.text.insert([0x20], at: first.lowerBound, emptyAlignment: true)
            p.pieces = p.pieces.enumerated().map { i, r in
                i == 0 ? r.lowerBound..<(r.upperBound + 1) : (r.lowerBound + 1)..<(r.upperBound + 1)
            }
        }
        if useRegex {
            p.split { b, range, out in GPT2Split.split(b, range, into: &out) }
        }
    }
}

/// `\w+|[^\w\s]+`: runs of word characters, and runs of other non-space characters.
struct WhitespacePreTokenizer: PreTokenizer {
    func preTokenize(_ p: inout PreTokenized) {
        p.split { b, range, out in
            var i = range.lowerBound
            var start = -1
            var startWord = false
            while i < range.upperBound {
                let (s, n) = UTF8Scanner.decode(b, at: i)
                let c = s.characterClass
                if c.contains(.whitespace) {
                    if start >= 0 { out.append(start..<i); start = -1 }
                } else {
                    let w = c.contains(.word)
                    if start >= 0 && w != startWord { out.append(start..<i); start = -1 }
                    if start < 0 { start = i; startWord = w }
                }
                i += n
            }
            if start >= 0 { out.append(start..<range.upperBound) }
        }
    }
}

struct WhitespaceSplitPreTokenizer: PreTokenizer {
    func preTokenize(_ p: inout PreTokenized) {
        p.split { b, range, out in
            var i = range.lowerBound
            var start = -1
            while i < range.upperBound {
                let (s, n) = UTF8Scanner.decode(b, at: i)
                if s.characterClass.contains(.whitespace) {
                    if start >= 0 { out.append(start..<i); start = -1 }
                } else if start < 0 {
                    start = i
                }
                i += n
            }
            if start >= 0 { out.append(start..<range.upperBound) }
        }
    }
}

/// SentencePiece-style: spaces become `▁`, a `▁` is put in front (always, or of the first piece
/// only), and pieces start at each `▁`.
struct MetaspacePreTokenizer: PreTokenizer {
    enum Prepend: String { case always, first, never }
    let replacement: [UInt8]
    let prepend: Prepend
    let split: Bool

    init(replacement: String, prepend: Prepend, split: Bool) {
        self.replacement = Array(replacement.utf8)
        self.prepend = prepend
        self.split = split
    }

    func preTokenize(_ p: inout PreTokenized) {
        // Rewrite the text: every space becomes the replacement; prefix where asked.
        let old = p.text
        var text = NormalizedText(bytes: [], base: old.base)
        text.starts = []; text.ends = []
        var newPieces: [Range<Int>] = []
        for (index, r) in p.pieces.enumerated() {
            let start = text.bytes.count
            let needsPrefix = prepend == .always || (prepend == .first && index == 0 && r.lowerBound == 0)
            if needsPrefix && !r.isEmpty && old.bytes[r.lowerBound] != 0x20 && !old.bytes[r].starts(with: replacement) {
                // Aligned to the piece's first character, as Hugging Face's prepend does.
                let n = r.isEmpty ? 0 : min(UTF8Scanner.sequenceLength(old.bytes[r.lowerBound]), r.count)
                let anchor = old.originalRange(r.lowerBound..<(r.lowerBound + n))
                for c in replacement {
                    text.bytes.append(c)
                    text.starts!.append(Int32(anchor.lowerBound - old.base))
                    text.ends!.append(Int32(anchor.upperBound - old.base))
                }
            }
            for i in r {
                let o = old.originalRange(i..<(i + 1))
                if old.bytes[i] == 0x20 {
                    for c in replacement {
                        text.bytes.append(c); text.starts!.append(Int32(o.lowerBound - old.base));
                        text.ends!.append(Int32(o.upperBound - old.base))
                    }
                } else {
                    text.bytes.append(old.bytes[i]); text.starts!.append(Int32(o.lowerBound - old.base));
                    text.ends!.append(Int32(o.upperBound - old.base))
                }
            }
            newPieces.append(start..<text.bytes.count)
        }
        p.text = text
        p.pieces = newPieces
        guard split else { return }
        let rep = replacement
        p.split { b, range, out in
            SplitBehavior.mergedWithNext.apply(range, matches: literalMatches(of: rep, in: b, range), into: &out)
        }
    }
}

/// `Split` on a literal delimiter.
struct StringSplitPreTokenizer: PreTokenizer {
    let delimiter: [UInt8]
    let behavior: SplitBehavior

    func preTokenize(_ p: inout PreTokenized) {
        let d = delimiter
        guard !d.isEmpty else { return }
        let behavior = self.behavior
        p.split { b, range, out in
            behavior.apply(range, matches: literalMatches(of: d, in: b, range), into: &out)
        }
    }
}

/// Splits at every punctuation character (BERT's definition).
struct PunctuationPreTokenizer: PreTokenizer {
    let behavior: SplitBehavior
    func preTokenize(_ p: inout PreTokenized) {
        let behavior = self.behavior
        p.split { b, range, out in
            behavior.apply(
                range, matches: characterMatches(in: b, range) { BertPreTokenizer.isPunctuation($0, $0.characterClass) }, into: &out)
        }
    }
}

/// Splits digits from other characters; each digit alone with `individual`.
struct DigitsPreTokenizer: PreTokenizer {
    let individual: Bool
    func preTokenize(_ p: inout PreTokenized) {
        let behavior: SplitBehavior = individual ? .isolated : .contiguous
        p.split { b, range, out in
            behavior.apply(range, matches: characterMatches(in: b, range) { $0.characterClass.contains(.number) }, into: &out)
        }
    }
}

/// Non-overlapping occurrences of `literal` in `b[range]`, left to right.
func literalMatches(of literal: [UInt8], in b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [Range<Int>] {
    var matches: [Range<Int>] = []
    var i = range.lowerBound
    while i + literal.count <= range.upperBound {
        if b[i] == literal[0] && (0..<literal.count).allSatisfy({ b[i + $0] == literal[$0] }) {
            matches.append(i..<(i + literal.count))
            i += literal.count
        } else {
            i += 1
        }
    }
    return matches
}

/// The characters of `b[range]` for which `test` holds, as byte ranges.
func characterMatches(in b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ test: (Unicode.Scalar) -> Bool) -> [Range<Int>] {
    var matches: [Range<Int>] = []
    var i = range.lowerBound
    while i < range.upperBound {
        let (s, n) = UTF8Scanner.decode(b, at: i)
        if test(s) { matches.append(i..<(i + n)) }
        i += n
    }
    return matches
}
