import Foundation
import LMKitTensor

extension Tokenizer {
    /// Loads a tokenizer from wherever a model keeps it: a `tokenizer.json`, a BERT `vocab.txt`, a
    /// tiktoken rank file (`*.tiktoken`), a GGUF model file, or a folder holding `tokenizer.json`,
    /// `vocab.json` + `merges.txt` (GPT-2) or `vocab.txt`.
    public init(contentsOf path: String) throws(TokenizerError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TokenizerError("\(path): no such file or folder")
        }
        if isDirectory.boolValue {
            let folder = URL(fileURLWithPath: path)
            func has(_ name: String) -> String? {
                let p = folder.appendingPathComponent(name).path
                return FileManager.default.fileExists(atPath: p) ? p : nil
            }
            if let p = has("tokenizer.json") { self = try Tokenizer(tokenizerJSON: p); return }
            if let v = has("vocab.json"), let m = has("merges.txt") { self = try Tokenizer.gpt2(vocab: v, merges: m); return }
            if let v = has("vocab.txt") { self = try Tokenizer.bert(vocab: v); return }
            throw TokenizerError("\(path): no tokenizer.json, vocab.json + merges.txt or vocab.txt in this folder")
        }
        let lower = path.lowercased()
        if lower.hasSuffix(".gguf") { self = try Tokenizer.gguf(path); return }
        if lower.hasSuffix(".tiktoken") { self = try Tokenizer.tiktoken(ranks: path); return }
        if lower.hasSuffix(".txt") { self = try Tokenizer.bert(vocab: path); return }
        self = try Tokenizer(tokenizerJSON: path)
    }

    static func readLines(_ path: String) throws(TokenizerError) -> [Substring] {
        guard let data = FileManager.default.contents(atPath: path) else { throw TokenizerError("\(path): cannot read the file") }
        guard let text = String(data: data, encoding: .utf8) else { throw TokenizerError("\(path): not valid UTF-8") }
        return text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// GPT-2's byte-level BPE from `vocab.json` and `merges.txt` (the Hugging Face / openai files).
    /// `<|endoftext|>` is a special token: refused in text unless allowed.
    public static func gpt2(vocab: String, merges: String) throws(TokenizerError) -> Tokenizer {
        guard let data = FileManager.default.contents(atPath: vocab) else { throw TokenizerError("\(vocab): cannot read the file") }
        let parsed: Any
        do { parsed = try JSONText.parse(data) } catch { throw TokenizerError("\(vocab): \(error.description)") }
        let tokens: [String]
        do {
            let members = try JSONMemberScanner.integerMembers(data, at: [], name: "vocab")
            tokens = try vocabularyArray(try JSONObject(parsed, path: "vocab"), members: members)
        } catch {
            throw TokenizerError("\(vocab): \(error.description)")
        }
        let ids = ByteStringTable.vocabulary(tokens).table  // by bytes, not by canonical equivalence
        var list: [(a: Int32, b: Int32, priority: Float, merged: Int32)] = []
        for (n, line) in try readLines(merges).enumerated() {
            if line.hasPrefix("#version") || line.isEmpty { continue }
            let parts = line.utf8.split(separator: 0x20).map(Array.init)
            guard parts.count == 2, let a = ids.lookup(parts[0]), let b = ids.lookup(parts[1]), let m = ids.lookup(parts[0] + parts[1])
            else {
                throw TokenizerError("\(merges):\(n + 1): \"\(line)\" is not a merge of two vocabulary tokens")
            }
            list.append((a, b, Float(list.count), m))
        }
        var options = BPEModel.Options()
        options.byteLevel = true
        let model = try BPEModel(tokens: tokens, merges: list, options: options)
        let eot = ids.lookup(Array("<|endoftext|>".utf8)).map { [AddedToken(id: Int($0), content: "<|endoftext|>")] } ?? []
        return Tokenizer(
            normalizer: nil, preTokenizer: ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true), model: model,
            postProcessor: nil, decoder: ByteLevelDecoder(), addedTokens: eot,
            summary: "GPT-2 byte-level BPE, \(tokens.count) tokens, \(list.count) merges")
    }

    /// A tiktoken rank file (`base64-token rank` per line) with GPT-2's pre-tokenization (r50k_base).
    /// Two tokens merge when their concatenation has a rank; the lowest rank merges first.
    public static func tiktoken(ranks path: String, specialTokens: [String: Int] = ["<|endoftext|>": 50256]) throws(TokenizerError)
        -> Tokenizer
    {
        var byRank: [Int: [UInt8]] = [:]
        for (n, line) in try readLines(path).enumerated() where !line.isEmpty {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let rank = Int(parts[1]), rank >= 0, let bytes = Data(base64Encoded: String(parts[0])) else {
                throw TokenizerError("\(path):\(n + 1): expected \"<base64 token> <rank>\"")
            }
            guard byRank[rank] == nil else { throw TokenizerError("\(path):\(n + 1): rank \(rank) appears twice") }
            byRank[rank] = Array(bytes)
        }
        let count = (byRank.keys.max() ?? -1) + 1
        guard byRank.count == count else { throw TokenizerError("\(path): ranks are not 0..<\(byRank.count) without gaps") }
        var table = ByteStringTable(capacity: count)
        for (r, b) in byRank { table.insert(b, value: Int32(r)) }
        var merges: [(a: Int32, b: Int32, priority: Float, merged: Int32)] = []
        for r in 0..<count {
            let b = byRank[r]!
            guard b.count >= 2 else { continue }
            for k in 1..<b.count {
                if let x = table.lookup(Array(b[..<k])), let y = table.lookup(Array(b[k...])) {
                    merges.append((x, y, Float(r), Int32(r)))
                }
            }
        }
        var tokens = (0..<count).map { ByteUnicode.encode(byRank[$0]!) }
        var added: [AddedToken] = []
        for (name, id) in specialTokens.sorted(by: { $0.value < $1.value }) {
            if id >= tokens.count { tokens += Array(repeating: "", count: id - tokens.count + 1) }
            added.append(AddedToken(id: id, content: name))
        }
        var options = BPEModel.Options()
        options.byteLevel = true
        options.ignoreMerges = true
        let model = try BPEModel(tokens: tokens, merges: merges, options: options)
        return Tokenizer(
            normalizer: nil, preTokenizer: ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true), model: model,
            postProcessor: nil, decoder: ByteLevelDecoder(), addedTokens: added,
            summary: "tiktoken byte-level BPE (GPT-2 pattern), \(count) ranks")
    }

    /// BERT's WordPiece from a `vocab.txt` (one token per line, id = line number), with BERT's
    /// normalization (lower-casing and accent stripping when `lowercase`) and `[CLS] … [SEP]`.
    /// Words in `neverSplit` (whole whitespace-delimited words) skip normalization and punctuation
    /// splitting and go to WordPiece as they are, as in BERT's `BasicTokenizer(never_split:)`.
    public static func bert(vocab path: String, lowercase: Bool = true, neverSplit: [String] = []) throws(TokenizerError) -> Tokenizer {
        var tokens = try readLines(path).map { String($0).trimmingCharacters(in: .init(charactersIn: "\r")) }
        if tokens.last == "" { tokens.removeLast() }
        let model = try WordPieceModel(tokens: tokens, unkToken: "[UNK]")
        var added: [AddedToken] = []
        for name in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] {
            if let id = model.id(of: name) { added.append(AddedToken(id: id, content: name)) }
        }
        for word in neverSplit where !word.isEmpty && !added.contains(where: { $0.content == word }) {
            var t = AddedToken(id: model.id(of: word) ?? Int(model.unkID), content: word, special: false)
            t.neverSplit = true
            added.append(t)
        }
        guard let cls = model.id(of: "[CLS]"), let sep = model.id(of: "[SEP]") else {
            throw TokenizerError("\(path): the vocabulary has no [CLS] or [SEP]")
        }
        return Tokenizer(
            normalizer: BertNormalizer(cleanText: true, handleChineseChars: true, stripAccents: nil, lowercase: lowercase),
            preTokenizer: BertPreTokenizer(), model: model,
            postProcessor: .bert(cls: ("[CLS]", cls), sep: ("[SEP]", sep)), decoder: WordPieceDecoder(prefix: "##", cleanup: true),
            addedTokens: added, summary: "BERT WordPiece\(lowercase ? " (uncased)" : ""), \(tokens.count) tokens")
    }
}
