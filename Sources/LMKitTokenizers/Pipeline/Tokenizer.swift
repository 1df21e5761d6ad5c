import LMKitTensor

/// A text tokenizer: the `tokenizer.json` pipeline of Hugging Face `tokenizers` (normalizer →
/// pre-tokenizer → model → post-processor, and a decoder to go back), built from any of the formats
/// models ship with.
///
/// ```swift
/// let gpt2 = try Tokenizer.gpt2(vocab: "vocab.json", merges: "merges.txt")
/// let ids = try gpt2.encode("Hello world").ids        // [15496, 995]
/// let bert = try Tokenizer(contentsOf: "tokenizer.json")
/// let e = try bert.encode("Transformers power modern LLMs")
/// print(e.tokens)                                      // ["[CLS]", "transformers", "power", …]
/// ```
///
/// A `Tokenizer` is immutable and `Sendable`; encoding from several threads at once is safe.
public struct Tokenizer: Sendable {
    let normalizer: (any Normalizer)?
    let preTokenizer: (any PreTokenizer)?
    let model: any TokenizerModel
    let postProcessor: TemplatePostProcessor?
    let decoder: (any Decoder)?
    let added: AddedVocabulary
    /// Applied by ``encode(_:options:)`` and the batch methods when set.
    public var truncation: Truncation?
    /// Applied by the batch methods when set.
    public var padding: Padding?
    /// What the tokenizer is, in words ("byte-level BPE, 50257 tokens").
    public let summary: String

    init(
        normalizer: (any Normalizer)?, preTokenizer: (any PreTokenizer)?, model: any TokenizerModel,
        postProcessor: TemplatePostProcessor?, decoder: (any Decoder)?, addedTokens: [AddedToken], summary: String
    ) {
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.model = model
        self.postProcessor = postProcessor
        self.decoder = decoder
        added = AddedVocabulary(addedTokens)
        self.summary = summary
    }

    // MARK: Vocabulary

    /// Number of ids, added tokens included.
    public var vocabSize: Int { max(model.vocabSize, (added.tokens.map { $0.id }.max() ?? -1) + 1) }

    /// The added tokens (special tokens and user-added words).
    public var addedTokens: [AddedToken] { added.tokens }

    /// The id of a token string (an added token's content, or a vocabulary spelling).
    public func id(of token: String) -> Int? {
        if let t = added.byContent[token] { return t.id }
        return model.id(of: token)
    }

    /// The spelling of an id.
    public func token(of id: Int) -> String? {
        if let t = added.byID[id] { return t.content }
        return model.token(of: id)
    }

    /// Whether `id` is a special (control) token.
    public func isSpecial(_ id: Int) -> Bool { added.byID[id]?.special ?? false }

    // MARK: Encoding

    /// Encodes one text: ids, tokens, offsets, masks; special tokens added by the post-processor
    /// when `options.addSpecialTokens`; truncated when ``truncation`` is set.
    public func encode(_ text: String, options: EncodeOptions = EncodeOptions()) throws(TokenizerError) -> Encoding {
        try encode(text, pair: nil, options: options)
    }

    /// Encodes a pair of texts (`[CLS] a [SEP] b [SEP]` for BERT, token types 0 then 1).
    public func encode(_ text: String, pair: String?, options: EncodeOptions = EncodeOptions()) throws(TokenizerError) -> Encoding {
        try encode(text, pair: pair, options: options, scratch: model.makeScratch())
    }

    func encode(_ text: String, pair: String?, options: EncodeOptions, scratch: ModelScratch?) throws(TokenizerError) -> Encoding {
        var a = try encodeSequence(text, sequence: 0, scratch: scratch, policy: options.specialTokens)
        var b = try pair.map { (p) throws(TokenizerError) in
            try encodeSequence(p, sequence: 1, scratch: scratch, policy: options.specialTokens)
        }
        if let t = truncation { truncatePair(&a, &b, t, addSpecial: options.addSpecialTokens) }
        return finish(a, b, addSpecial: options.addSpecialTokens)
    }

    /// Encodes many texts in parallel on the available cores; pads them when ``padding`` is set.
    public func encodeBatch(_ texts: [String], options: EncodeOptions = EncodeOptions()) throws(TokenizerError) -> [Encoding] {
        try encodeBatch(texts.map { ($0, nil) }, options: options)
    }

    /// Encodes many texts or pairs in parallel; pads them when ``padding`` is set.
    public func encodeBatch(_ inputs: [(String, String?)], options: EncodeOptions = EncodeOptions()) throws(TokenizerError) -> [Encoding] {
        var out = try mapInParallel(inputs.count) { (i, scratch) throws(TokenizerError) in
            try encode(inputs[i].0, pair: inputs[i].1, options: options, scratch: scratch)
        }
        if let p = padding {
            var length: Int
            switch p.length {
            case .batchLongest: length = out.map(\.count).max() ?? 0
            case .fixed(let n): length = n
            }
            if let m = p.multipleOf, m > 0, length % m != 0 { length += m - length % m }
            for i in out.indices { out[i].pad(to: length, with: p) }
        }
        return out
    }

    /// Just the ids of one text, without post-processing: the fast path (no token strings built).
    public func encodeIDs(_ text: String, specialTokens: SpecialTokenPolicy = .reject) throws(TokenizerError) -> [Int] {
        try encodeIDs(text, specialTokens: specialTokens, scratch: model.makeScratch())
    }

    /// `scratch` (the model's cache) may be shared by the calls one thread makes in a row.
    func encodeIDs(_ text: String, specialTokens: SpecialTokenPolicy, scratch: ModelScratch?) throws(TokenizerError) -> [Int] {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { (p) throws(TokenizerError) -> [Int] in
            var ids: [Int] = []
            try run(p, scratch: scratch, policy: specialTokens) { id, _, _ in ids.append(Int(id)) }
            return ids
        }
    }

    /// The ids of many texts, in parallel (the batch form of ``encodeIDs(_:specialTokens:)``).
    public func encodeIDsBatch(_ texts: [String], specialTokens: SpecialTokenPolicy = .reject) throws(TokenizerError) -> [[Int]] {
        try mapInParallel(texts.count) { (i, scratch) throws(TokenizerError) in
            try encodeIDs(texts[i], specialTokens: specialTokens, scratch: scratch)
        }
    }

    /// `body(i, scratch)` for every i in `0..<count`, split over the cores in contiguous runs; each
    /// worker keeps one model cache, warm across its items. The first failure is thrown, naming its item.
    private func mapInParallel<T>(_ count: Int, _ body: (Int, ModelScratch?) throws(TokenizerError) -> T) throws(TokenizerError) -> [T] {
        let results = ParallelResults<Result<T, TokenizerError>>(count: count)
        let chunks = min(Parallel.threads, max(1, count))
        Parallel.forEach(chunks) { c in
            let scratch = model.makeScratch()
            for i in (count * c / chunks)..<(count * (c + 1) / chunks) {
                do throws(TokenizerError) { results.set(i, .success(try body(i, scratch))) } catch { results.set(i, .failure(error)) }
            }
        }
        var out: [T] = []
        out.reserveCapacity(count)
        for (i, r) in results.values.enumerated() {
            switch r {
            case .success(let v)?: out.append(v)
            case .failure(let e)?: throw TokenizerError("text \(i): \(e.description)")
            case nil: throw TokenizerError("text \(i): not encoded")
            }
        }
        return out
    }

    /// Encodes raw bytes that need not be valid UTF-8 (byte-level BPE only: every byte has a token).
    /// Invalid bytes are pre-tokenized as punctuation-like characters; `decodeBytes` gives them back.
    public func encode(bytes: [UInt8]) throws(TokenizerError) -> [Int] {
        guard let bpe = model as? BPEModel, bpe.options.byteLevel, normalizer == nil else {
            throw TokenizerError("raw byte input needs a byte-level BPE tokenizer without normalizer (this one is: \(summary))")
        }
        return try bytes.withUnsafeBufferPointer { (p) throws(TokenizerError) -> [Int] in
            var ids: [Int] = []
            try run(p, scratch: model.makeScratch(), policy: .text) { id, _, _ in ids.append(Int(id)) }
            return ids
        }
    }

    /// Where a token came from, when not simply the model's vocabulary.
    enum TokenSource {
        case added(AddedToken)
        /// A model token spelled by its (normalized) text.
        case text(String)
    }

    /// Tokenizes the text and calls `emit(id, original byte range, source)` for each token.
    func run(
        _ bytes: UnsafeBufferPointer<UInt8>, scratch: ModelScratch?, policy: SpecialTokenPolicy,
        _ emit: (Int32, Range<Int>, TokenSource?) -> Void
    ) throws(TokenizerError) {
        var out = ModelOutput()
        for segment in try added.segments(bytes, policy: policy) {
            switch segment {
            case .token(let t, let r) where t.neverSplit:
                out.ids.removeAll(keepingCapacity: true)
                out.ranges.removeAll(keepingCapacity: true)
                model.tokenize(bytes, r, scratch: scratch, into: &out)
                for k in 0..<out.ids.count { emit(out.ids[k], out.ranges[k], nil) }
            case .token(let t, let r):
                emit(Int32(t.id), r, .added(t))
            case .text(let r):
                var text = NormalizedText(bytes: Array(bytes[r]), base: r.lowerBound)
                normalizer?.normalize(&text)
                var pre = PreTokenized(text)
                preTokenizer?.preTokenize(&pre)
                out.ids.removeAll(keepingCapacity: true)
                out.ranges.removeAll(keepingCapacity: true)
                out.spelledByText.removeAll(keepingCapacity: true)
                pre.text.bytes.withUnsafeBufferPointer { p in
                    model.tokenizePieces(p, pre.pieces, scratch: scratch, into: &out)
                }
                let identity = pre.text.starts == nil
                var literal = out.spelledByText.makeIterator()
                var nextLiteral = literal.next()
                for k in 0..<out.ids.count {
                    let range =
                        identity
                        ? (out.ranges[k].lowerBound + r.lowerBound)..<(out.ranges[k].upperBound + r.lowerBound)
                        : pre.text.originalRange(out.ranges[k])
                    if k == nextLiteral {
                        nextLiteral = literal.next()
                        emit(out.ids[k], range, .text(String(decoding: pre.text.bytes[out.ranges[k]], as: UTF8.self)))
                    } else {
                        emit(out.ids[k], range, nil)
                    }
                }
            }
        }
    }

    private func encodeSequence(_ text: String, sequence: Int, scratch: ModelScratch?, policy: SpecialTokenPolicy) throws(TokenizerError)
        -> Encoding
    {
        var e = Encoding()
        let bytes = Array(text.utf8)
        let byteLevel = (model as? BPEModel)?.options.byteLevel ?? false
        try bytes.withUnsafeBufferPointer { (p) throws(TokenizerError) in
            try run(p, scratch: scratch, policy: policy) { id, range, source in
                var addedToken: AddedToken? = nil
                var token: String
                switch source {
                case .added(let t): addedToken = t; token = t.content
                case .text(let s): token = s
                case nil: token = model.token(of: Int(id)) ?? ""
                }
                var offset = range
                if byteLevel && source == nil {
                    // A byte-level token may hold part of a character; its offsets cover the whole
                    // character, as Hugging Face reports them.
                    var lo = offset.lowerBound, hi = offset.upperBound
                    while lo > 0 && lo < p.count && p[lo] & 0xC0 == 0x80 { lo -= 1 }
                    while hi < p.count && hi > lo && p[hi] & 0xC0 == 0x80 { hi += 1 }
                    offset = lo..<hi
                }
                if let pp = postProcessor, pp.trimOffsets, addedToken == nil, let b = model.bytes(of: Int(id)) {
                    // Byte-level tokens carry spaces; their offsets should not (Hugging Face's
                    // `process_offsets`), except the prefix space of the first word.
                    var leading = b.prefix { $0 == 0x20 }.count
                    let trailing = b.reversed().prefix { $0 == 0x20 }.count
                    if leading == 1 && pp.addPrefixSpace && (e.count == 0 || offset.lowerBound == 0) { leading = 0 }
                    var lo = min(offset.lowerBound + leading, offset.upperBound)
                    var hi = offset.upperBound
                    if trailing > 0 && hi >= trailing { hi = max(hi - trailing, lo) }
                    if lo > hi { lo = hi }
                    offset = lo..<hi
                }
                e.append(
                    id: Int(id), token: token, offset: offset, typeId: sequence, special: addedToken?.special ?? false, sequence: sequence)
            }
        }
        return e
    }

    private func truncatePair(_ a: inout Encoding, _ b: inout Encoding?, _ t: Truncation, addSpecial: Bool) {
        let reserved = addSpecial ? (postProcessor?.addedCount(pair: b != nil) ?? 0) : 0
        let budget = max(0, t.maxLength - reserved)
        guard var second = b else {
            a.truncate(to: budget, stride: t.stride, direction: t.direction)
            return
        }
        var n1 = a.count, n2 = second.count
        if n1 + n2 > budget {
            switch t.strategy {
            case .longestFirst:
                // Remove one token at a time from the longer sequence (Hugging Face's rule).
                while n1 + n2 > budget { if n1 > n2 { n1 -= 1 } else { n2 -= 1 } }
            case .onlyFirst: n1 = max(0, budget - n2)
            case .onlySecond: n2 = max(0, budget - n1)
            }
            a.truncate(to: n1, stride: t.stride, direction: t.direction)
            second.truncate(to: n2, stride: t.stride, direction: t.direction)
            b = second
        }
    }

    private func finish(_ a: Encoding, _ b: Encoding?, addSpecial: Bool) -> Encoding {
        var result: Encoding
        if addSpecial, let pp = postProcessor {
            result = pp.apply(a, b)
        } else {
            result = a
            if var b {
                b.typeIds = Array(repeating: 1, count: b.count)
                result.append(contentsOf: b)
            }
        }
        result.overflowing = a.overflowing.map { finish($0, nil, addSpecial: addSpecial) }
        return result
    }

    // MARK: Decoding

    /// The text of `ids` (special tokens left out unless `skipSpecialTokens` is false). Ids outside
    /// the vocabulary are an error, not a crash.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) throws(TokenizerError) -> String {
        try decode(ids, skipSpecialTokens: skipSpecialTokens, continuing: false)
    }

    /// `continuing`: `ids` continue an already decoded text (see ``DecodeStream``).
    func decode(_ ids: [Int], skipSpecialTokens: Bool, continuing: Bool) throws(TokenizerError) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if let t = added.byID[id] {
                if t.special && skipSpecialTokens { continue }
                tokens.append(t.content)
                continue
            }
            guard let t = model.token(of: id) else { throw TokenizerError("token id \(id) is outside the vocabulary (0..<\(vocabSize))") }
            tokens.append(t)
        }
        // Added tokens go through the decoder too, as in Hugging Face tokenizers.
        if let decoder { return decoder.decode(tokens, continuing: continuing).joined() }
        return (continuing && !tokens.isEmpty ? " " : "") + tokens.joined(separator: " ")
    }

    /// The bytes of text that `id` stands for (for streaming; byte-level tokens may be partial UTF-8).
    public func bytes(of id: Int) -> [UInt8]? {
        if let t = added.byID[id] { return Array(t.content.utf8) }
        if let bpe = model as? BPEModel, bpe.options.byteLevel { return bpe.bytes(of: id) }
        return nil
    }

    /// The raw bytes of `ids` for a byte-level tokenizer: decode(encode(bytes:)) gives the input back.
    public func decodeBytes(_ ids: [Int]) throws(TokenizerError) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids {
            guard let b = bytes(of: id) else { throw TokenizerError("token id \(id) has no byte spelling in this tokenizer (\(summary))") }
            out += b
        }
        return out
    }
}

/// Slots written by parallel workers, each index by exactly one worker.
final class ParallelResults<T>: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<T?>
    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }
    deinit {
        slots.deinitialize()
        slots.deallocate()
    }
    func set(_ i: Int, _ v: T) { slots[i] = v }
    var values: [T?] { Array(slots) }
}
