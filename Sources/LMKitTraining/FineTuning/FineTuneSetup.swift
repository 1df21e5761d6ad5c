import Foundation
import LMKitAssets
import LMKitChat
import LMKitModels
import LMKitNN
import LMKitTensor
import LMKitTokenizers

/// How a fine-tuning run's examples came out, for the user to see before training starts.
public struct FineTuneDataSummary: Codable, Sendable, Equatable {
    /// Examples trained on, and held out for validation.
    public var trainExamples: Int, validationExamples: Int
    /// Examples cut to the context, and dropped for having nothing left to train on.
    public var truncated: Int, dropped: Int
    /// Tokens in the training examples, and those the loss is computed on.
    public var trainTokens: Int, trainedTokens: Int
}

/// The pre-trained model, adapters and batches of a fine-tuning run, built from its config.
struct FineTuneSetup {
    let loaded: LoadedModel
    /// The tokenizer files saved with the model: the base folder's (a GGUF base's exported for full
    /// fine-tuning), and `chat_template.jinja` when a template replaces the model's own.
    let tokenizerFiles: [(name: String, bytes: [UInt8])]
    let model: any TrainableLanguageModel
    let adapters: LoRAAdapters?
    let data: InstructionBatches
    let summary: FineTuneDataSummary

    init(_ f: FineTuneConfig, config: TrainingConfig, examples path: String, assets: AssetStore) throws {
        // QLoRA keeps the GGUF blocks; training reads them with float32 activations (exact products).
        var loaded = try ModelLoader.load(
            f.model, activations: .float32, keepQuantized: f.method == .qlora, exportTokenizer: f.method == .full, assets: assets)
        loaded = try ModelLoader.withTemplate(loaded, f.template)
        // The template trained with goes with the model (chat_template.jinja wins over tokenizer_config.json's).
        tokenizerFiles =
            loaded.tokenizerFiles.filter { $0.name != "chat_template.jinja" }
            + (f.template == nil || loaded.tokenizerFiles.isEmpty ? [] : [("chat_template.jinja", Array(loaded.template.source.utf8))])
        guard let model = loaded.model as? any TrainableLanguageModel else {
            throw TrainingError("\(f.model): this model cannot be trained")
        }
        if f.method == .qlora, (model as? any QuantizedDecoder)?.quantized.isEmpty ?? true {
            throw TrainingError("\(f.model): --qlora needs a quantized (GGUF) base; use --lora for a float model")
        }
        guard config.context <= model.contextLength else {
            throw TrainingError("context \(config.context) is longer than the model's \(model.contextLength) positions")
        }
        self.loaded = loaded
        self.model = model
        if let lora = f.lora {
            var c = lora
            c.baseModel = c.baseModel ?? f.model
            if model is GPT2LMHeadModel { c.fanInFanOut = true }  // its checkpoints store Conv1D [in, out] weights
            adapters = try LoRAAdapters(attachingTo: model, config: c, seed: config.seed)
        } else {
            adapters = nil
        }

        // Examples.
        var tokenizer = InstructionTokenizer(
            tokenizer: loaded.tokenizer, template: loaded.template, endOfSequence: FineTuneSetup.endOfSequence(loaded))
        tokenizer.trainOnPrompt = f.trainOnPrompt
        func tokenized(_ file: String) throws -> [TokenizedExample] {
            try InstructionData.read(file).map { try tokenizer.tokenize($0) }
        }
        var train = try tokenized(path), validation: [TokenizedExample]
        if let v = f.validation {
            validation = try tokenized(v)
        } else {
            guard train.count >= 2 else { throw TrainingError("\(path): one example cannot be split into training and validation") }
            var g = RandomGenerator(seed: config.seed &+ 17)
            for i in stride(from: train.count - 1, to: 0, by: -1) { train.swapAt(i, Int(g.next() % UInt64(i + 1))) }
            let held = min(train.count - 1, max(1, Int((Double(train.count) * config.validationFraction).rounded())))
            validation = Array(train.prefix(held))
            train.removeFirst(held)
        }
        let fittedTrain = InstructionBatches.fit(train, context: config.context)
        let fittedValidation = InstructionBatches.fit(validation, context: config.context)
        guard !fittedTrain.kept.isEmpty else {
            throw TrainingError("\(path): no example has a token to train on within \(config.context) tokens")
        }
        guard !fittedValidation.kept.isEmpty else {
            throw TrainingError("no validation example has a token to train on within \(config.context) tokens")
        }
        data = InstructionBatches(train: fittedTrain.kept, validation: fittedValidation.kept)
        summary = FineTuneDataSummary(
            trainExamples: fittedTrain.kept.count, validationExamples: fittedValidation.kept.count,
            truncated: fittedTrain.truncated + fittedValidation.truncated, dropped: fittedTrain.dropped + fittedValidation.dropped,
            trainTokens: fittedTrain.kept.reduce(0) { $0 + $1.ids.count },
            trainedTokens: fittedTrain.kept.reduce(0) { $0 + $1.trainedCount })
    }

    /// The id that ends a completion: the template's end-of-sequence token, or a known spelling.
    static func endOfSequence(_ loaded: LoadedModel) -> Int? {
        let t = loaded.tokenizer
        for spelling in [loaded.template.eosToken].compactMap({ $0 }) + ["<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"] {
            if let id = t.id(of: spelling) { return id }
        }
        return nil
    }
}
