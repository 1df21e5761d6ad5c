// A Hugging Face tokenizer.json as the `tokenizer.ggml.*` metadata of a GGUF file (what llama.cpp's
// converter writes), the reverse of ``Tokenizer/huggingFaceJSON(gguf:)``: a model folder LMKit saved
// (trained, fine-tuned, merged) becomes a GGUF file with its tokenizer.
import Foundation
import LMKitTensor

extension Tokenizer {
    /// The GGUF tokenizer metadata of a `tokenizer.json` (and its folder's `tokenizer_config.json`,
    /// which names the special tokens).
    ///
    /// - Byte-level BPE (a `ByteLevel` pre-tokenizer: GPT-2, Llama 3, Qwen2): `tokenizer.ggml.model`
    ///   "gpt2", the vocabulary and merges as they are, `tokenizer.ggml.pre` from the pre-tokenizer
    ///   ("gpt-2", or "llama-bpe" / "qwen2" for their split patterns).
    /// - SentencePiece BPE (spaces as "▁", byte fallback: Gemma, Llama 2, Mistral): "llama", each
    ///   piece scored by the rank of the first merge that makes it (SentencePiece merges the best-scored
    ///   piece first, which is the BPE order), `<0xXX>` pieces as bytes, `add_space_prefix` from the
    ///   normalizer.
    ///
    /// Special added tokens become control tokens, other added tokens user-defined ones. Other models
    /// (WordPiece, Unigram) and pre-tokenizers are errors naming them.
    public static func ggufMetadata(tokenizerJSON data: Data, config: Data? = nil, source: String = "tokenizer.json") throws(TokenizerError)
        -> [(key: String, value: GGUFValue)]
    {
        do { return try ggufMetadata(data, config: config) } catch { throw TokenizerError("\(source): \(error.description)") }
    }

    private static func ggufMetadata(_ data: Data, config configData: Data?) throws(TokenizerError) -> [(key: String, value: GGUFValue)] {
        let root = try JSONObject(try JSONText.parse(data), path: "tokenizer")
        let model = try root.object("model")
        guard (model.type ?? (model.has("merges") ? "BPE" : nil)) == "BPE" else {
            throw model.unsupported("model type \(model.type.map { "\"\($0)\"" } ?? "(none)") for GGUF (LMKit writes BPE tokenizers)")
        }
        let members = try JSONMemberScanner.integerMembers(data, at: ["model", "vocab"], name: "tokenizer.model.vocab")
        var tokens = try vocabularyArray(try model.object("vocab"), members: members)
        var types = [Int32](repeating: 1, count: tokens.count)
        var added: [(id: Int, content: String, special: Bool)] = []
        if root.has("added_tokens") {
            for t in try root.objects("added_tokens") {
                guard let id = try t.int("id", default: nil), id >= 0, id < 1 << 24 else {
                    throw TokenizerError("\(t.path).id: missing or out of range")
                }
                added.append((id, try t.string("content"), try t.bool("special", default: false)))
            }
        }
        if let top = added.map(\.id).max(), top >= tokens.count {
            tokens += Array(repeating: "", count: top + 1 - tokens.count)
            types += Array(repeating: 1, count: top + 1 - types.count)
        }
        for a in added {
            guard tokens[a.id].isEmpty || tokens[a.id] == a.content || !a.special else {
                throw TokenizerError("tokenizer.added_tokens: id \(a.id) is \"\(a.content)\" but the vocabulary has \"\(tokens[a.id])\"")
            }
            if tokens[a.id].isEmpty { tokens[a.id] = a.content }
            types[a.id] = a.special ? 3 : 4
        }
        if let gap = tokens.firstIndex(of: "") { throw TokenizerError("tokenizer: no token has id \(gap) (GGUF needs every id from 0)") }
        let unk = try model.string("unk_token", default: nil)
        let ids = ByteStringTable.vocabulary(tokens).table
        func id(_ t: String?) -> Int? { t.flatMap { ids.lookup(Array($0.utf8)) }.map(Int.init) }
        if let u = id(unk) { types[u] = 2 }

        // Special tokens: tokenizer_config.json names them; the post-processor says which are added.
        let config = try configData.map { d throws(TokenizerError) in try JSONObject(try JSONText.parse(d), path: "tokenizer_config") }
        func configToken(_ key: String) -> String? {
            guard let v = config?.dict[key] else { return nil }
            return v as? String ?? (v as? [String: Any])?["content"] as? String
        }
        var (prefix, suffix) = ([String](), [String]())
        if root.has("post_processor") { (prefix, suffix) = try templateSpecials(try root.object("post_processor")) }
        let bos = id(configToken("bos_token") ?? prefix.first), eos = id(configToken("eos_token") ?? suffix.last)
        var out: [(key: String, value: GGUFValue)] = []

        let mergeList = try model.array("merges").enumerated().map { (rank, m) throws(TokenizerError) -> (String, String) in
            if let s = m as? String, let space = s.utf8.firstIndex(of: 0x20) {
                return (String(s[..<space]), String(s[s.utf8.index(after: space)...]))
            }
            if let p = m as? [String], p.count == 2 { return (p[0], p[1]) }
            throw TokenizerError("tokenizer.model.merges[\(rank)]: expected \"a b\" or [\"a\", \"b\"]")
        }
        let byteLevel = mentions("ByteLevel", root.dict["pre_tokenizer"])
        if byteLevel {
            out.append(("tokenizer.ggml.model", .string("gpt2")))
            out.append(("tokenizer.ggml.pre", .string(try byteLevelPreName(root.dict["pre_tokenizer"]))))
            out.append(("tokenizer.ggml.tokens", .strings(tokens)))
            out.append(("tokenizer.ggml.token_type", .int32s(types)))
            out.append(("tokenizer.ggml.merges", .strings(mergeList.map { $0.0 + " " + $0.1 })))
        } else {
            guard try model.bool("byte_fallback", default: false) || mentions("Replace", root.dict["normalizer"]) else {
                throw TokenizerError("tokenizer: neither byte-level nor SentencePiece-style BPE; LMKit cannot write it as GGUF")
            }
            // Scores: the earlier a merge makes a piece, the higher; pieces no merge makes score lowest.
            var scores = [Float](repeating: -1e9, count: tokens.count)
            for (rank, (a, b)) in mergeList.enumerated() {
                if let m = id(a + b), scores[m] == -1e9 { scores[m] = -Float(rank) }
            }
            for (i, t) in tokens.enumerated() where types[i] == 1 {
                let u = Array(t.utf8)
                if u.count == 6, t.hasPrefix("<0x"), t.hasSuffix(">"), UInt8(t.dropFirst(3).prefix(2), radix: 16) != nil { types[i] = 6 }
            }
            // llama.cpp stores user-defined pieces with spaces where SentencePiece has "▁".
            var stored = tokens
            for i in tokens.indices where types[i] == 4 { stored[i] = tokens[i].replacingAll("▁", with: " ") }
            out.append(("tokenizer.ggml.model", .string("llama")))
            out.append(("tokenizer.ggml.pre", .string("default")))
            out.append(("tokenizer.ggml.tokens", .strings(stored)))
            out.append(("tokenizer.ggml.scores", .floats(scores)))
            out.append(("tokenizer.ggml.token_type", .int32s(types)))
            out.append(("tokenizer.ggml.add_space_prefix", .bool(mentions("Prepend", root.dict["normalizer"]) || prependsMetaspace(root))))
        }
        if let bos { out.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos)))) }
        if let eos { out.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(eos)))) }
        if let u = id(unk) { out.append(("tokenizer.ggml.unknown_token_id", .uint32(UInt32(u)))) }
        if let p = id(configToken("pad_token")) { out.append(("tokenizer.ggml.padding_token_id", .uint32(UInt32(p)))) }
        out.append(("tokenizer.ggml.add_bos_token", .bool(!prefix.isEmpty)))
        out.append(("tokenizer.ggml.add_eos_token", .bool(!suffix.isEmpty)))
        return out
    }

    /// The special tokens a `TemplateProcessing` (alone or in a `Sequence`) puts before and after a
    /// single sequence.
    private static func templateSpecials(_ o: JSONObject) throws(TokenizerError) -> (prefix: [String], suffix: [String]) {
        if o.type == "Sequence" {
            for p in try o.objects("processors") where p.type == "TemplateProcessing" { return try templateSpecials(p) }
            return ([], [])
        }
        guard o.type == "TemplateProcessing" else { return ([], []) }
        var prefix: [String] = [], suffix: [String] = [], seenSequence = false
        for item in try o.objects("single") {
            if item.has("Sequence") {
                seenSequence = true
            } else if let s = (item.dict["SpecialToken"] as? [String: Any])?["id"] as? String {
                if seenSequence { suffix.append(s) } else { prefix.append(s) }
            }
        }
        return (prefix, suffix)
    }

    /// llama.cpp's name for a byte-level pre-tokenizer.
    private static func byteLevelPreName(_ json: Any?) throws(TokenizerError) -> String {
        var patterns: [String] = []
        func collect(_ v: Any?) {
            if let d = v as? [String: Any] {
                if d["type"] as? String == "Split", let r = (d["pattern"] as? [String: Any])?["Regex"] as? String { patterns.append(r) }
                d.values.forEach(collect)
            } else if let a = v as? [Any] {
                a.forEach(collect)
            }
        }
        collect(json)
        if patterns.isEmpty { return "gpt-2" }
        guard patterns.count == 1, let digits = Llama3Split.patterns[patterns[0]] else {
            throw TokenizerError(
                "tokenizer.pre_tokenizer: a Split pattern llama.cpp has no name for (LMKit writes gpt-2, llama-bpe and qwen2)")
        }
        return digits == 3 ? "llama-bpe" : "qwen2"
    }

    private static func prependsMetaspace(_ root: JSONObject) -> Bool {
        guard let p = root.dict["pre_tokenizer"] as? [String: Any], p["type"] as? String == "Metaspace" else { return false }
        return (p["prepend_scheme"] as? String).map { $0 != "never" } ?? (p["add_prefix_space"] as? Bool ?? true)
    }
}
