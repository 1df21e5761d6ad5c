import LMKitTensor

extension Tokenizer {
    /// The tokenizer stored in a GGUF model's metadata (`tokenizer.ggml.*`).
    ///
    /// - `llama` (SentencePiece BPE: Llama 1/2, Mistral, Gemma): pieces with scores and types; the
    ///   pair whose concatenation is the best-scored piece merges first; user-defined pieces are
    ///   matched whole; characters without a piece fall back to `<0xXX>` byte tokens; control pieces
    ///   (`<bos>`, `<start_of_turn>`) are special tokens.
    /// - `gpt2`: byte-level BPE from `tokenizer.ggml.merges`, with the pre-tokenizer `tokenizer.ggml.pre`
    ///   names: GPT-2's (`gpt-2`, `default`), Llama 3's (`llama-bpe`) or Qwen2's (`qwen2`).
    ///
    /// llama.cpp's converter stores user-defined whitespace pieces with spaces where SentencePiece has
    /// `▁`; they are mapped back, since matching happens after spaces become `▁`.
    public static func gguf(_ path: String) throws(TokenizerError) -> Tokenizer {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw TokenizerError(error.description) }
        return try gguf(file)
    }

    /// The tokenizer in an already opened GGUF file's metadata; the path overload above lists what is supported.
    public static func gguf(_ file: GGUFFile) throws(TokenizerError) -> Tokenizer {
        let path = file.path
        let f = try GGUFTokenizerFields(file)
        let (kind, tokens, types, bos, eos, unk, addBOS, addEOS) = (f.kind, f.tokens, f.types, f.bos, f.eos, f.unk, f.addBOS, f.addEOS)

        // Control (3) and unknown (2) pieces are never produced from text except as special tokens.
        var added: [AddedToken] = []
        for (i, t) in types.enumerated() where t == 3 || t == 2 || i == bos || i == eos {
            if !tokens[i].isEmpty { added.append(AddedToken(id: i, content: tokens[i])) }
        }
        var single: [TemplatePostProcessor.Item] = [.sequence(first: true, typeId: 0)]
        var pair: [TemplatePostProcessor.Item] = [.sequence(first: true, typeId: 0), .sequence(first: false, typeId: 1)]
        var specials: [String: (ids: [Int], tokens: [String])] = [:]
        if addBOS, let bos {
            single.insert(.special(name: tokens[bos], typeId: 0), at: 0)
            pair.insert(.special(name: tokens[bos], typeId: 0), at: 0)
            pair.insert(.special(name: tokens[bos], typeId: 1), at: 2)
            specials[tokens[bos]] = ([bos], [tokens[bos]])
        }
        if addEOS, let eos {
            single.append(.special(name: tokens[eos], typeId: 0))
            pair.insert(.special(name: tokens[eos], typeId: 0), at: pair.firstIndex(of: .sequence(first: false, typeId: 1))!)
            pair.append(.special(name: tokens[eos], typeId: 1))
            specials[tokens[eos]] = ([eos], [tokens[eos]])
        }
        let post = TemplatePostProcessor(single: single, pair: pair, specials: specials, trimOffsets: false)

        switch kind {
        case "llama":
            guard let scores = file["tokenizer.ggml.scores"]?.floats, scores.count == tokens.count else {
                throw TokenizerError("\(path): tokenizer.ggml.scores is missing or does not have one score per token")
            }
            var spelled = tokens
            var userDefined: [String] = []
            for i in tokens.indices where types[i] == 4 {
                spelled[i] = tokens[i].replacingAll(" ", with: "▁")
                userDefined.append(spelled[i])
            }
            // Pieces that merges may produce: normal (1), user-defined (4), unused (5).
            var pieceIDs = ByteStringTable(capacity: tokens.count)
            for i in tokens.indices where [1, 4, 5].contains(types[i]) && !spelled[i].isEmpty {
                let b = Array(spelled[i].utf8)
                if pieceIDs.lookup(b) == nil { pieceIDs.insert(b, value: Int32(i)) }
            }
            var merges: [(a: Int32, b: Int32, priority: Float, merged: Int32)] = []
            for i in tokens.indices where types[i] == 1 || types[i] == 5 {
                let b = Array(spelled[i].utf8)
                guard b.count >= 2 else { continue }
                var k = UTF8Scanner.sequenceLength(b[0])
                while k < b.count {
                    if let x = pieceIDs.lookup(Array(b[..<k])), let y = pieceIDs.lookup(Array(b[k...])) {
                        merges.append((x, y, -scores[i], Int32(i)))
                    }
                    k += UTF8Scanner.sequenceLength(b[k])
                }
            }
            var options = BPEModel.Options()
            options.byteFallback = types.contains(6)
            options.unkID = unk.map(Int32.init)
            options.userDefined = userDefined
            options.notOutput = Set(types.indices.filter { types[$0] == 2 || types[$0] == 3 || types[$0] == 6 }.map(Int32.init))
            let model = try BPEModel(tokens: spelled, merges: merges, options: options)
            let addSpace = file["tokenizer.ggml.add_space_prefix"]?.bool ?? true
            var normalizers: [any Normalizer] = []
            if addSpace { normalizers.append(PrependNormalizer(prefix: " ")) }
            normalizers.append(ReplaceNormalizer(pattern: " ", content: "▁"))
            var decoders: [any Decoder] = [ReplaceDecoder(pattern: "▁", content: " "), ByteFallbackDecoder(), FuseDecoder()]
            if addSpace { decoders.append(StripDecoder(content: " ", start: 1, stop: 0)) }
            return Tokenizer(
                normalizer: SequenceNormalizer(steps: normalizers), preTokenizer: nil, model: model, postProcessor: post,
                decoder: SequenceDecoder(steps: decoders), addedTokens: added,
                summary: "SentencePiece BPE from GGUF (\(file["general.name"]?.string ?? "model")), \(tokens.count) pieces")
        case "gpt2":
            let pre = file["tokenizer.ggml.pre"]?.string ?? "default"
            let preTokenizer: any PreTokenizer
            switch pre {
            case "default", "gpt-2", "gpt2": preTokenizer = ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true)
            case "llama-bpe", "llama3", "llama-v3": preTokenizer = Llama3SplitPreTokenizer(maxDigits: 3)
            case "qwen2": preTokenizer = Llama3SplitPreTokenizer(maxDigits: 1)
            default:
                throw TokenizerError(
                    "\(path): GGUF pre-tokenizer \"\(pre)\" is not supported (LMKit implements gpt-2, llama-bpe and qwen2)")
            }
            guard let mergeLines = file["tokenizer.ggml.merges"]?.strings else {
                throw TokenizerError("\(path): tokenizer.ggml.merges is missing")
            }
            let ids = ByteStringTable.vocabulary(tokens).table  // by bytes, not by canonical equivalence
            var merges: [(a: Int32, b: Int32, priority: Float, merged: Int32)] = []
            for (n, line) in mergeLines.enumerated() {
                let parts = line.utf8.split(separator: 0x20).map(Array.init)
                guard parts.count == 2, let a = ids.lookup(parts[0]), let b = ids.lookup(parts[1]), let m = ids.lookup(parts[0] + parts[1])
                else {
                    throw TokenizerError("\(path): tokenizer.ggml.merges[\(n)] \"\(line)\" is not a merge of two tokens")
                }
                merges.append((a, b, Float(n), m))
            }
            var options = BPEModel.Options()
            options.byteLevel = true
            // Llama 3's tokenizer.json has "ignore_merges": a piece that is a token is kept whole;
            // llama.cpp sets the same for its llama-bpe pre-tokenizer.
            options.ignoreMerges = pre.hasPrefix("llama")
            let model = try BPEModel(tokens: tokens, merges: merges, options: options)
            return Tokenizer(
                normalizer: nil, preTokenizer: preTokenizer, model: model,
                postProcessor: post, decoder: ByteLevelDecoder(), addedTokens: added,
                summary: "byte-level BPE from GGUF (\(pre) pre-tokenizer), \(tokens.count) tokens")
        default:
            throw TokenizerError("\(path): GGUF tokenizer model \"\(kind)\" is not supported (LMKit reads \"llama\" and \"gpt2\")")
        }
    }
}

/// The `tokenizer.ggml.*` fields every GGUF tokenizer has, checked: what reading one
/// (``Tokenizer/gguf(_:)-(GGUFFile)``) and writing it as tokenizer.json start from.
struct GGUFTokenizerFields {
    /// `tokenizer.ggml.model`: "llama" (SentencePiece) or "gpt2" (byte-level BPE), or another kind.
    let kind: String
    let tokens: [String]
    /// ggml token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    let types: [Int]
    let bos: Int?, eos: Int?, unk: Int?
    /// Whether BOS/EOS are added (by default BOS for SentencePiece files, as llama.cpp does).
    let addBOS: Bool, addEOS: Bool

    init(_ file: GGUFFile) throws(TokenizerError) {
        let path = file.path
        guard let kind = file["tokenizer.ggml.model"]?.string else {
            throw TokenizerError("\(path): no tokenizer.ggml.model in the metadata")
        }
        guard let tokens = file["tokenizer.ggml.tokens"]?.strings, !tokens.isEmpty else {
            throw TokenizerError("\(path): tokenizer.ggml.tokens is missing or not an array of strings")
        }
        let types = file["tokenizer.ggml.token_type"]?.ints.map { $0.map(Int.init) } ?? Array(repeating: 1, count: tokens.count)
        guard types.count == tokens.count else { throw TokenizerError("\(path): \(types.count) token types for \(tokens.count) tokens") }
        func id(_ key: String) -> Int? { file["tokenizer.ggml.\(key)"]?.int.flatMap { (0..<tokens.count).contains($0) ? $0 : nil } }
        (self.kind, self.tokens, self.types) = (kind, tokens, types)
        (bos, eos, unk) = (id("bos_token_id"), id("eos_token_id"), id("unknown_token_id"))
        addBOS = file["tokenizer.ggml.add_bos_token"]?.bool ?? (kind == "llama")
        addEOS = file["tokenizer.ggml.add_eos_token"]?.bool ?? false
    }
}
