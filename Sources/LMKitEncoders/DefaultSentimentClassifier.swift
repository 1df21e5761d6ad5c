// The sentiment classifier `lmkit classify` uses when no model is given. No fine-tuned sentiment
// checkpoint can be had offline, so LMKit makes one: all-MiniLM-L6-v2 (the real encoder asset)
// fine-tuned on the 200 labelled movie-review sentences of Pang & Lee that gensim ships. It is
// built once and kept in the asset cache.
import Foundation
import LMKitAssets
import LMKitModels

/// The POSITIVE/NEGATIVE classifier `lmkit classify` falls back to: all-MiniLM-L6-v2 fine-tuned once on Pang & Lee's sentences.
public enum DefaultSentimentClassifier {
    /// The recipe, fixed so that the cached model is the same everywhere.
    public static var options: FineTuneOptions {
        var o = FineTuneOptions()
        o.epochs = 8
        o.batchSize = 16
        o.learningRate = 1e-4
        o.patience = 3
        o.seed = 42
        return o
    }

    /// Where the classifier lives: `<asset cache>/sentiment-minilm`.
    public static func folder(store: AssetStore = AssetStore()) -> String { store.root + "/sentiment-minilm" }

    /// The classifier folder, fine-tuning it first when it is not there yet (about a minute on two
    /// cores). `log` hears what is happening.
    public static func ensure(store: AssetStore = AssetStore(), log: (String) -> Void = { _ in }) throws -> String {
        let folder = folder(store: store)
        if FileManager.default.fileExists(atPath: folder + "/model.safetensors") { return folder }
        let minilm = (try store.path(.minilm) as NSString).deletingLastPathComponent
        let sentences = try store.path(.gensimData, "pang_lee_polarity.cor")
        log("no sentiment model yet: fine-tuning all-MiniLM-L6-v2 on the 200 Pang & Lee sentences (\(sentences)), once")
        let data = try ClassificationData.load(sentences, encoding: .cp1252)  // the file is Windows-1252 (its dashes are 0x97)
        let renamed = data.train.map { LabeledText(text: $0.text, label: $0.label == "pos" ? "POSITIVE" : "NEGATIVE") }
        let (train, validation) = ClassificationData.split(renamed, validationFraction: 0.2, seed: 42)
        let (model, _) = try SequenceClassificationModel.load(folder: minilm, labels: ["NEGATIVE", "POSITIVE"], seed: 42)
        let tokenizer = try EncoderTokenizer(folder: minilm, config: model.config, maxLength: 128)
        let result = try ClassifierFineTuner(model: model, tokenizer: tokenizer, options: options).run(train: train, validation: validation)
        { e in
            log(
                "  epoch \(e.epoch): train loss \(String(format: "%.3f", e.trainLoss)), validation loss \(String(format: "%.3f", e.validationLoss)), accuracy \(String(format: "%.3f", e.validationAccuracy))"
            )
        }
        log(
            "kept epoch \(result.bestEpoch): validation accuracy \(String(format: "%.3f", result.validation.accuracy)) on \(validation.count) held-out sentences"
        )
        try saveClassifierFolder(model, tokenizerFrom: minilm, to: folder)
        return folder
    }
}

/// Saves `model` with the tokenizer files of `source` as a complete model folder at `folder`: written
/// beside it first (`folder.partial`), then moved into place, so an interrupted save leaves no
/// half-written model where a finished one is expected.
public func saveClassifierFolder(_ model: SequenceClassificationModel, tokenizerFrom source: String, to folder: String) throws {
    let staging = folder + ".partial"
    try? FileManager.default.removeItem(atPath: staging)
    try model.save(folder: staging)
    try copyTokenizerFiles(from: source, to: staging)
    if FileManager.default.fileExists(atPath: folder) { try FileManager.default.removeItem(atPath: folder) }
    try FileManager.default.moveItem(atPath: staging, toPath: folder)
}

/// Copies the tokenizer files of a model folder (those that exist) into another.
public func copyTokenizerFiles(from source: String, to destination: String) throws {
    for name in ["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"] {
        let from = (source as NSString).appendingPathComponent(name), to = (destination as NSString).appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: from) else { continue }
        if FileManager.default.fileExists(atPath: to) { try FileManager.default.removeItem(atPath: to) }
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }
}
