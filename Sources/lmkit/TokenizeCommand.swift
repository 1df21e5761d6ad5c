import ArgumentParser
import Foundation
import LMKitAssets
import LMKitTokenizers

/// `lmkit tokenize`: shows how a tokenizer cuts text, tokens and ids side by side.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize text: tokens and ids side by side.",
        discussion: """
            --tokenizer picks the tokenizer:
              word   NLTK's word_tokenize (Penn Treebank rules after punkt sentence splitting); no ids
              bert   bert-base-uncased WordPiece (the vocabulary of the all-MiniLM-L6-v2 asset)
              gpt2   GPT-2 byte-level BPE (vocab.json + merges.txt asset)
              gemma  Gemma 3 SentencePiece BPE, read from the GGUF asset's metadata
              PATH   a tokenizer.json, a vocab.txt, a *.tiktoken rank file, a *.gguf model, or a folder with
                     tokenizer.json, vocab.json + merges.txt, or vocab.txt

            tokenizer.json components read: normalizers BertNormalizer, Lowercase, StripAccents, NFD, NFKD,
            NFC, NFKC, Replace (literal), Prepend, Strip, Sequence; pre-tokenizers BertPreTokenizer, ByteLevel,
            Whitespace, WhitespaceSplit, Metaspace, Split (literal, or GPT-2's pattern), Punctuation, Digits,
            Sequence; models BPE, WordPiece, Unigram, WordLevel; post-processors BertProcessing,
            RobertaProcessing, TemplateProcessing, ByteLevel, Sequence; decoders ByteLevel, WordPiece,
            Metaspace, Replace, ByteFallback, Fuse, Strip, BPEDecoder, Sequence. Anything else is an error
            that names the component.

            Special tokens: a text that spells one (<|endoftext|>, [CLS], <start_of_turn>) is refused unless
            --special allow (encode it as the control token) or --special text (as ordinary text).

            --json prints one JSON object per line, one per text:
              {"text": String, "tokens": [String], "ids": [Int]}     ("ids" absent for --tokenizer word)
            """
    )

    @Option(name: .shortAndLong, help: "word, bert, gpt2, gemma, or a path (see below).")
    var tokenizer = "gpt2"

    @Option(help: "Tokenize this whole file as one text.")
    var file: String?

    @Flag(help: "Add the tokenizer's special tokens ([CLS] … [SEP], <bos>).")
    var addSpecial = false

    @Option(help: "Special-token spellings in the text: reject, allow or text.")
    var special: SpecialTokenPolicy = .reject

    @Flag(help: "One JSON object per text instead of the table.")
    var json = false

    @Argument(help: "Texts to tokenize.")
    var texts: [String] = []

    func validate() throws {
        if texts.isEmpty && file == nil { throw ValidationError("give texts to tokenize, or --file F") }
        if !texts.isEmpty && file != nil { throw ValidationError("give texts or --file, not both") }
    }

    struct Row: Encodable {
        let text: String
        let tokens: [String]
        let ids: [Int]?
    }

    func run() throws {
        var inputs = texts
        if let file {
            inputs = [try readTextFile(file, advice: "LMKit tokenizers take Unicode text; convert it first")]
        }
        let rows: [Row]
        if tokenizer == "word" {
            let words = try TokenizerChoice.wordTokenizer()
            rows = inputs.map { Row(text: $0, tokens: words.tokenize($0), ids: nil) }
        } else {
            let tok = try TokenizerChoice.load(tokenizer)
            let options = EncodeOptions(addSpecialTokens: addSpecial, specialTokens: special)
            let encodings: [Encoding]
            do { encodings = try tok.encodeBatch(inputs, options: options) } catch {
                if error.description.contains("special token") {
                    throw ValidationError("\(error.description) (use --special allow or --special text)")
                }
                throw error
            }
            rows = encodings.enumerated().map { i, e in Row(text: inputs[i], tokens: e.tokens, ids: e.ids) }
        }
        if json {
            for r in rows { try printJSON(r) }
            return
        }
        for (k, r) in rows.enumerated() {
            if k > 0 { print("") }
            let shown = r.text.count > 70 ? String(r.text.prefix(70)) + "…" : r.text
            print("\(visible(shown))  →  \(r.tokens.count) tokens")
            let widthID = (r.ids ?? []).map { String($0).count }.max() ?? 0
            for (i, t) in r.tokens.enumerated() {
                if let ids = r.ids {
                    print("  " + String(repeating: " ", count: widthID - String(ids[i]).count) + "\(ids[i])  \(visible(t))")
                } else {
                    print("  \(visible(t))")
                }
            }
        }
    }

    /// Control characters shown as escapes, so a token "\n" is visible.
    func visible(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 || u.value == 0x7F { out += "\\u{\(String(u.value, radix: 16))}" } else { out.unicodeScalars.append(u) }
            }
        }
        return out
    }
}

extension SpecialTokenPolicy: ExpressibleByArgument {}

/// The tokenizers the command line names.
enum TokenizerChoice {
    static func load(_ name: String) throws -> Tokenizer {
        let store = AssetStore()
        switch name {
        case "gpt2":
            return try Tokenizer.gpt2(vocab: try store.path(.gpt2, "vocab.json"), merges: try store.path(.gpt2, "merges.txt"))
        case "bert":
            var t = try Tokenizer(contentsOf: try store.path(.minilm, "tokenizer.json"))
            // The MiniLM file truncates and pads to 128 for the model; tokenizing text shows it all.
            t.truncation = nil
            t.padding = nil
            return t
        case "gemma":
            return try Tokenizer(contentsOf: try store.path(.gemma, "gemma-3-270m-q4_k_m.gguf"))
        default:
            guard FileManager.default.fileExists(atPath: name) else {
                throw ValidationError("--tokenizer \(name): not word, bert, gpt2, gemma, or an existing path")
            }
            return try Tokenizer(contentsOf: name)
        }
    }

    static func wordTokenizer() throws -> WordTokenizer {
        let punkt = try PunktParameters(pythonFile: try AssetStore().path(.punkt, "english.py"))
        return WordTokenizer(punkt: PunktSentenceTokenizer(parameters: punkt))
    }
}

/// `lmkit tokenizer`: build tokenizers.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Train tokenizers, or write a GGUF file's tokenizer as Hugging Face files.",
        subcommands: [Train.self, Export.self]
    )

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a byte-level BPE (GPT-2 style) or WordPiece (BERT style) tokenizer on a text file.",
            discussion: """
                Writes DIR/tokenizer.json (loadable by Hugging Face tokenizers and by `lmkit tokenize
                --tokenizer DIR`), plus vocab.json + merges.txt (bpe) or vocab.txt (wordpiece). Files are
                written atomically.

                --json prints one JSON object:
                  {"type": String, "vocab_size": Int, "merges": Int, "words": Int, "distinct_words": Int,
                   "corpus_bytes": Int, "seconds": Double, "files": [String],
                   "example": {"text": String, "tokens": [String]}}
                """
        )

        @Option(name: .customLong("type"), help: "bpe or wordpiece.")
        var kind: TokenizerTrainer.Kind = .bpe

        @Option(help: "Vocabulary size, special tokens and the alphabet included.")
        var vocabSize: Int

        @Option(help: "A pair must occur this many times to be merged.")
        var minFrequency = 2

        @Option(help: "Comma-separated special tokens (default: <|endoftext|> for bpe; [PAD],[UNK],[CLS],[SEP],[MASK] for wordpiece).")
        var specialTokens: String?

        @Option(help: "Output folder.")
        var out: String

        @Flag(help: "Print one JSON object instead of the summary.")
        var json = false

        @Argument(help: "The training corpus (a UTF-8 text file).")
        var corpus: String

        func validate() throws {
            guard vocabSize > 0 && vocabSize <= 1_000_000 else { throw ValidationError("--vocab-size must be in 1...1000000") }
            guard minFrequency >= 1 else { throw ValidationError("--min-frequency must be at least 1") }
        }

        struct Summary: Encodable {
            let type: String
            let vocab_size: Int
            let merges: Int
            let words: Int
            let distinct_words: Int
            let corpus_bytes: Int
            let seconds: Double
            let files: [String]
            let example: Example
            struct Example: Encodable { let text: String; let tokens: [String] }
        }

        func run() throws {
            let specials = specialTokens.map {
                $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            let trainer = TokenizerTrainer(kind: kind, vocabSize: vocabSize, minFrequency: minFrequency, specialTokens: specials)
            let quiet = json
            let result = try trainer.train(corpus: corpus) { done, wanted in
                if !quiet && isatty(2) != 0 { writeStandardError("\r  merges \(done)/\(wanted)   ") }
            }
            if !quiet && isatty(2) != 0 { writeStandardError("\n") }
            let files = try TokenizerTrainer.save(result, kind: kind, to: out)
            let sample = "Tokenizers learn subwords: unbelievably rare words still work."
            let tokens = try result.tokenizer.encode(sample).tokens
            let summary = Summary(
                type: kind.rawValue, vocab_size: result.vocabulary.count, merges: result.merges.count, words: result.words,
                distinct_words: result.distinctWords, corpus_bytes: result.corpusBytes, seconds: result.seconds,
                files: files, example: .init(text: sample, tokens: tokens))
            if json { try printJSON(summary); return }
            print(
                "Trained \(kind.rawValue) on \(corpus): \(result.corpusBytes) bytes, \(result.words) words (\(result.distinctWords) distinct)"
            )
            print(
                "  vocabulary \(result.vocabulary.count) tokens, \(result.merges.count) merges, \(String(format: "%.1f", result.seconds)) s"
            )
            if result.vocabulary.count < vocabSize {
                print("  (stopped before \(vocabSize): no pair left that occurs \(minFrequency) times)")
            }
            for f in files { print("  wrote \(f)") }
            print("  \"\(sample)\" → \(tokens.joined(separator: " | "))")
        }
    }
}

extension TokenizerTrainer.Kind: ExpressibleByArgument {}
