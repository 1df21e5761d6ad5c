import Foundation
import LMKitAssets
import LMKitChat
import LMKitModels
import LMKitNN
import LMKitPlot
import LMKitTensor
import LMKitTokenizers

/// Pretrains a language model on a text file (nanoGPT's `train.py`, in Swift): a GPT-2-architecture
/// transformer, or a recurrent network (RNN, LSTM, GRU) with the same data, loop and files. With
/// ``TrainingConfig/fineTune`` set, it fine-tunes a pre-trained decoder instead, wholly or through
/// LoRA / QLoRA adapters, on examples (``InstructionData``) with completion-only loss.
///
/// The output folder holds:
/// - `model/`: the best model so far (lowest validation loss) as a Hugging Face folder
///   (`config.json`, `model.safetensors`, tokenizer files) for `lmkit generate` and `transformers`;
///   for LoRA and QLoRA, the best adapter as peft saves one (`adapter_config.json`,
///   `adapter_model.safetensors`) for `--adapter` and peft's `PeftModel.from_pretrained`;
/// - `checkpoint/`: the latest state (model, AdamW moments, step, every random generator, history),
///   replaced atomically, from which `resume` continues exactly as if never stopped;
/// - `log.csv` (one row per evaluation) and `loss.svg` (training and validation loss);
/// - `data/`: the tokenized corpus (`train.bin`, `val.bin`, `meta.json`; pretraining only).
public final class LanguageModelTrainer {
    /// One evaluation's numbers (a row of `log.csv`).
    public struct Record: Codable, Sendable, Equatable {
        /// Optimizer steps taken when the evaluation ran.
        public var step: Int
        /// Mean training loss of the last `evalInterval` steps, nats per token.
        public var trainLoss: Double
        /// Mean loss on `evalBatches` fixed validation batches, nats per token.
        public var validationLoss: Double
        /// Learning rate of the step just taken.
        public var learningRate: Double
        /// Training tokens per second since the previous evaluation.
        public var tokensPerSecond: Double
        /// Training time so far in seconds, earlier runs of a resumed training included.
        public var elapsedSeconds: Double
    }

    /// Where training is, for a progress bar.
    public struct Progress: Sendable {
        /// Steps taken so far, and the step training ends at.
        public let step: Int, maxSteps: Int
        /// Training loss of the step just taken (mean over its micro-batches), nats per token.
        public let loss: Double
        /// Training tokens per second since the previous evaluation.
        public let tokensPerSecond: Double
        /// Training time so far in seconds, earlier runs of a resumed training included.
        public let elapsedSeconds: Double
        /// Learning rate of the step just taken.
        public let learningRate: Double
        /// Set right after an evaluation.
        public let evaluation: Record?
    }

    /// What a finished run reports.
    public struct Summary: Codable, Sendable {
        /// Optimizer steps taken in all, before any resume included.
        public var steps: Int
        /// Number of scalars in the model's parameters.
        public var parameters: Int
        /// Number of scalars trained: the model's parameters, or only its adapters'.
        public var trainableParameters: Int
        /// Lowest validation loss of any evaluation (the saved model's), nats per token.
        public var bestValidationLoss: Double
        /// Training loss of the last evaluation (NaN if none ran).
        public var finalTrainLoss: Double
        /// Validation loss of the last evaluation (NaN if none ran).
        public var finalValidationLoss: Double
        /// Training time in seconds up to the last evaluation, earlier runs of a resumed training included.
        public var seconds: Double
        /// Whether early stopping or the time limit ended the run before `maxSteps`.
        public var stoppedEarly: Bool
        /// Why the run ended, as a sentence (max steps, no improvement, time limit, or `stopAfter`).
        public var reason: String
        /// The Hugging Face folder holding the best model (`<output>/model`).
        public var modelFolder: String
        /// Every evaluation, in order (the rows of `log.csv`).
        public var history: [Record]
    }

    struct State: Codable {
        var config: TrainingConfig
        var step: Int
        var dataGenerator: RandomGenerator
        /// Epoch and position of example-based data (nil in checkpoints from before fine-tuning).
        var dataEpoch: Int?, dataPosition: Int?
        var dropoutGenerators: [RandomGenerator]
        var bestValidationLoss: Double
        var evaluationsWithoutImprovement: Int
        var elapsedSeconds: Double
        var history: [Record]
    }

    /// The run's settings (the checkpoint's when resuming).
    public let config: TrainingConfig
    /// Folder the run writes its model, checkpoint, log, plot and tokenized data into.
    public let output: String
    /// Path of the UTF-8 text file trained on.
    public let corpus: String
    /// The model being trained: a GPT-2 or a recurrent network, as `config.architecture` says, or
    /// the pre-trained model being fine-tuned.
    public let model: any TrainableLanguageModel
    /// The LoRA adapters trained on the frozen model (nil: the model's own parameters train).
    public let adapters: LoRAAdapters?
    /// The tokenizer `config.tokenizer` names (or the fine-tuned model's); its files are saved with the model.
    public let tokenizer: Tokenizer
    /// For fine-tuning: how the examples came out (nil when pretraining).
    public let dataSummary: FineTuneDataSummary?
    let data: any TrainingData
    /// The teacher and its loss when the run distills one (nil: plain cross-entropy).
    let distiller: Distiller?
    /// The pruned weights kept at zero (`fineTune.keepSparsity`; nil: none).
    let sparsity: SparsityMask?
    /// How many weights the run keeps at zero (`fineTune.keepSparsity`; nil: none kept).
    public var keptZeros: Int? { sparsity?.zeros }
    let optimizer: Adam
    private var state: State
    private let tokenizerFiles: [(name: String, bytes: [UInt8])]

    /// Sets up a run in `output` on `corpus`; with `resume`, continues the checkpoint there (its
    /// configuration wins over `config`).
    public init(config: TrainingConfig, corpus: String, output: String, resume: Bool = false, assets: AssetStore = AssetStore()) throws {
        let checkpoint = LanguageModelTrainer.checkpointFolder(output)
        var config = config
        var resumed: State? = nil
        if resume {
            guard let folder = checkpoint, let data = FileManager.default.contents(atPath: folder + "/trainer_state.json") else {
                throw TrainingError("\(output): no checkpoint to resume (run without --resume to start)")
            }
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            let state: State
            do { state = try decoder.decode(State.self, from: data) } catch {
                throw TrainingError("\(folder)/trainer_state.json: unreadable (\(error))")
            }
            resumed = state
            config = state.config
        }
        try config.validate()
        self.output = output
        self.corpus = corpus
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)

        // Tokenizer, data and model.
        if let fineTune = config.fineTune {
            let setup = try FineTuneSetup(fineTune, config: config, examples: corpus, assets: assets)
            (tokenizer, tokenizerFiles, data) = (setup.loaded.tokenizer, setup.tokenizerFiles, setup.data)
            (model, adapters, dataSummary) = (setup.model, setup.adapters, setup.summary)
            if let epochs = fineTune.epochs, resumed == nil {
                // Steps from epochs, once the examples are counted; warm-up stays below the total.
                let perStep = Double(config.batchSize * config.gradientAccumulation)
                config.maxSteps = max(1, Int((epochs * Double(setup.summary.trainExamples) / perStep).rounded(.up)))
                config.warmupSteps = min(config.warmupSteps, config.maxSteps - 1)
                config.evalInterval = min(config.evalInterval, config.maxSteps)
            }
        } else {
            let (t, files) = try LanguageModelTrainer.pretrainingTokenizer(
                config, corpus: corpus, checkpoint: resume ? checkpoint : nil, assets: assets)
            (tokenizer, tokenizerFiles) = (t, files)
            data = try TokenData.prepare(
                corpus: corpus, tokenizer: tokenizer, tokenizerName: config.tokenizer,
                folder: output + "/data", validationFraction: config.validationFraction)
            model = try LanguageModelTrainer.makeModel(config, vocabulary: tokenizer.vocabSize)
            (adapters, dataSummary) = (nil, nil)
        }
        sparsity = config.fineTune?.keepSparsity == true ? SparsityMask(model.parameters) : nil
        if let distillation = config.distillation {
            let distiller = try Distiller(distillation, student: model, studentContext: config.context)
            if distillation.initialization == .teacher && resumed == nil { try distiller.initialize(model) }
            self.distiller = distiller
        } else {
            distiller = nil
        }
        self.config = config
        if config.recomputesActivations {
            guard let blocks = model as? any GradientCheckpointing else {
                throw TrainingError(
                    "gradient checkpointing needs a transformer; a \(config.architecture) network has no blocks to recompute")
            }
            blocks.gradientCheckpointing = true
        }

        // Optimizer.
        optimizer = Adam.adamW(
            adapters?.namedParameters() ?? model.namedParameters(), learningRate: config.learningRate, beta1: config.beta1,
            beta2: config.beta2, weightDecay: config.weightDecay)
        if let resumed, let folder = checkpoint {
            if let adapters {
                try adapters.load(try SafetensorsFile(path: folder + "/adapter_model.safetensors").tensors())
            } else {
                try model.load(contentsOf: folder + "/model.safetensors")
            }
            try optimizer.load(state: try SafetensorsFile(path: folder + "/optimizer.safetensors").tensors())
            let drops = LanguageModelTrainer.dropouts(model) + (adapters.map { LanguageModelTrainer.dropouts($0) } ?? [])
            guard drops.count == resumed.dropoutGenerators.count else {
                throw TrainingError("\(folder): dropout state does not fit the model")
            }
            for (d, g) in zip(drops, resumed.dropoutGenerators) { d.generator = g }
            state = resumed
        } else {
            state = State(
                config: config, step: 0, dataGenerator: RandomGenerator(seed: config.seed &+ 1), dropoutGenerators: [],
                bestValidationLoss: .infinity, evaluationsWithoutImprovement: 0, elapsedSeconds: 0, history: [])
        }
    }

    /// The tokenizer `config.tokenizer` names, and its files: a character vocabulary built from the
    /// corpus (or read back from the checkpoint being resumed), the GPT-2 asset, or a path.
    static func pretrainingTokenizer(_ config: TrainingConfig, corpus: String, checkpoint: String?, assets: AssetStore) throws
        -> (Tokenizer, [(String, [UInt8])])
    {
        if let teacher = config.distillation?.teacher {  // the student speaks the teacher's tokens
            return (try Tokenizer(contentsOf: teacher), LanguageModelTrainer.tokenizerFiles(at: teacher))
        }
        if config.tokenizer == "char" {
            if let folder = checkpoint, let json = FileManager.default.contents(atPath: folder + "/tokenizer.json") {
                return (try Tokenizer(jsonData: json), [("tokenizer.json", Array(json))])
            }
            guard let raw = FileManager.default.contents(atPath: corpus), let text = String(validating: raw, as: UTF8.self) else {
                throw TrainingError("\(corpus): cannot read it as UTF-8 text")
            }
            let made = try TokenizerTrainer.characterLevel(text: text)
            return (made.tokenizer, [("tokenizer.json", Array(made.json))])
        }
        var path = config.tokenizer
        if path == "gpt2" {
            _ = try assets.path(.gpt2, "merges.txt")  // a missing asset is an error naming `scripts/fetch-assets`
            path = assets.folder(.gpt2)
        }
        return (try Tokenizer(contentsOf: path), LanguageModelTrainer.tokenizerFiles(at: path))
    }

    /// A fresh model of the configured architecture.
    static func makeModel(_ c: TrainingConfig, vocabulary: Int) throws -> any TrainableLanguageModel {
        if let cell = RecurrentCell(rawValue: c.architecture) {
            return try RecurrentLanguageModel(
                RecurrentLMConfig(
                    cell: cell, vocabSize: vocabulary, embeddingSize: c.width, hiddenSize: c.width,
                    layers: c.layers, dropout: c.dropout, contextLength: c.context,
                    forgetBias: c.forgetBias), seed: c.seed)
        }
        if c.architecture == "llama" {
            var config = LlamaConfig()
            (config.vocabSize, config.width, config.layers, config.heads) = (vocabulary, c.width, c.layers, c.heads)
            (config.kvHeads, config.headSize, config.contextLength) = (c.kvHeads ?? c.heads, c.width / c.heads, c.context)
            // SwiGLU's 8/3 of the width (Llama's ratio), rounded up to whole 256-wide blocks so that
            // GGUF's k-quants fit its down projection's rows.
            config.intermediateSize = (8 * c.width / 3 + 255) / 256 * 256
            return try LlamaForCausalLM(config, seed: c.seed)
        }
        return try GPT2LMHeadModel(
            GPT2Config(
                vocabSize: vocabulary, contextLength: c.context, width: c.width, layers: c.layers,
                heads: c.heads, dropout: c.dropout), seed: c.seed)
    }

    /// The learning rate at `step`: linear warm-up, then cosine decay to the minimum.
    public var schedule: WarmupCosineSchedule {
        WarmupCosineSchedule(
            peak: config.learningRate, floor: config.minLearningRate, warmupSteps: config.warmupSteps, totalSteps: config.maxSteps)
    }

    /// Number of optimizer steps taken so far (continues after a resume).
    public var step: Int { state.step }

    /// Trains until `maxSteps`, early stopping, or the time limit; reports through `progress`.
    /// `stopAfter` ends the run at that step as an interruption would (the checkpoint of the last
    /// evaluation is what a resume continues from).
    public func run(stopAfter: Int? = nil, progress: (Progress) -> Void = { _ in }) throws -> Summary {
        let c = config
        var tokensSinceEvaluation = 0
        let start = Date()
        let elapsedBefore = state.elapsedSeconds
        var recentLosses: [Double] = []
        var lastTime = Date()
        var reason = "reached max steps \(c.maxSteps)"
        var stoppedEarly = false
        setTraining(true)
        let trained = trainedParameters.map(\.parameter)
        var cursor = DataCursor(seed: 0)
        cursor.generator = state.dataGenerator
        (cursor.epoch, cursor.position) = (state.dataEpoch ?? 0, state.dataPosition ?? 0)
        while state.step < c.maxSteps {
            let lr = schedule.learningRate(at: state.step)
            optimizer.learningRate = lr
            for p in trained { p.zeroGradient() }
            var stepLoss = 0.0
            for _ in 0..<c.gradientAccumulation {
                let batch = data.trainingBatch(size: c.batchSize, context: c.context, cursor: &cursor)
                (state.dataGenerator, state.dataEpoch, state.dataPosition) = (cursor.generator, cursor.epoch, cursor.position)
                tokensSinceEvaluation += batch.inputs.count
                var loss =
                    distiller?.loss(student: model, inputs: batch.inputs, targets: batch.targets)
                    ?? model.loss(batch.inputs, targets: batch.targets)  // scalar
                if c.gradientAccumulation > 1 { loss = loss * Tensor(1 / Double(c.gradientAccumulation), dtype: loss.dtype) }
                loss.backward()
                stepLoss += loss.item()
            }
            if c.gradientClip > 0 { _ = clipGradientNorm(trained, maxNorm: c.gradientClip) }
            optimizer.step()
            sparsity?.apply()
            state.step += 1
            recentLosses.append(stepLoss)
            if recentLosses.count > c.evalInterval { recentLosses.removeFirst() }
            let now = Date()
            let elapsed = elapsedBefore + now.timeIntervalSince(start)
            let rate = Double(tokensSinceEvaluation) / max(now.timeIntervalSince(lastTime), 1e-9)
            var record: Record? = nil
            let timeUp = c.maxMinutes > 0 && elapsed >= c.maxMinutes * 60
            if state.step % c.evalInterval == 0 || state.step == c.maxSteps || timeUp {
                let validation = evaluate()
                let r = Record(
                    step: state.step, trainLoss: recentLosses.reduce(0, +) / Double(recentLosses.count),
                    validationLoss: validation, learningRate: lr, tokensPerSecond: rate, elapsedSeconds: elapsed)
                record = r
                state.history.append(r)
                state.elapsedSeconds = elapsed
                if validation < state.bestValidationLoss {
                    state.bestValidationLoss = validation
                    state.evaluationsWithoutImprovement = 0
                    try saveModel(to: output + "/model")
                } else {
                    state.evaluationsWithoutImprovement += 1
                }
                try saveCheckpoint()
                try writeLog()
                lastTime = Date()
                tokensSinceEvaluation = 0
                if c.patience > 0 && state.evaluationsWithoutImprovement >= c.patience {
                    reason =
                        "validation loss did not improve for \(c.patience) evaluations (best \(String(format: "%.4f", state.bestValidationLoss)))"
                    stoppedEarly = true
                }
                if timeUp { reason = "time limit of \(c.maxMinutes) minutes"; stoppedEarly = true }
            }
            progress(
                Progress(
                    step: state.step, maxSteps: c.maxSteps, loss: stepLoss, tokensPerSecond: rate,
                    elapsedSeconds: elapsed, learningRate: lr, evaluation: record))
            if stoppedEarly { break }
            if let stopAfter, state.step >= stopAfter { reason = "stopped at step \(stopAfter)"; break }
        }
        setTraining(false)
        let last = state.history.last
        return Summary(
            steps: state.step, parameters: model.parameterCount, trainableParameters: adapters?.parameterCount ?? model.parameterCount,
            bestValidationLoss: state.bestValidationLoss,
            finalTrainLoss: last?.trainLoss ?? .nan, finalValidationLoss: last?.validationLoss ?? .nan,
            seconds: state.elapsedSeconds, stoppedEarly: stoppedEarly, reason: reason,
            modelFolder: output + "/model", history: state.history)
    }

    /// Mean validation loss per scored token over at most `evalBatches` batches, the same at every
    /// evaluation (drawn with a generator of their own: the training stream is left untouched).
    func evaluate() -> Double {
        setTraining(false)
        defer { setTraining(true) }
        var total = 0.0, scored = 0
        GradMode.withoutGradient {
            for batch in validationBatches where batch.scoredTokens > 0 {
                total += model.loss(batch.inputs, targets: batch.targets).item() * Double(batch.scoredTokens)
                scored += batch.scoredTokens
            }
        }
        return total / Double(max(scored, 1))
    }

    /// The batches every evaluation scores.
    private lazy var validationBatches: [TrainingBatch] = data.validationBatches(
        size: config.batchSize, context: config.context, count: config.evalBatches, seed: config.seed &+ 7919)

    /// The parameters the optimizer updates: the adapters', or the model's.
    public var trainedParameters: [(name: String, parameter: Parameter)] { adapters?.namedParameters() ?? model.namedParameters() }

    /// Training or evaluation mode (dropout on or off) for the model and its adapters.
    func setTraining(_ on: Bool) {
        model.train(on)
        adapters?.train(on)
    }

    /// Every dropout layer of the model and adapters, in a fixed order (their streams are checkpointed).
    var dropouts: [Dropout] { Self.dropouts(model) + (adapters.map { Self.dropouts($0) } ?? []) }

    // MARK: Files

    func saveModel(to folder: String) throws {
        if let adapters { try adapters.save(folder: folder) } else { try model.save(folder: folder) }
        for (name, bytes) in tokenizerFiles { try AtomicFile.write(bytes, to: folder + "/" + name) }
    }

    /// Writes the checkpoint into a new folder, then swaps it in: a crash at any point leaves either
    /// the previous checkpoint or the new one.
    func saveCheckpoint() throws {
        let fresh = output + "/checkpoint.new", current = output + "/checkpoint", old = output + "/checkpoint.old"
        let fm = FileManager.default
        try? fm.removeItem(atPath: fresh)
        try fm.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        if let adapters {
            try SafetensorsFile.write(adapters.stateDict(), metadata: ["format": "pt"], to: fresh + "/adapter_model.safetensors")
        } else {
            try model.save(to: fresh + "/model.safetensors")
        }
        try SafetensorsFile.write(optimizer.stateDict(), metadata: ["format": "lmkit-adamw"], to: fresh + "/optimizer.safetensors")
        for (name, bytes) in tokenizerFiles { try AtomicFile.write(bytes, to: fresh + "/" + name) }
        var s = state
        s.dropoutGenerators = dropouts.map(\.generator)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(Array(try encoder.encode(s)), to: fresh + "/trainer_state.json")
        try? fm.removeItem(atPath: old)
        if fm.fileExists(atPath: current) { try fm.moveItem(atPath: current, toPath: old) }
        try fm.moveItem(atPath: fresh, toPath: current)
        try? fm.removeItem(atPath: old)
    }

    /// The checkpoint to resume from: `checkpoint/`, or `checkpoint.old/` if a crash hit the swap.
    static func checkpointFolder(_ output: String) -> String? {
        for name in ["checkpoint", "checkpoint.old"]
        where FileManager.default.fileExists(atPath: output + "/" + name + "/trainer_state.json") {
            return output + "/" + name
        }
        return nil
    }

    func writeLog() throws {
        var csv = "step,train_loss,val_loss,learning_rate,tokens_per_s,elapsed_s\n"
        for r in state.history {
            csv +=
                "\(r.step),\(r.trainLoss),\(r.validationLoss),\(r.learningRate),\(Int(r.tokensPerSecond)),\(String(format: "%.1f", r.elapsedSeconds))\n"
        }
        try AtomicFile.write(Array(csv.utf8), to: output + "/log.csv")
        let what =
            config.fineTune.map {
                "\($0.method == .full ? "full" : $0.method.rawValue.uppercased()) fine-tuning of \(($0.model as NSString).lastPathComponent)"
            }
            ?? "\(config.architecture.uppercased()) training"
        let plot = LinePlot(
            title: "\(what) on \((corpus as NSString).lastPathComponent)", xLabel: "step",
            yLabel: "loss (nats/token)",
            series: [
                .init(name: "train", points: state.history.map { (Double($0.step), $0.trainLoss) }),
                .init(name: "validation", points: state.history.map { (Double($0.step), $0.validationLoss) }),
            ])
        try AtomicFile.write(Array(plot.svg().utf8), to: output + "/loss.svg")
    }

    static func tokenizerFiles(at path: String) -> [(String, [UInt8])] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        if !isDirectory.boolValue {
            let name = path.hasSuffix(".json") ? "tokenizer.json" : (path as NSString).lastPathComponent
            return FileManager.default.contents(atPath: path).map { [(name, Array($0))] } ?? []
        }
        return ModelLoader.tokenizerFileNames.compactMap { name in
            FileManager.default.contents(atPath: path + "/" + name).map { (name, Array($0)) }
        }
    }

    /// Every dropout layer of a model, in a fixed order (their random streams are checkpointed).
    static func dropouts(_ module: Module) -> [Dropout] {
        var out: [Dropout] = []
        if let d = module as? Dropout { out.append(d) }
        for c in module.children { out += dropouts(c.module) }
        return out
    }
}
