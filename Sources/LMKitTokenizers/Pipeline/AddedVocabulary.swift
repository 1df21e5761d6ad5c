/// A token added on top of the model's vocabulary (`[CLS]`, `<|endoftext|>`, `<start_of_turn>`):
/// matched whole in the raw text before normalization, never split.
public struct AddedToken: Sendable, Equatable {
    /// The token's id in the vocabulary (`id` in tokenizer.json's `added_tokens`).
    public var id: Int
    /// The exact spelling matched in the text.
    public var content: String
    /// Special tokens are control tokens: refused in text unless allowed, skipped when decoding
    /// with `skipSpecialTokens`.
    public var special: Bool
    /// Only matched when not part of a larger word.
    public var singleWord: Bool
    /// The match takes the whitespace on its left / right with it.
    public var lstrip: Bool
    /// The match takes the whitespace on its right with it (`rstrip`; `lstrip` above is the left side).
    public var rstrip: Bool
    /// BERT's `never_split`: matched only as a whole whitespace-delimited word, then given to the model
    /// as one piece without normalization or pre-tokenization (so WordPiece still applies to it).
    public var neverSplit: Bool = false

    /// An added token; special by default, matched anywhere, taking no surrounding whitespace.
    public init(id: Int, content: String, special: Bool = true, singleWord: Bool = false, lstrip: Bool = false, rstrip: Bool = false) {
        self.id = id; self.content = content; self.special = special
        self.singleWord = singleWord; self.lstrip = lstrip; self.rstrip = rstrip
    }
}

/// Finds added tokens in text: a table of their spellings and, per first byte, which lengths exist,
/// so a scan costs one check per byte and a few lookups where a token could start.
struct AddedVocabulary: Sendable {
    let tokens: [AddedToken]
    let byID: [Int: AddedToken]
    let byContent: [String: AddedToken]
    private let table: ByteStringTable
    private let lengthsByFirstByte: [[Int]]

    init(_ tokens: [AddedToken]) {
        self.tokens = tokens
        // Never-split words are not vocabulary entries of their own: ids and spellings stay the model's.
        let entries = tokens.filter { !$0.neverSplit }
        byID = Dictionary(entries.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        byContent = Dictionary(entries.map { ($0.content, $0) }, uniquingKeysWith: { a, _ in a })
        var table = ByteStringTable(capacity: max(tokens.count, 1))
        var lengths = [[Int]](repeating: [], count: 256)
        for (i, t) in tokens.enumerated() {
            let b = Array(t.content.utf8)
            guard let first = b.first else { continue }
            table.insert(b, value: Int32(i))
            if !lengths[Int(first)].contains(b.count) { lengths[Int(first)].append(b.count) }
        }
        self.table = table
        lengthsByFirstByte = lengths.map { $0.sorted(by: >) }
    }

    var isEmpty: Bool { tokens.isEmpty }

    enum Segment { case text(Range<Int>), token(AddedToken, Range<Int>) }

    /// Cuts `bytes` into text and added tokens, leftmost-longest. Special tokens follow `policy`.
    func segments(_ bytes: UnsafeBufferPointer<UInt8>, policy: SpecialTokenPolicy) throws(TokenizerError) -> [Segment] {
        guard !tokens.isEmpty else { return bytes.isEmpty ? [] : [.text(0..<bytes.count)] }
        var out: [Segment] = []
        var textStart = 0
        var i = 0
        while i < bytes.count {
            let candidates = lengthsByFirstByte[Int(bytes[i])]
            var matched: (AddedToken, Int)? = nil
            for len in candidates where i + len <= bytes.count {
                if let k = table.lookup(UnsafeBufferPointer(rebasing: bytes[i..<(i + len)])) {
                    let t = tokens[Int(k)]
                    if t.singleWord && !isWordBoundary(bytes, i, i + len) { continue }
                    if t.neverSplit
                        && !((i == 0 || isWhitespace(bytes, before: i)) && (i + len == bytes.count || isWhitespace(bytes, at: i + len)))
                    {
                        continue
                    }
                    if t.special {
                        switch policy {
                        case .reject:
                            throw TokenizerError(
                                "the text contains the special token \(t.content) (id \(t.id)); allow special tokens to encode it as a control token, or encode it as text"
                            )
                        case .text: continue
                        case .allow: break
                        }
                    }
                    matched = (t, len)
                    break
                }
            }
            guard let (t, len) = matched else { i += 1; continue }
            var lo = i, hi = i + len
            if t.lstrip { while lo > textStart && isSpace(bytes[lo - 1]) { lo -= 1 } }
            if t.rstrip { while hi < bytes.count && isSpace(bytes[hi]) { hi += 1 } }
            if lo > textStart { out.append(.text(textStart..<lo)) }
            out.append(.token(t, lo..<hi))
            textStart = hi
            i = hi
        }
        if textStart < bytes.count { out.append(.text(textStart..<bytes.count)) }
        return out
    }

    private func isWhitespace(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        UTF8Scanner.decode(b, at: i).scalar.characterClass.contains(.whitespace)
    }

    private func isWhitespace(_ b: UnsafeBufferPointer<UInt8>, before i: Int) -> Bool {
        var k = i - 1
        while k > 0 && b[k] & 0xC0 == 0x80 { k -= 1 }
        return isWhitespace(b, at: k)
    }

    private func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    private func isWordBoundary(_ b: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> Bool {
        func isWord(_ at: Int) -> Bool {
            var k = at
            while k > 0 && b[k] & 0xC0 == 0x80 { k -= 1 }
            return UTF8Scanner.decode(b, at: k).scalar.characterClass.contains(.word)
        }
        if lo > 0 && isWord(lo - 1) { return false }
        if hi < b.count && isWord(hi) { return false }
        return true
    }
}
