/// WordPiece (BERT): each word is cut greedily into the longest vocabulary entries from the left,
/// pieces after the first spelled with the `##` prefix; a word that cannot be covered, or that is
/// longer than `maxInputCharsPerWord`, becomes a single `[UNK]` (reference: `WordpieceTokenizer` in
/// google-research/bert `tokenization.py`, `WordPiece` in Hugging Face tokenizers).
final class WordPieceModel: TokenizerModel, @unchecked Sendable {
    let tokens: [String]
    let vocab: ByteStringTable
    let unkID: Int32
    let prefix: [UInt8]
    let maxInputCharsPerWord: Int
    /// Longest vocabulary entry in bytes, without the prefix: no longer match can exist.
    private let maxTokenBytes: Int

    var vocabSize: Int { tokens.count }
    var unkToken: String { tokens[Int(unkID)] }
    var continuingSubwordPrefix: String { String(decoding: prefix, as: UTF8.self) }

    init(tokens: [String], unkToken: String, continuingSubwordPrefix: String = "##", maxInputCharsPerWord: Int = 100) throws(TokenizerError)
    {
        self.tokens = tokens
        let (vocab, longest) = ByteStringTable.vocabulary(tokens)
        guard let unk = vocab.lookup(Array(unkToken.utf8)) else {
            throw TokenizerError("WordPiece vocabulary has no unknown token \"\(unkToken)\"")
        }
        self.vocab = vocab
        unkID = unk
        prefix = Array(continuingSubwordPrefix.utf8)
        self.maxInputCharsPerWord = maxInputCharsPerWord
        maxTokenBytes = longest
    }

    func id(of token: String) -> Int? { vocab.lookup(Array(token.utf8)).map(Int.init) }
    func token(of id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }
    func bytes(of id: Int) -> [UInt8]? { token(of: id).map { Array($0.utf8) } }

    final class Scratch: ModelScratch {
        var key: [UInt8] = []
        var cache = ByteStringTable(capacity: 4096)
        var arena: [Int32] = []
    }
    func makeScratch() -> ModelScratch? { Scratch() }

    func tokenize(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, scratch: ModelScratch?, into out: inout ModelOutput) {
        let word = UnsafeBufferPointer(rebasing: p[range])
        guard !word.isEmpty else { return }
        let scratch = (scratch as? Scratch) ?? Scratch()
        if let at = scratch.cache.lookup(word) {
            scratch.arena.withUnsafeBufferPointer { a in
                let n = Int(a[Int(at)])
                for k in 0..<n {
                    let id = a[Int(at) + 1 + 3 * k]
                    let lo = Int(a[Int(at) + 2 + 3 * k]), hi = Int(a[Int(at) + 3 + 3 * k])
                    out.append(id, (range.lowerBound + lo)..<(range.lowerBound + hi))
                }
            }
            return
        }
        let before = out.ids.count
        split(word, base: range.lowerBound, scratch: scratch, into: &out)
        if scratch.cache.count > 1 << 20 { scratch.cache.removeAll(); scratch.arena.removeAll(keepingCapacity: true) }
        let at = Int32(scratch.arena.count)
        scratch.arena.append(Int32(out.ids.count - before))
        for k in before..<out.ids.count {
            scratch.arena.append(out.ids[k])
            scratch.arena.append(Int32(out.ranges[k].lowerBound - range.lowerBound))
            scratch.arena.append(Int32(out.ranges[k].upperBound - range.lowerBound))
        }
        scratch.cache.insert(word, value: at)
    }

    private func split(_ word: UnsafeBufferPointer<UInt8>, base: Int, scratch: Scratch, into out: inout ModelOutput) {
        // Count characters only when the word could be too long.
        if word.count > maxInputCharsPerWord {
            var chars = 0
            for b in word where b & 0xC0 != 0x80 { chars += 1 }
            if chars > maxInputCharsPerWord {
                out.append(unkID, base..<(base + word.count))
                return
            }
        }
        let start0 = out.ids.count
        var start = 0
        while start < word.count {
            var end = min(word.count, start + maxTokenBytes)
            // Never cut inside a UTF-8 sequence.
            while end < word.count && word[end] & 0xC0 == 0x80 { end -= 1 }
            var found: Int32? = nil
            while end > start {
                if start == 0 {
                    found = vocab.lookup(UnsafeBufferPointer(rebasing: word[0..<end]))
                } else {
                    scratch.key.removeAll(keepingCapacity: true)
                    scratch.key += prefix
                    scratch.key += word[start..<end]
                    found = vocab.lookup(scratch.key)
                }
                if found != nil { break }
                end -= 1
                while end > start && word[end] & 0xC0 == 0x80 { end -= 1 }
            }
            guard let id = found else {
                out.ids.removeLast(out.ids.count - start0)
                out.ranges.removeLast(out.ranges.count - start0)
                out.append(unkID, base..<(base + word.count))
                return
            }
            out.append(id, (base + start)..<(base + end))
            start = end
        }
    }
}

/// Whole pieces looked up in a vocabulary, unknown ones as `[UNK]`.
final class WordLevelModel: TokenizerModel, @unchecked Sendable {
    let tokens: [String]
    let vocab: ByteStringTable
    let unkID: Int32?
    var vocabSize: Int { tokens.count }

    init(tokens: [String], unkToken: String?) {
        self.tokens = tokens
        var vocab = ByteStringTable(capacity: tokens.count)
        for (i, t) in tokens.enumerated() where !t.isEmpty { vocab.insert(Array(t.utf8), value: Int32(i)) }
        self.vocab = vocab
        unkID = unkToken.flatMap { vocab.lookup(Array($0.utf8)) }
    }

    func id(of token: String) -> Int? { vocab.lookup(Array(token.utf8)).map(Int.init) }
    func token(of id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }
    func bytes(of id: Int) -> [UInt8]? { token(of: id).map { Array($0.utf8) } }
    func makeScratch() -> ModelScratch? { nil }

    func tokenize(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, scratch: ModelScratch?, into out: inout ModelOutput) {
        if let id = vocab.lookup(UnsafeBufferPointer(rebasing: p[range])) ?? unkID { out.append(id, range) }
    }
}
