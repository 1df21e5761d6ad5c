import Foundation

extension TokenizerTrainer {
    /// A character-level tokenizer: one token per character that occurs in `text` (sorted by code
    /// point, nanoGPT's `shakespeare_char` vocabulary), plus `<unk>` for characters it never saw.
    ///
    /// It is written as a standard `tokenizer.json` (a BPE model without merges and a Fuse decoder),
    /// so a character-level model folder is as portable as any other.
    public static func characterLevel(text: String) throws(TokenizerError) -> (json: Data, tokenizer: Tokenizer) {
        var characters = Set<Unicode.Scalar>()
        for u in text.unicodeScalars { characters.insert(u) }
        let sorted = characters.sorted { $0.value < $1.value }
        var vocab: [String: Int] = ["<unk>": 0]
        for (i, u) in sorted.enumerated() { vocab[String(u)] = i + 1 }
        let json: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(),
            "added_tokens": [
                [
                    "id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false, "special": true,
                ]
            ],
            "normalizer": NSNull(), "pre_tokenizer": NSNull(), "post_processor": NSNull(),
            "decoder": ["type": "Fuse"],
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": "<unk>", "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab, "merges": [] as [Any],
            ] as [String: Any],
        ]
        let data: Data
        do { data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .withoutEscapingSlashes]) } catch {
            throw TokenizerError("cannot serialize the character vocabulary: \(error)")
        }
        return (data, try Tokenizer(jsonData: data, source: "character-level tokenizer"))
    }
}
