import ArgumentParser
import Foundation
import LMKitAssets
import LMKitEncoders
import LMKitModels
import LMKitNN
import LMKitOptimization
import LMKitTensor
import LMKitTour

/// Texts from the command line, or one per line from a file.
struct TextInputs: ParsableArguments {
    @Option(help: "Read the texts from this UTF-8 file, one per line (empty lines skipped).")
    var file: String?

    @Argument(help: "The texts.")
    var texts: [String] = []

    func load() throws -> [String] {
        if texts.isEmpty && file == nil { throw ValidationError("give one or more texts, or --file F") }
        if !texts.isEmpty && file != nil { throw ValidationError("give texts or --file, not both") }
        guard let file else { return texts }
        return try Self.lines(of: file)
    }

    /// The non-blank lines of a UTF-8 file.
    static func lines(of file: String) throws -> [String] {
        let text = try readTextFile(file, advice: "convert it first, e.g. iconv -t UTF-8")
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.allSatisfy(\.isWhitespace) }
        if lines.isEmpty { throw ValidationError("\(file): no texts in the file") }
        return lines
    }
}

/// Model folders named on the command line: a path, or `minilm` for the all-MiniLM-L6-v2 asset.
enum EncoderFolder {
    static func resolve(_ model: String?) throws -> String {
        guard let model, model != "minilm" else {
            return (try AssetStore().path(.minilm) as NSString).deletingLastPathComponent
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError(
                "--model \(model): not a folder (give a Hugging Face model folder with config.json, model.safetensors and tokenizer files, or `minilm`)"
            )
        }
        return model
    }
}

extension EmbedCommand {
    /// `lmkit embed sentence`: sentence embeddings and their similarities.
    struct Sentence: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sentence embeddings (all-MiniLM-L6-v2 by default) and the cosine similarity of every pair.",
            discussion: """
                Embeddings are pooled and normalized as the folder's sentence-transformers files say
                (all-MiniLM-L6-v2: mean over the real tokens, then unit length), in batches padded to their
                longest text. Texts longer than the model's max_seq_length (256 for MiniLM) are truncated.

                --json prints {"model": String, "dimension": Int, "embeddings": [[Double]], "similarity": [[Double]]}
                (similarity[i][j] = cosine of texts i and j).

                --int8 quantizes every linear layer dynamically (int8 weights with one scale per matrix,
                activations quantized per batch, PyTorch's quantize_dynamic) before encoding.
                """)
        @Option(help: "A sentence-transformers or Hugging Face BERT/DistilBERT folder, or `minilm` (default).")
        var model: String?
        @OptionGroup var inputs: TextInputs
        @Option(help: "Texts per batch.") var batchSize = 32
        @Option(help: "Truncate texts to this many tokens (default: the model's max_seq_length).") var maxLength: Int?
        @OptionGroup var quantization: Int8Options
        @Flag(help: "Print JSON.") var json = false

        struct Output: Encodable { let model: String; let dimension: Int; let embeddings: [[Float]]; let similarity: [[Double]] }

        func run() throws {
            guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
            let texts = try inputs.load()
            let folder = try EncoderFolder.resolve(model)
            let encoder = try SentenceEncoder(folder: folder, maxLength: maxLength)
            quantization.apply(to: encoder.encoder)
            let vectors = try encoder.encode(texts, batchSize: batchSize)
            let similarity = SentenceEncoder.similarityMatrix(vectors)
            if json {
                return try printJSON(Output(model: folder, dimension: encoder.dimension, embeddings: vectors, similarity: similarity))
            }
            print(
                "\(texts.count) embeddings of \(encoder.dimension) dimensions (\(encoder.pooling.rawValue) pooling\(encoder.normalizes ? ", normalized" : ""))"
            )
            for (i, (t, v)) in zip(texts, vectors).enumerated() {
                let head = v.prefix(4).map { Format.fixed(Double($0), 4) }.joined(separator: ", ")
                print("[\(i)] [\(head), …]  \(t.count > 60 ? String(t.prefix(57)) + "…" : t)")
            }
            if texts.count > 1 {
                print("\ncosine similarity")
                print("      " + texts.indices.map { "[\($0)]".padding(8) }.joined())
                for (i, row) in similarity.enumerated() {
                    print("[\(i)]".padding(6) + row.map { Format.fixed($0, 3).padding(8) }.joined())
                }
            }
        }
    }
}

/// `lmkit classify`: label texts with a fine-tuned classifier.
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Label texts with a fine-tuned classifier (sentiment by default).",
        discussion: """
            --model is a Hugging Face *ForSequenceClassification folder (BERT or DistilBERT: config.json with
            id2label, model.safetensors, tokenizer files), such as one `lmkit finetune classifier` saved.
            Without --model, LMKit uses its own sentiment classifier: all-MiniLM-L6-v2 fine-tuned on the 200
            labelled movie-review sentences of Pang & Lee (the only labelled sentiment data offline). It is
            fine-tuned the first time (about a minute) and kept in the asset cache. Trained on 160
            sentences, it is a demonstration, not a production sentiment model.

            --json prints [{"label": String, "score": Double}, …], one per text, score = the label's
            softmax probability.

            --int8 quantizes every linear layer dynamically (PyTorch's quantize_dynamic), the head too.
            """)
    @Option(help: "A classifier folder (default: LMKit's MiniLM sentiment classifier).") var model: String?
    @OptionGroup var inputs: TextInputs
    @OptionGroup var quantization: Int8Options
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable { let label: String; let score: Double }

    func run() throws {
        let texts = try inputs.load()
        let folder: String
        if let model {
            folder = try EncoderFolder.resolve(model)
        } else {
            folder = try DefaultSentimentClassifier.ensure { printError($0) }
            if !json {
                printError(
                    "(model: LMKit's sentiment classifier, all-MiniLM-L6-v2 fine-tuned on 160 movie-review sentences; --model for your own)"
                )
            }
        }
        let classifier = try TextClassifier(folder: folder)
        quantization.apply(to: classifier.model)
        let predictions = try classifier.classify(texts)
        if json { return try printJSON(predictions.map { Output(label: $0.label, score: $0.score) }) }
        let width = predictions.map(\.label.count).max() ?? 0
        for (p, t) in zip(predictions, texts) { print("\(p.label.padding(width))  \(Format.fixed(p.score, 4))  \(t)") }
    }
}

/// `lmkit fill-mask`: BERT's masked-token prediction.
struct FillMaskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill-mask",
        abstract: "Predict the [MASK] tokens of a text with a masked language model (BERT/DistilBERT *ForMaskedLM).",
        discussion: """
            --model is a folder holding a masked-LM head (BertForMaskedLM, BertForPreTraining,
            DistilBertForMaskedLM), e.g. bert-base-uncased or distilbert-base-uncased from the Hugging Face
            Hub. all-MiniLM-L6-v2 has no such head.

            --json prints [[{"token": String, "id": Int, "score": Double, "sequence": String}, …], …]: for each
            [MASK] from left to right, the top-k candidates, best first.
            """)
    @Option(help: "A masked-LM model folder.") var model: String
    @Option(name: .long, help: "Candidates per mask.") var topK = 5
    @Argument(help: "The text, with one or more [MASK].") var text: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        guard topK > 0 else { throw ValidationError("--top-k must be positive") }
        let results = try FillMask(folder: try EncoderFolder.resolve(model)).predict(text, topK: topK)
        if json { return try printJSON(results) }
        for (m, candidates) in results.enumerated() {
            if results.count > 1 { print("mask \(m + 1):") }
            for c in candidates { print("\(Format.fixed(c.score, 4))  \(c.token.padding(14))  \(c.sequence)") }
        }
    }
}

/// `lmkit attention`: an attention map as a picture.
struct AttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Draw where each token attends, for one layer and head of an encoder (SVG heat map).",
        discussion: """
            Rows are the attending tokens (queries), columns the attended ones (keys); each row sums to 1.
            Layers and heads count from 0; --head mean averages the heads.

            --json prints {"tokens": [String], "layer": Int, "head": Int|null, "weights": [[Double]], "svg": String|null}.
            """)
    @Option(help: "A BERT/DistilBERT folder, or `minilm` (default).") var model: String?
    @Option(help: "Layer, from 0.") var layer = 0
    @Option(help: "Head, from 0, or `mean`.") var head = "mean"
    @Option(help: "Write the SVG heat map here.") var out: String?
    @Argument(help: "The sentence.") var text: String
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable { let tokens: [String]; let layer: Int; let head: Int?; let weights: [[Double]]; let svg: String? }

    func run() throws {
        let headIndex: Int?
        if head == "mean" {
            headIndex = nil
        } else {
            guard let h = Int(head) else { throw ValidationError("--head must be a number or `mean`") }
            headIndex = h
        }
        let folder = try EncoderFolder.resolve(model)
        let (encoder, _) = try TransformerEncoder.load(folder: folder)
        encoder.eval()
        let tokenizer = try EncoderTokenizer(folder: folder, config: encoder.config)
        let map = try AttentionMap.compute(encoder: encoder, tokenizer: tokenizer, text: text, layer: layer, head: headIndex)
        if let out { try AtomicFile.write(Array(map.svg().utf8), to: out) }
        if json { return try printJSON(Output(tokens: map.tokens, layer: map.layer, head: map.head, weights: map.weights, svg: out)) }
        print(
            "layer \(layer), " + (headIndex.map { "head \($0)" } ?? "mean over \(encoder.config.heads) heads")
                + " (row: token attending; the three keys it attends to most)")
        let width = map.tokens.map(\.count).max() ?? 0
        for (i, row) in map.weights.enumerated() {
            let top = row.indices.sorted { row[$0] > row[$1] }.prefix(3).map { "\(map.tokens[$0]) \(Format.fixed(row[$0], 2))" }
            print("\(map.tokens[i].padding(width))  → \(top.joined(separator: ", "))")
        }
        if let out { print("heat map: \(out)") }
    }
}

/// `--int8 [--int8-scheme S]`: the encoder commands' dynamic int8 quantization.
struct Int8Options: ParsableArguments {
    @Flag(help: "Multiply the linear layers in int8 (dynamic quantization: int8 weights, activations quantized as they come).")
    var int8 = false
    @Option(
        help:
            "With --int8: token (a scale per weight row and per token, 8 bits; default), channel (PyTorch's per-channel qconfig) or tensor (PyTorch's default)."
    )
    var int8Scheme: Int8Matrix.Scheme = .token

    /// Quantizes `model`'s linear layers when --int8 is given (nil otherwise).
    @discardableResult
    func apply(to model: Module) -> DynamicQuantization.Summary? {
        int8 ? DynamicQuantization.quantize(model, scheme: int8Scheme) : nil
    }
}
