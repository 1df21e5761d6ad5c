import Foundation

extension Tokenizer {
    /// Loads a Hugging Face `tokenizer.json` (the pipeline LMKit reads is listed in `lmkit tokenize
    /// --help`; anything else is an error naming the component).
    public init(tokenizerJSON path: String) throws(TokenizerError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw TokenizerError("\(path): cannot read the file") }
        do {
            try self.init(jsonData: data, source: path)
        } catch {
            throw error.description.hasPrefix(path) ? error : TokenizerError("\(path): \(error.description)")
        }
    }

    /// Parses the contents of a `tokenizer.json` file.
    public init(jsonData: Data, source: String = "tokenizer.json") throws(TokenizerError) {
        let parsed = try JSONText.parse(jsonData)
        let root = try JSONObject(parsed, path: "tokenizer")

        var addedTokens: [AddedToken] = []
        if root.has("added_tokens") {
            for t in try root.objects("added_tokens") {
                addedTokens.append(
                    AddedToken(
                        id: try t.int("id", default: nil) ?? -1, content: try t.string("content"),
                        special: try t.bool("special", default: false), singleWord: try t.bool("single_word", default: false),
                        lstrip: try t.bool("lstrip", default: false), rstrip: try t.bool("rstrip", default: false)))
            }
        }
        let normalizer = root.has("normalizer") ? try NormalizerType.make(try root.object("normalizer")) : nil
        let preTokenizerJSON = root.has("pre_tokenizer") ? try root.object("pre_tokenizer") : nil
        let preTokenizer = try preTokenizerJSON.map { (o) throws(TokenizerError) in try PreTokenizerType.make(o) }
        let decoderJSON = root.has("decoder") ? try root.object("decoder") : nil
        let decoder = try decoderJSON.map { (o) throws(TokenizerError) in try DecoderType.make(o) }
        let byteLevel = Tokenizer.mentions("ByteLevel", preTokenizerJSON?.dict) || decoderJSON?.type == "ByteLevel"
        let vocabulary = try JSONMemberScanner.integerMembers(jsonData, at: ["model", "vocab"], name: "tokenizer.model.vocab")
        let (model, summary) = try Tokenizer.makeModel(try root.object("model"), vocabulary: vocabulary, byteLevel: byteLevel)
        let post = root.has("post_processor") ? try TemplatePostProcessor.make(try root.object("post_processor")) : nil
        self.init(
            normalizer: normalizer, preTokenizer: preTokenizer, model: model, postProcessor: post, decoder: decoder,
            addedTokens: addedTokens, summary: summary)
        if root.has("truncation") {
            let t = try root.object("truncation")
            guard let maxLength = try t.int("max_length", default: nil) else { throw TokenizerError("\(t.path).max_length: missing") }
            var truncation = Truncation(maxLength: maxLength, stride: try t.int("stride", default: 0)!)
            let strategy = try t.string("strategy", default: "LongestFirst")!
            switch strategy {
            case "LongestFirst", "longest_first": truncation.strategy = .longestFirst
            case "OnlyFirst", "only_first": truncation.strategy = .onlyFirst
            case "OnlySecond", "only_second": truncation.strategy = .onlySecond
            default: throw t.unsupported("truncation strategy \"\(strategy)\"")
            }
            truncation.direction = try t.string("direction", default: "Right") == "Left" ? .left : .right
            self.truncation = truncation
        }
        if root.has("padding") {
            let p = try root.object("padding")
            var padding = Padding()
            if let fixed = (p.dict["strategy"] as? [String: Any])?["Fixed"] as? Int { padding.length = .fixed(fixed) }
            padding.direction = try p.string("direction", default: "Right") == "Left" ? .left : .right
            padding.multipleOf = try p.int("pad_to_multiple_of", default: nil)
            padding.padID = try p.int("pad_id", default: 0)!
            padding.padTypeID = try p.int("pad_type_id", default: 0)!
            padding.padToken = try p.string("pad_token", default: "[PAD]")!
            self.padding = padding
        }
    }

    static func mentions(_ type: String, _ json: Any?) -> Bool {
        if let d = json as? [String: Any] {
            if d["type"] as? String == type { return true }
            return d.values.contains { mentions(type, $0) }
        }
        if let a = json as? [Any] { return a.contains { mentions(type, $0) } }
        return false
    }

    /// The `model` of a tokenizer.json; `vocabulary` is its `vocab` object's members as written (see
    /// ``JSONMemberScanner``), nil when `vocab` is not an object.
    static func makeModel(_ o: JSONObject, vocabulary: [(key: String, value: Int)]?, byteLevel: Bool) throws(TokenizerError) -> (
        any TokenizerModel, String
    ) {
        let typeName = o.type ?? (o.has("merges") ? "BPE" : o.has("continuing_subword_prefix") ? "WordPiece" : nil)
        guard let name = typeName, let type = ModelType(rawValue: name) else {
            throw o.unsupported("model type \(o.type.map { "\"\($0)\"" } ?? "(none)")")
        }
        switch type {
        case .bpe:
            if let dropout = try o.double("dropout", default: nil), dropout > 0 {
                throw o.unsupported("BPE dropout \(dropout) (a training-time regularizer; set it to null for inference)")
            }
            let tokens = try vocabularyArray(try o.object("vocab"), members: vocabulary)
            var options = BPEModel.Options()
            options.byteLevel = byteLevel
            options.byteFallback = try o.bool("byte_fallback", default: false)
            options.fuseUnk = try o.bool("fuse_unk", default: false)
            options.ignoreMerges = try o.bool("ignore_merges", default: false)
            options.continuingSubwordPrefix = try o.string("continuing_subword_prefix", default: nil)
            options.endOfWordSuffix = try o.string("end_of_word_suffix", default: nil)
            let ids = ByteStringTable.vocabulary(tokens).table  // by bytes: "é" and "e\u{301}" are two tokens
            if let unk = try o.string("unk_token", default: nil) { options.unkID = ids.lookup(Array(unk.utf8)) }
            var merges: [(a: Int32, b: Int32, priority: Float, merged: Int32)] = []
            for (rank, m) in try o.array("merges").enumerated() {
                let a: [UInt8], b: [UInt8]
                if let s = m as? String {
                    // At the first space byte: a space followed by a combining mark is one Character.
                    let bytes = Array(s.utf8)
                    guard let space = bytes.firstIndex(of: 0x20) else {
                        throw TokenizerError("\(o.path).merges[\(rank)]: \"\(s)\" is not two tokens separated by a space")
                    }
                    a = Array(bytes[..<space]); b = Array(bytes[(space + 1)...])
                } else if let p = m as? [String], p.count == 2 {
                    a = Array(p[0].utf8); b = Array(p[1].utf8)
                } else {
                    throw TokenizerError("\(o.path).merges[\(rank)]: expected \"a b\" or [\"a\", \"b\"]")
                }
                let prefix = options.continuingSubwordPrefix.map { Array($0.utf8) } ?? []
                let prefixLength = !prefix.isEmpty && b.starts(with: prefix) ? prefix.count : 0
                guard let ia = ids.lookup(a), let ib = ids.lookup(b), let im = ids.lookup(a + b.dropFirst(prefixLength)) else {
                    throw TokenizerError("\(o.path).merges[\(rank)]: \"\(a) \(b)\" uses or makes a token missing from the vocabulary")
                }
                merges.append((ia, ib, Float(rank), im))
            }
            let model = try BPEModel(tokens: tokens, merges: merges, options: options)
            return (model, "\(byteLevel ? "byte-level " : "")BPE, \(tokens.count) tokens, \(merges.count) merges")
        case .wordPiece:
            let tokens = try vocabularyArray(try o.object("vocab"), members: vocabulary)
            let model = try WordPieceModel(
                tokens: tokens, unkToken: try o.string("unk_token", default: "[UNK]")!,
                continuingSubwordPrefix: try o.string("continuing_subword_prefix", default: "##")!,
                maxInputCharsPerWord: try o.int("max_input_chars_per_word", default: 100)!)
            return (model, "WordPiece, \(tokens.count) tokens")
        case .unigram:
            var tokens: [String] = [], scores: [Double] = []
            for (i, v) in try o.array("vocab").enumerated() {
                guard let pair = v as? [Any], pair.count == 2, let t = pair[0] as? String, let s = pair[1] as? NSNumber else {
                    throw TokenizerError("\(o.path).vocab[\(i)]: expected [piece, score]")
                }
                tokens.append(t); scores.append(s.doubleValue)
            }
            let model = try UnigramModel(
                tokens: tokens, scores: scores, unkID: try o.int("unk_id", default: nil),
                byteFallback: try o.bool("byte_fallback", default: false))
            return (model, "Unigram, \(tokens.count) pieces")
        case .wordLevel:
            let tokens = try vocabularyArray(try o.object("vocab"), members: vocabulary)
            return (WordLevelModel(tokens: tokens, unkToken: try o.string("unk_token", default: nil)), "word level, \(tokens.count) tokens")
        }
    }

    /// A `{"token": id}` map as an array indexed by id; ids must be unique, non-negative, and not absurdly sparse.
    /// `members`: the object's members read from the bytes (``JSONMemberScanner``), which keep keys
    /// that `o.dict` merges as canonically equivalent.
    static func vocabularyArray(_ o: JSONObject, members: [(key: String, value: Int)]? = nil) throws(TokenizerError) -> [String] {
        var entries: [(String, Int)] = members ?? []
        if members == nil {
            entries.reserveCapacity(o.dict.count)
            for (t, v) in o.dict {
                guard let n = v as? Int, n >= 0 else { throw TokenizerError("\(o.path)[\"\(t)\"]: expected a non-negative integer id") }
                entries.append((t, n))
            }
        }
        let maxID = entries.map(\.1).max() ?? -1
        guard maxID < max(16, entries.count * 4) else {
            throw TokenizerError("\(o.path): id \(maxID) is far beyond the \(entries.count) entries")
        }
        var tokens = [String](repeating: "", count: maxID + 1)
        for (t, n) in entries {
            guard tokens[n].isEmpty else { throw TokenizerError("\(o.path): id \(n) is given to both \"\(tokens[n])\" and \"\(t)\"") }
            tokens[n] = t
        }
        return tokens
    }
}
