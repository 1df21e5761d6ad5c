import Foundation
import LMKitTensor

/// Trains a tokenizer on a corpus and writes it as a `tokenizer.json` that Hugging Face `tokenizers`
/// (and LMKit) load.
///
/// BPE training in three steps (Sennrich et al. 2016; minbpe's `get_stats` / `merge`):
/// 1. pre-tokenize the corpus and count each distinct word, e.g. `{"Ġthe": 27000, "Ġking": 1800, …}`;
/// 2. count every adjacent pair of symbols over all words, weighted by the word counts;
/// 3. merge the most frequent pair everywhere, making a new token, and repeat until the vocabulary
///    has `vocabSize` tokens or no pair occurs `minFrequency` times.
///
/// Step 3 only revisits the words that contain the merged pair, with a heap of pair counts, so a
/// 30,000-word vocabulary trains in seconds on a few megabytes of text.
public struct TokenizerTrainer: Sendable {
    /// The tokenizer model to train, with the normalizer and pre-tokenizer that go with it.
    public enum Kind: String, Sendable, CaseIterable {
        /// GPT-2-style byte-level BPE: all 256 bytes in the alphabet, never an unknown token.
        case bpe
        /// BERT-style WordPiece: lower-cased, `##` continuation pieces, `[UNK]` for unseen characters.
        case wordpiece
    }

    /// Byte-level BPE or WordPiece.
    public var kind: Kind
    /// Target vocabulary size, special tokens and the alphabet included; training stops on reaching it.
    public var vocabSize: Int
    /// A pair must occur at least this often (over the corpus) to be merged.
    public var minFrequency: Int = 2
    /// Added first, with ids 0, 1, …
    public var specialTokens: [String]
    /// WordPiece: the alphabet keeps at most this many characters, the most frequent ones.
    public var limitAlphabet: Int = 1000

    /// A trainer; nil `specialTokens` means `<|endoftext|>` for BPE and BERT's five (`[PAD]` … `[MASK]`) for WordPiece.
    public init(kind: Kind, vocabSize: Int, minFrequency: Int = 2, specialTokens: [String]? = nil) {
        self.kind = kind
        self.vocabSize = vocabSize
        self.minFrequency = minFrequency
        self.specialTokens = specialTokens ?? (kind == .bpe ? ["<|endoftext|>"] : ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    }

    /// What training produced.
    public struct Result: Sendable {
        /// The `tokenizer.json` file's contents.
        public let json: Data
        /// The trained tokenizer, loaded back from ``json``.
        public let tokenizer: Tokenizer
        /// Tokens by id: the special tokens, then the alphabet, then one token per merge.
        public let vocabulary: [String]
        /// The pairs merged, in the order they were learned (BPE's `merges`).
        public let merges: [(String, String)]
        /// Pre-tokenized words in the corpus.
        public let words: Int
        /// Distinct pre-tokenized words in the corpus.
        public let distinctWords: Int
        /// Size of the corpus text in UTF-8 bytes.
        public let corpusBytes: Int
        /// Wall-clock training time, in seconds.
        public let seconds: Double
    }

    /// Trains on the text of `corpus` (one file). `progress(merges done, merges wanted)` is called now and then.
    public func train(corpus path: String, progress: ((Int, Int) -> Void)? = nil) throws(TokenizerError) -> Result {
        guard let data = FileManager.default.contents(atPath: path) else { throw TokenizerError("\(path): cannot read the corpus") }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw TokenizerError("\(path): the corpus is not valid UTF-8 (convert it first, e.g. iconv -f latin1 -t utf-8)")
        }
        return try train(text: text, progress: progress)
    }

    /// Trains on `text`. `progress(merges done, merges wanted)` is called every 500 merges and at the end.
    public func train(text: String, progress: ((Int, Int) -> Void)? = nil) throws(TokenizerError) -> Result {
        let start = DispatchTime.now().uptimeNanoseconds
        guard vocabSize > specialTokens.count else {
            throw TokenizerError("vocabulary size \(vocabSize) leaves no room after \(specialTokens.count) special tokens")
        }
        guard Set(specialTokens).count == specialTokens.count else { throw TokenizerError("special tokens repeat: \(specialTokens)") }
        // 1. Count words, pre-tokenized exactly as the trained tokenizer will pre-tokenize.
        let normalizer: (any Normalizer)? =
            kind == .wordpiece ? BertNormalizer(cleanText: true, handleChineseChars: true, stripAccents: nil, lowercase: true) : nil
        let preTokenizer: any PreTokenizer =
            kind == .wordpiece ? BertPreTokenizer() : ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true)
        var wordCounts: [[UInt8]: Int] = [:]
        var totalWords = 0
        var normalized = NormalizedText(bytes: Array(text.utf8))
        normalizer?.normalize(&normalized)
        var pre = PreTokenized(normalized)
        preTokenizer.preTokenize(&pre)
        for r in pre.pieces {
            wordCounts[Array(pre.text.bytes[r]), default: 0] += 1
            totalWords += 1
        }
        // Deterministic order: by count, then bytes.
        let words = wordCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.lexicographicallyPrecedes($1.key) }

        // 2. The alphabet and each word as symbol ids.
        var vocab: [String] = specialTokens
        var idOf: [String: Int32] = [:]
        for (i, t) in vocab.enumerated() { idOf[t] = Int32(i) }
        func add(_ t: String) -> Int32 {
            if let id = idOf[t] { return id }
            let id = Int32(vocab.count)
            vocab.append(t)
            idOf[t] = id
            return id
        }
        var symbols: [[Int32]] = []
        symbols.reserveCapacity(words.count)
        let prefix = "##"
        switch kind {
        case .bpe:
            for b in (0..<256).map({ ByteUnicode.characters[$0] }).sorted(by: { $0.value < $1.value }) { _ = add(String(b)) }
            for (w, _) in words { symbols.append(w.map { idOf[String(ByteUnicode.characters[Int($0)])]! }) }
        case .wordpiece:
            var charCounts: [String: Int] = [:]
            for (w, c) in words { for ch in String(decoding: w, as: UTF8.self).unicodeScalars { charCounts[String(ch), default: 0] += c } }
            let kept = charCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(limitAlphabet).map(\.key)
                .sorted()
            for ch in kept { _ = add(ch) }
            for ch in kept { _ = add(prefix + ch) }
            for (w, _) in words {
                let chars = String(decoding: w, as: UTF8.self).unicodeScalars.map(String.init)
                // A word with a character outside the alphabet cannot be tokenized: it will be [UNK].
                guard chars.allSatisfy({ idOf[$0] != nil }) else { symbols.append([]); continue }
                symbols.append(chars.enumerated().map { i, c in idOf[i == 0 ? c : prefix + c]! })
            }
        }
        let counts = words.map(\.value)

        // 3. Merge.
        var pairCounts: [UInt64: Int] = [:]
        var pairWords: [UInt64: Set<Int32>] = [:]
        @inline(__always) func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }
        for (w, s) in symbols.enumerated() where s.count > 1 {
            for i in 0..<(s.count - 1) {
                let k = key(s[i], s[i + 1])
                pairCounts[k, default: 0] += counts[w]
                pairWords[k, default: []].insert(Int32(w))
            }
        }
        var heap = BinaryHeap<PairCount>()
        for (k, c) in pairCounts { heap.push(PairCount(count: c, key: k)) }
        var merges: [(String, String)] = []
        let wanted = vocabSize - vocab.count
        while vocab.count < vocabSize, let top = heap.pop() {
            let current = pairCounts[top.key] ?? 0
            if current != top.count {
                if current > 0 { heap.push(PairCount(count: current, key: top.key)) }
                continue
            }
            if current < max(1, minFrequency) { break }
            let a = Int32(truncatingIfNeeded: top.key >> 32), b = Int32(truncatingIfNeeded: top.key & 0xFFFF_FFFF)
            let left = vocab[Int(a)], right = vocab[Int(b)]
            let mergedName = kind == .wordpiece && right.hasPrefix(prefix) ? left + right.dropFirst(prefix.count) : left + right
            let m = add(mergedName)
            merges.append((left, right))
            var changed: [UInt64: Int] = [:]
            for w in pairWords[top.key] ?? [] {
                let wi = Int(w)
                var s = symbols[wi]
                let c = counts[wi]
                var i = 0
                var out: [Int32] = []
                out.reserveCapacity(s.count)
                var touched = false
                while i < s.count {
                    if i + 1 < s.count && s[i] == a && s[i + 1] == b {
                        // Remove the neighbouring pairs that this merge destroys, add the new ones.
                        if let p = out.last { changed[key(p, a), default: 0] -= c; changed[key(p, m), default: 0] += c }
                        if i + 2 < s.count { changed[key(b, s[i + 2]), default: 0] -= c; changed[key(m, s[i + 2]), default: 0] += c }
                        changed[top.key, default: 0] -= c
                        out.append(m)
                        i += 2
                        touched = true
                    } else {
                        out.append(s[i])
                        i += 1
                    }
                }
                guard touched else { continue }
                s = out
                symbols[wi] = s
                for j in 0..<max(0, s.count - 1) {
                    let k = key(s[j], s[j + 1])
                    if s[j] == m || s[j + 1] == m { pairWords[k, default: []].insert(w) }
                }
            }
            for (k, d) in changed where d != 0 {
                let n = (pairCounts[k] ?? 0) + d
                if n <= 0 {
                    pairCounts[k] = nil; pairWords[k] = nil
                } else {
                    pairCounts[k] = n; if d > 0 { heap.push(PairCount(count: n, key: k)) }
                }
            }
            pairCounts[top.key] = nil
            pairWords[top.key] = nil
            if merges.count % 500 == 0 { progress?(merges.count, wanted) }
        }
        progress?(merges.count, wanted)
        let json = makeJSON(vocab: vocab, merges: merges)
        let data: Data
        do { data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .withoutEscapingSlashes]) } catch {
            throw TokenizerError("cannot serialize tokenizer.json: \(error)")
        }
        let tokenizer = try Tokenizer(jsonData: data, source: "trained tokenizer")
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Result(
            json: data, tokenizer: tokenizer, vocabulary: vocab, merges: merges, words: totalWords,
            distinctWords: words.count, corpusBytes: text.utf8.count, seconds: seconds)
    }

    /// The `tokenizer.json` object, as Hugging Face `tokenizers` writes it for these pipelines.
    func makeJSON(vocab: [String], merges: [(String, String)]) -> [String: Any] {
        let added: [[String: Any]] = specialTokens.enumerated().map { i, t in
            ["id": i, "content": t, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true]
        }
        var vocabMap: [String: Int] = [:]
        for (i, t) in vocab.enumerated() { vocabMap[t] = i }
        var json: [String: Any] = ["version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added]
        switch kind {
        case .bpe:
            json["normalizer"] = NSNull()
            json["pre_tokenizer"] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
            json["post_processor"] = NSNull()
            json["decoder"] = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true]
            json["model"] =
                [
                    "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                    "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                    "vocab": vocabMap, "merges": merges.map { [$0.0, $0.1] },
                ] as [String: Any]
        case .wordpiece:
            let cls = specialTokens.firstIndex(of: "[CLS]"), sep = specialTokens.firstIndex(of: "[SEP]")
            json["normalizer"] = [
                "type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": NSNull(), "lowercase": true,
            ]
            json["pre_tokenizer"] = ["type": "BertPreTokenizer"]
            if let cls, let sep {
                json["post_processor"] = ["type": "BertProcessing", "sep": ["[SEP]", sep], "cls": ["[CLS]", cls]]
            } else {
                json["post_processor"] = NSNull()
            }
            json["decoder"] = ["type": "WordPiece", "prefix": "##", "cleanup": true]
            json["model"] =
                [
                    "type": "WordPiece", "unk_token": specialTokens.contains("[UNK]") ? "[UNK]" : specialTokens.first ?? "[UNK]",
                    "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocabMap,
                ] as [String: Any]
        }
        return json
    }

    /// Writes `tokenizer.json` plus the classic files (`vocab.json` + `merges.txt`, or `vocab.txt`)
    /// into `folder`, each atomically. Returns the paths written.
    public static func save(_ result: Result, kind: Kind, to folder: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var written: [String] = []
        func write(_ name: String, _ bytes: [UInt8]) throws {
            let p = (folder as NSString).appendingPathComponent(name)
            try AtomicFile.write(bytes, to: p)
            written.append(p)
        }
        try write("tokenizer.json", Array(result.json))
        switch kind {
        case .bpe:
            var vocab: [String: Int] = [:]
            for (i, t) in result.vocabulary.enumerated() { vocab[t] = i }
            try write(
                "vocab.json", Array(try JSONSerialization.data(withJSONObject: vocab, options: [.sortedKeys, .withoutEscapingSlashes])))
            try write("merges.txt", Array(("#version: 0.2\n" + result.merges.map { "\($0.0) \($0.1)\n" }.joined()).utf8))
        case .wordpiece:
            try write("vocab.txt", Array(result.vocabulary.map { $0 + "\n" }.joined().utf8))
        }
        return written
    }
}

/// A pair's count; the most frequent first, ties to the smaller pair, so training is deterministic.
struct PairCount: HeapElement {
    var count: Int
    var key: UInt64
    func before(_ o: PairCount) -> Bool { count > o.count || (count == o.count && key < o.key) }
}
