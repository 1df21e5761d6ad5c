// A GGUF file's tokenizer written as Hugging Face `tokenizer.json`: what a model folder saved from
// a GGUF model (full fine-tuning, `lmkit lora merge`) needs for transformers and LMKit to tokenize
// as the GGUF file does. The pipeline written is the one ``Tokenizer/gguf(_:)`` builds.
import Foundation
import LMKitTensor

extension Tokenizer {
    /// The `tokenizer.json` of a GGUF file's tokenizer.
    ///
    /// - `llama` (SentencePiece: Gemma, Llama 1-2, Mistral): a normalizer (a "▁" prefix when
    ///   `add_space_prefix`, spaces as "▁"), a BPE model whose merges are every split of a piece into
    ///   two pieces, ranked by the merged piece's score (best first; the shorter left part first among
    ///   splits of one piece), byte fallback, the decoder back to text, and the user-defined pieces as
    ///   added tokens that are not special (matched whole, as sentencepiece does; the runs of "▁" by
    ///   merges that outrank the others).
    /// - `gpt2` (byte-level BPE: Llama 3, Qwen2, GPT-2): the vocabulary and merges as stored, the
    ///   pre-tokenizer `tokenizer.ggml.pre` names (GPT-2's byte-level split, or Llama 3's / Qwen2's
    ///   `Split` pattern), `ignore_merges` for Llama 3, the byte-level decoder.
    ///
    /// Both: control, unknown, BOS and EOS pieces as special added tokens, and a post-processor that
    /// adds BOS/EOS as `add_bos_token` / `add_eos_token` say. Vocabulary keys are written byte string by
    /// byte string: canonically equivalent pieces ("é" and "e" + U+0301) are different tokens.
    public static func huggingFaceJSON(gguf file: GGUFFile) throws(TokenizerError) -> Data {
        let path = file.path
        let f = try GGUFTokenizerFields(file)
        let (kind, tokens, types, bos, eos, unk, addBOS, addEOS) = (f.kind, f.tokens, f.types, f.bos, f.eos, f.unk, f.addBOS, f.addEOS)
        guard kind == "llama" || kind == "gpt2" else {
            throw TokenizerError(
                "\(path): writing tokenizer.json for a GGUF \"\(kind)\" tokenizer is not supported (LMKit writes \"llama\" and \"gpt2\")")
        }

        let parts =
            kind == "llama"
            ? try sentencePieceParts(file, tokens: tokens, types: types, unk: unk)
            : try byteLevelParts(file, tokens: tokens)

        var added: [[String: Any]] = []
        for (i, t) in types.enumerated() where (t == 2 || t == 3 || t == 4 || i == bos || i == eos) && !tokens[i].isEmpty {
            // User-defined pieces (4: Gemma's newline runs, HTML tags) are matched whole before the model,
            // as sentencepiece does; transformers' converter writes them so: not special, not normalized.
            guard t != 4 || kind == "llama" else { continue }
            let special = t != 4 || i == bos || i == eos
            added.append([
                "id": i, "content": parts.spelled[i], "single_word": false, "lstrip": false, "rstrip": false, "normalized": false,
                "special": special,
            ])
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
        var model = parts.model
        model["type"] = "BPE"
        model["dropout"] = NSNull()
        model["unk_token"] = unk.map { tokens[$0] as Any } ?? NSNull()
        model["continuing_subword_prefix"] = NSNull()
        model["end_of_word_suffix"] = NSNull()
        model["vocab"] = "@VOCAB@"
        model["merges"] = "@MERGES@"
        let root: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": parts.normalizer ?? NSNull(), "pre_tokenizer": parts.preTokenizer ?? NSNull(),
            "post_processor": ["type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials],
            "decoder": parts.decoder, "model": model,
        ]
        var json: String
        do {
            json = String(
                decoding: try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
        } catch {
            throw TokenizerError("\(path): the tokenizer could not be written as JSON (\(error))")
        }
        // The vocabulary and merges are spliced in here, byte string by byte string.
        var seen = Set<[UInt8]>()
        var vocab: [String] = []
        for (i, t) in parts.spelled.enumerated() where !t.isEmpty && seen.insert(Array(t.utf8)).inserted {
            vocab.append(JSONLiteral.string(t) + ":" + String(i))
        }
        let vocabJSON = "{" + vocab.joined(separator: ",") + "}"
        let mergesJSON =
            "[" + parts.merges.map { "[" + JSONLiteral.string($0.a) + "," + JSONLiteral.string($0.b) + "]" }.joined(separator: ",") + "]"
        json = json.replacingOccurrences(of: "\"@VOCAB@\"", with: vocabJSON).replacingOccurrences(of: "\"@MERGES@\"", with: mergesJSON)
        return Data(json.utf8)
    }

    /// What differs between the two kinds: the pieces as the model spells them, the merges in rank
    /// order, and the components around the model.
    private struct ExportParts {
        var spelled: [String]
        var merges: [(a: String, b: String)]
        var model: [String: Any]
        var normalizer: [String: Any]?
        var preTokenizer: [String: Any]?
        var decoder: [String: Any]
    }

    private static func sentencePieceParts(_ file: GGUFFile, tokens: [String], types: [Int], unk: Int?) throws(TokenizerError)
        -> ExportParts
    {
        guard let scores = file["tokenizer.ggml.scores"]?.floats, scores.count == tokens.count else {
            throw TokenizerError("\(file.path): tokenizer.ggml.scores is missing or does not have one score per token")
        }
        let addSpace = file["tokenizer.ggml.add_space_prefix"]?.bool ?? true
        var spelled = tokens
        for i in tokens.indices where types[i] == 4 { spelled[i] = tokens[i].replacingOccurrences(of: " ", with: "▁") }
        // Merges: each way to make a normal (1), user-defined (4) or unused (5) piece from two such pieces.
        var pieces = Set<[UInt8]>()
        for i in tokens.indices where [1, 4, 5].contains(types[i]) && !spelled[i].isEmpty { pieces.insert(Array(spelled[i].utf8)) }
        var merges: [(score: Float, merged: Int, cut: Int, a: String, b: String)] = []
        for i in tokens.indices where [1, 4, 5].contains(types[i]) {
            let scalars = Array(spelled[i].unicodeScalars)  // splits at code points, as the GGUF loader does
            guard scalars.count >= 2 else { continue }
            for k in 1..<scalars.count {
                var a = "", b = ""
                a.unicodeScalars.append(contentsOf: scalars[..<k])
                b.unicodeScalars.append(contentsOf: scalars[k...])
                if pieces.contains(Array(a.utf8)), pieces.contains(Array(b.utf8)) {
                    // User-defined pieces are matched whole before any merge in the GGUF tokenizer; the ones
                    // an added token cannot match (runs of "▁", which the text spells with spaces) are
                    // built by merges that outrank every other, as transformers' Gemma tokenizer does.
                    merges.append((types[i] == 4 ? .greatestFiniteMagnitude : scores[i], i, k, a, b))
                }
            }
        }
        merges.sort { ($0.score, -$0.merged, -$0.cut) > ($1.score, -$1.merged, -$1.cut) }
        var normalizers: [[String: Any]] = []
        if addSpace { normalizers.append(["type": "Prepend", "prepend": "▁"]) }
        normalizers.append(["type": "Replace", "pattern": ["String": " "], "content": "▁"])
        var decoders: [[String: Any]] = [
            ["type": "Replace", "pattern": ["String": "▁"], "content": " "], ["type": "ByteFallback"], ["type": "Fuse"],
        ]
        if addSpace { decoders.append(["type": "Strip", "content": " ", "start": 1, "stop": 0]) }
        return ExportParts(
            spelled: spelled, merges: merges.map { ($0.a, $0.b) },
            model: ["fuse_unk": true, "byte_fallback": types.contains(6), "ignore_merges": false],
            normalizer: ["type": "Sequence", "normalizers": normalizers], preTokenizer: nil,
            decoder: ["type": "Sequence", "decoders": decoders])
    }

    private static func byteLevelParts(_ file: GGUFFile, tokens: [String]) throws(TokenizerError) -> ExportParts {
        guard let lines = file["tokenizer.ggml.merges"]?.strings else {
            throw TokenizerError("\(file.path): tokenizer.ggml.merges is missing")
        }
        var merges: [(a: String, b: String)] = []
        for (n, line) in lines.enumerated() {
            let parts = line.utf8.split(separator: 0x20)
            guard parts.count == 2 else { throw TokenizerError("\(file.path): tokenizer.ggml.merges[\(n)] \"\(line)\" is not two tokens") }
            merges.append((String(decoding: parts[0], as: UTF8.self), String(decoding: parts[1], as: UTF8.self)))
        }
        let pre = file["tokenizer.ggml.pre"]?.string ?? "default"
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let preTokenizer: [String: Any]
        switch pre {
        case "default", "gpt-2", "gpt2":
            preTokenizer = byteLevel
        case "llama-bpe", "llama3", "llama-v3", "qwen2":
            let digits = pre == "qwen2" ? 1 : 3
            guard let pattern = Llama3Split.patterns.first(where: { $0.value == digits })?.key else {
                throw TokenizerError("\(file.path): no split pattern for the \"\(pre)\" pre-tokenizer")
            }
            var rest = byteLevel
            rest["use_regex"] = false
            preTokenizer = [
                "type": "Sequence",
                "pretokenizers": [
                    ["type": "Split", "pattern": ["Regex": pattern], "behavior": "Isolated", "invert": false] as [String: Any], rest,
                ],
            ]
        default:
            throw TokenizerError(
                "\(file.path): GGUF pre-tokenizer \"\(pre)\" is not supported (LMKit implements gpt-2, llama-bpe and qwen2)")
        }
        return ExportParts(
            spelled: tokens, merges: merges, model: ["fuse_unk": false, "byte_fallback": false, "ignore_merges": pre.hasPrefix("llama")],
            normalizer: nil, preTokenizer: preTokenizer,
            decoder: ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true])
    }
}
