import Foundation
import LMKitAssets
import LMKitTokenizers

/// Tokenization: text becomes tokens and ids (study path days 1–2).
struct TokenizersChapter: TourChapter {
    let name = "tokenizers"
    let title = "Tokenization: from text to ids (NLTK words, WordPiece, byte-level BPE, SentencePiece)"

    func run(_ c: TourContext) throws -> [String: Double] {
        var results: [String: Double] = [:]
        c.say(
            """
            A model reads numbers, not text. A tokenizer cuts text into tokens and maps each to an id in a
            fixed vocabulary. The oldest way cuts words at spaces and punctuation, as NLTK's word_tokenize does
            (Penn Treebank rules, after the punkt sentence splitter):
            """)
        if c.assets.isPresent(.punkt) {
            let punkt = try PunktParameters(pythonFile: try c.assets.path(.punkt, "english.py"))
            let words = WordTokenizer(punkt: PunktSentenceTokenizer(parameters: punkt))
            for text in ["I love learning about LLMs", "Dr. Smith can't come; he's in Washington D.C. until Jan. 5th. Ask again."] {
                c.say("  \(text)\n    → \(words.tokenize(text).map { "'\($0)'" }.joined(separator: " "))")
            }
        } else {
            c.say("  (skipped: punkt parameters missing; run `scripts/fetch-assets --only punkt`)")
        }
        guard c.assets.isPresent(.gpt2), c.assets.isPresent(.minilm) else {
            c.say("  (the rest needs the gpt2 and minilm assets: run `scripts/fetch-assets --only gpt2,minilm`)")
            return results
        }
        let gpt2 = try Tokenizer.gpt2(vocab: try c.assets.path(.gpt2, "vocab.json"), merges: try c.assets.path(.gpt2, "merges.txt"))
        var bert = try Tokenizer(contentsOf: try c.assets.path(.minilm, "tokenizer.json"))
        bert.truncation = nil
        bert.padding = nil
        let gemma = c.assets.isPresent(.gemma) ? try Tokenizer(contentsOf: try c.assets.path(.gemma, "gemma-3-270m-q4_k_m.gguf")) : nil

        c.say(
            """

            Models use subword tokenizers instead. BERT's WordPiece lower-cases, splits off punctuation, then
            cuts each word into the longest pieces of its 30,522-entry vocabulary; "##" marks a piece that
            continues a word. [CLS] and [SEP] are added around the text:
            """)
        let e = try bert.encode("Transformers power modern LLMs")
        c.say("  tokens: \(e.tokens.joined(separator: " "))\n  ids:    \(e.ids.map(String.init).joined(separator: " "))")

        c.say("\nThe same word, three tokenizers: how \"LLMs\" splits into subwords")
        var rows: [(String, Tokenizer)] = [("GPT-2 byte-level BPE (50,257)", gpt2), ("BERT WordPiece (30,522)", bert)]
        if let gemma { rows.append(("Gemma 3 SentencePiece (262,144)", gemma)) }
        for (label, tok) in rows {
            let pieces = try tok.encode("I love learning about LLMs", options: .init(addSpecialTokens: false)).tokens
            c.say("  \(label.padding(toLength: 32)) \(pieces.joined(separator: " | "))")
        }
        c.say(
            """

            GPT-2 works on bytes: "Ġ" is how its vocabulary spells the space byte, so " love" is one token
            and no text is ever unknown. BERT has no "LLMs": it falls back to "ll" + "##ms". Gemma's large
            vocabulary marks word starts with "▁" (SentencePiece) and keeps frequent words whole.
            """)

        // Why subwords: a word vocabulary meets words it never saw; subwords do not.
        guard c.assets.isPresent(.shakespeare), c.assets.isPresent(.gensimData),
            let corpus = String(
                validating: FileManager.default.contents(atPath: try c.assets.path(.shakespeare, "shakespeare.txt")) ?? Data(),
                as: UTF8.self),
            let reviewsData = FileManager.default.contents(atPath: try c.assets.path(.gensimData, "pang_lee_polarity.cor"))
        else {
            return results
        }
        let reviews = String(decoding: reviewsData, as: UTF8.self).split(separator: "\n").map { line in
            line.split(separator: " ", maxSplits: 1).dropFirst().joined()
        }
        c.say(
            """

            Why subwords? Take a word-level vocabulary: the 20,000 most frequent words of Shakespeare. On 200
            modern movie-review sentences many words were never seen, and all become one [UNK] id:
            """)
        var counts: [Substring: Int] = [:]
        for w in corpus.lowercased().split(whereSeparator: { !$0.isLetter && $0 != "'" }) { counts[w, default: 0] += 1 }
        let vocabulary = Set(counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(20_000).map(\.key))
        var total = 0, unknown = 0
        var examples: [String] = []
        for r in reviews {
            for w in r.lowercased().split(whereSeparator: { !$0.isLetter && $0 != "'" }) {
                total += 1
                if !vocabulary.contains(w) {
                    unknown += 1
                    if examples.count < 40 && w.count > 6 && !examples.contains(String(w)) { examples.append(String(w)) }
                }
            }
        }
        let unknownRate = Double(unknown) / Double(max(total, 1))
        results["word_vocabulary_unknown_rate"] = unknownRate
        c.say("  \(Format.fixed(unknownRate * 100, 1))% of \(total) words are [UNK], e.g. \(examples.prefix(8).joined(separator: ", "))")
        c.say("\n  Subwords cover them with known pieces (some are whole GPT-2 tokens; rarer ones split):")
        let split = try examples.filter { try gpt2.encodeIDs(" " + $0).count > 1 }
        for w in Array(examples.prefix(1)) + split.filter({ $0 != examples.first }).prefix(4) {
            c.say(
                "    \(w.padding(toLength: 16)) GPT-2: \(try gpt2.encode(" " + w).tokens.joined(separator: " | "))   BERT: \(try bert.encode(w, options: .init(addSpecialTokens: false)).tokens.joined(separator: " | "))"
            )
        }
        let text = reviews.joined(separator: "\n")
        let words = Double(text.split(whereSeparator: { $0 == " " || $0 == "\n" }).count)
        let gptTokens = Double(try gpt2.encodeIDs(text).count)
        let bertIDs = try bert.encode(text, options: .init(addSpecialTokens: false)).ids
        let bertUnknown = Double(bertIDs.filter { $0 == 100 }.count) / Double(bertIDs.count)
        results["gpt2_tokens_per_word"] = gptTokens / words
        results["bert_tokens_per_word"] = Double(bertIDs.count) / words
        results["bert_unknown_rate"] = bertUnknown
        c.say(
            """

              Cost: GPT-2 uses \(Format.fixed(gptTokens / words, 2)) tokens per word on these reviews, BERT \(Format.fixed(Double(bertIDs.count) / words, 2)); \
            BERT's [UNK] rate is \(Format.fixed(bertUnknown * 100, 2))%, GPT-2's is 0 by construction (bytes).
            """)

        c.say(
            """

            Training a tokenizer is the BPE algorithm itself: count adjacent symbol pairs over the corpus,
            merge the most frequent pair into a new token, repeat. Here, 2,000 tokens learned from Shakespeare:
            """)
        let trainer = TokenizerTrainer(kind: .bpe, vocabSize: 2000)
        let trained = try trainer.train(text: corpus)
        results["bpe_training_seconds"] = trained.seconds
        c.say(
            "  \(trained.merges.count) merges in \(Format.fixed(trained.seconds, 1)) s; the first ten: \(trained.merges.prefix(10).map { "\($0.0)+\($0.1)" }.joined(separator: "  "))"
        )
        let sample = "Wherefore art thou Romeo? Transformers are unbelievably useful."
        c.say("  \(sample)\n    → \(try trained.tokenizer.encode(sample).tokens.joined(separator: " | "))")
        c.say(
            """

            Old words come out whole; new ones ("Transformers", "unbelievably") are assembled from pieces.
            `lmkit tokenizer train` does this on any corpus and writes a tokenizer.json that Hugging Face
            tokenizers loads; `lmkit tokenize --tokenizer word|bert|gpt2|gemma TEXT` shows any text's tokens.
            """)
        return results
    }
}
