import Foundation
import LMKitTensor

extension Tokenizer {
    /// The `tokenizer.json` (Hugging Face `tokenizers` format) of a GGUF file's SentencePiece tokenizer
    /// (`tokenizer.ggml.model` "llama": Gemma, Llama 1-2, Mistral): what a model folder saved from a
    /// GGUF model needs for `transformers` and LMKit to tokenize as the GGUF file does.
    ///
    /// The pipeline is the one ``gguf(_:)`` builds: the normalizer (a "▁" prefix when
    /// `add_space_prefix`, spaces as "▁"), a BPE model whose merges are every split of a piece into
    /// two pieces, ranked by the merged piece's score (best first; the shorter left part first among
    /// splits of one piece), byte fallback, the decoder back to text, and the control, unknown and
    /// user-defined pieces as added tokens. Other GGUF tokenizers are an error naming the kind.
    public static func huggingFaceJSON(gguf file: GGUFFile) throws(TokenizerError) -> Data {
        let path = file.path
        guard let kind = file["tokenizer.ggml.model"]?.string else { throw TokenizerError("\(path): no tokenizer.ggml.model in the metadata") }
        guard kind == "llama" else {
            throw TokenizerError("\(path): writing tokenizer.json for a GGUF \"\(kind)\" tokenizer is not supported (only SentencePiece, \"llama\")")
        }
        guard let tokens = file["tokenizer.ggml.tokens"]?.strings, !tokens.isEmpty,
            let scores = file["tokenizer.ggml.scores"]?.floats, scores.count == tokens.count
        else { throw TokenizerError("\(path): tokenizer.ggml.tokens or tokenizer.ggml.scores is missing or malformed") }
        let types = file["tokenizer.ggml.token_type"]?.ints.map { $0.map(Int.init) } ?? Array(repeating: 1, count: tokens.count)
        guard types.count == tokens.count else { throw TokenizerError("\(path): \(types.count) token types for \(tokens.count) tokens") }
        func id(_ key: String) -> Int? { file["tokenizer.ggml.\(key)"]?.int.flatMap { (0..<tokens.count).contains($0) ? $0 : nil } }
        let bos = id("bos_token_id"), eos = id("eos_token_id"), unk = id("unknown_token_id")
        let addBOS = file["tokenizer.ggml.add_bos_token"]?.bool ?? true
        let addEOS = file["tokenizer.ggml.add_eos_token"]?.bool ?? false
        let addSpace = file["tokenizer.ggml.add_space_prefix"]?.bool ?? true

        var spelled = tokens
        for i in tokens.indices where types[i] == 4 { spelled[i] = tokens[i].replacingOccurrences(of: " ", with: "▁") }
        // Keys are byte strings: Swift's String equality would merge canonically equivalent pieces
        // (a precomposed "é" and "e" + U+0301), which are different tokens.
        var vocab: [(String, Int)] = []
        var seen = Set<[UInt8]>()
        for (i, t) in spelled.enumerated() where !t.isEmpty && seen.insert(Array(t.utf8)).inserted { vocab.append((t, i)) }
        // Merges: each way to make a normal (or unused) piece from two pieces, ranked by its score.
        var pieces = Set<[UInt8]>()
        for i in tokens.indices where [1, 4, 5].contains(types[i]) && !spelled[i].isEmpty { pieces.insert(Array(spelled[i].utf8)) }
        var merges: [(score: Float, merged: Int, cut: Int, a: String, b: String)] = []
        // User-defined pieces (whitespace runs) are matched before any merge in the GGUF tokenizer:
        // here they are merges that outrank every other.
        for i in tokens.indices where types[i] == 1 || types[i] == 5 || types[i] == 4 {
            let scalars = Array(spelled[i].unicodeScalars)  // splits at code points, as the GGUF loader does
            guard scalars.count >= 2 else { continue }
            for k in 1..<scalars.count {
                var a = "", b = ""
                a.unicodeScalars.append(contentsOf: scalars[..<k])
                b.unicodeScalars.append(contentsOf: scalars[k...])
                if pieces.contains(Array(a.utf8)), pieces.contains(Array(b.utf8)) {
                    merges.append((types[i] == 4 ? .greatestFiniteMagnitude : scores[i], i, k, a, b))
                }
            }
        }
        merges.sort { ($0.score, -$0.merged, -$0.cut) > ($1.score, -$1.merged, -$1.cut) }

        var added: [[String: Any]] = []
        for (i, t) in types.enumerated() where (t == 2 || t == 3 || i == bos || i == eos) && !tokens[i].isEmpty {
            added.append(["id": i, "content": tokens[i], "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true])
        }
        func special(_ i: Int, _ typeID: Int) -> [String: Any] { ["SpecialToken": ["id": tokens[i], "type_id": typeID]] }
        func sequence(_ name: String, _ typeID: Int) -> [String: Any] { ["Sequence": ["id": name, "type_id": typeID]] }
        var single: [[String: Any]] = [sequence("A", 0)], pair: [[String: Any]] = [sequence("A", 0), sequence("B", 1)]
        var specials: [String: Any] = [:]
        if addBOS, let bos {
            single.insert(special(bos, 0), at: 0)
            pair = [special(bos, 0), sequence("A", 0), special(bos, 1), sequence("B", 1)]
            specials[tokens[bos]] = ["id": tokens[bos], "ids": [bos], "tokens": [tokens[bos]]]
        }
        if addEOS, let eos {
            single.append(special(eos, 0))
            pair.insert(special(eos, 0), at: addBOS && bos != nil ? 2 : 1)
            pair.append(special(eos, 1))
            specials[tokens[eos]] = ["id": tokens[eos], "ids": [eos], "tokens": [tokens[eos]]]
        }
        var normalizers: [[String: Any]] = []
        if addSpace { normalizers.append(["type": "Prepend", "prepend": "▁"]) }
        normalizers.append(["type": "Replace", "pattern": ["String": " "], "content": "▁"])
        var decoders: [[String: Any]] = [
            ["type": "Replace", "pattern": ["String": "▁"], "content": " "], ["type": "ByteFallback"], ["type": "Fuse"],
        ]
        if addSpace { decoders.append(["type": "Strip", "content": " ", "start": 1, "stop": 0]) }
        let root: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": ["type": "Sequence", "normalizers": normalizers], "pre_tokenizer": NSNull(),
            "post_processor": ["type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials],
            "decoder": ["type": "Sequence", "decoders": decoders],
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": unk.map { tokens[$0] as Any } ?? NSNull(),
                "continuing_subword_prefix": NSNull(), "end_of_word_suffix": NSNull(), "fuse_unk": true,
                "byte_fallback": types.contains(6), "ignore_merges": false, "vocab": "@VOCAB@", "merges": "@MERGES@",
            ],
        ]
        var json: String
        do { json = String(decoding: try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys]), as: UTF8.self) } catch {
            throw TokenizerError("\(path): the tokenizer could not be written as JSON (\(error))")
        }
        // The vocabulary and merges are written here, byte string by byte string.
        let vocabJSON = "{" + vocab.map { jsonString($0.0) + ":" + String($0.1) }.joined(separator: ",") + "}"
        let mergesJSON = "[" + merges.map { "[" + jsonString($0.a) + "," + jsonString($0.b) + "]" }.joined(separator: ",") + "]"
        json = json.replacingOccurrences(of: "\"@VOCAB@\"", with: vocabJSON).replacingOccurrences(of: "\"@MERGES@\"", with: mergesJSON)
        return Data(json.utf8)
    }

    /// `s` as a JSON string literal, its code points kept as they are (no normalization).
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
