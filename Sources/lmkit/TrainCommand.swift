import ArgumentParser
import Foundation
import LMKitAssets
import LMKitNN
import LMKitTraining

/// `lmkit train`: train models from scratch.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train language models from scratch.",
        subcommands: [GPT.self, Llama.self, RNN.self]
    )

    struct GPT: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pretrain a GPT (GPT-2 architecture) on a text file.",
            discussion: TrainingOptions.discussion
        )

        @OptionGroup var options: TrainingOptions

        func run() throws { try options.train(architecture: "gpt", forgetBias: nil) }
    }

    struct Llama: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pretrain a small Llama (RMSNorm, rotary positions, SwiGLU, grouped-query attention) on a text file.",
            discussion: """
                The model is the Llama architecture of Hugging Face's LlamaForCausalLM: --layers blocks of width
                --width with --heads query heads and --kv-heads key/value heads (default: --heads), a SwiGLU MLP of
                8/3 the width (rounded up to a multiple of 256), rotary positions, no dropout (--dropout is unused),
                an untied output layer. OUT/model/ is a Hugging Face Llama folder: `lmkit generate`, `lmkit quantize`
                (GGUF for llama.cpp and Ollama: train with --tokenizer gpt2, which GGUF can carry) and transformers
                load it. The data, loop, checkpoints and files are those of `lmkit train gpt`.

                """ + TrainingOptions.discussion
        )

        @Option(help: "Key/value heads (grouped-query attention; must divide --heads).") var kvHeads: Int?
        @OptionGroup var options: TrainingOptions

        func run() throws {
            var c = try options.makeConfig(architecture: "llama", forgetBias: nil)
            if let kvHeads { c.kvHeads = kvHeads }
            c.dropout = 0
            try options.train(c)
        }
    }

    struct RNN: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rnn",
            abstract: "Train a recurrent language model (RNN, LSTM or GRU) on a text file.",
            discussion: """
                The model is an embedding, --layers recurrent layers of --width units (dropout between them), and a
                linear head; the data, loop, checkpoints and files are those of `lmkit train gpt`. --heads is unused.

                """ + TrainingOptions.discussion
        )

        @Option(help: "rnn (Elman, tanh), lstm or gru.") var cell: RecurrentCell = .lstm
        @Option(help: "LSTM forget-gate bias at initialization (default: PyTorch's uniform init).") var forgetBias: Double?
        @OptionGroup var options: TrainingOptions

        func run() throws { try options.train(architecture: cell.rawValue, forgetBias: forgetBias) }
    }
}

extension RecurrentCell: ExpressibleByArgument {}

/// The flags `lmkit train gpt` and `lmkit train rnn` share.
struct TrainingOptions: ParsableArguments {
    static let discussion = """
        Tokenizes CORPUS once (character-level by default, or --tokenizer gpt2 / a tokenizer path),
        then trains with AdamW, linear warm-up and cosine decay, gradient clipping and accumulation,
        dropout, and a validation loss every --eval-interval steps. Training stops at --max-steps,
        after --patience evaluations without a better validation loss, or after --max-minutes.

        OUT/model/ is the best model so far (config.json, model.safetensors, tokenizer files; a GPT's
        folder is a Hugging Face GPT-2 folder) for `lmkit generate --model OUT/model`; OUT/checkpoint/
        the latest state, from which --resume continues exactly; OUT/log.csv and OUT/loss.svg the loss
        curves. Hyperparameters come from flags, or from --config FILE (JSON with the flag names in
        snake_case, e.g. {"layers": 6, "learning_rate": 1e-3}); flags given on the command line win.

        --json prints one JSON object when training ends:
          {"steps": Int, "parameters": Int, "bestValidationLoss": Double, "finalTrainLoss": Double,
           "finalValidationLoss": Double, "seconds": Double, "stoppedEarly": Bool, "reason": String,
           "modelFolder": String, "history": [{"step", "trainLoss", "validationLoss", "learningRate",
           "tokensPerSecond", "elapsedSeconds"}]}
        """

    @Argument(help: "Training text (default: the Shakespeare asset).")
    var corpus: String?

    @Option(help: "Output folder.")
    var out: String

    @Option(help: "JSON file of hyperparameters.")
    var config: String?

    @Flag(help: "Continue the checkpoint in --out (its hyperparameters are used).")
    var resume = false

    @Option var layers: Int?
    @Option var width: Int?
    @Option var heads: Int?
    @Option(help: "Context length in tokens.") var context: Int?
    @Option var dropout: Double?
    @Option(help: "char, gpt2, or a tokenizer file/folder.") var tokenizer: String?
    @Option var batchSize: Int?
    @Option var gradientAccumulation: Int?
    @Option var learningRate: Double?
    @Option var minLearningRate: Double?
    @Option var warmupSteps: Int?
    @Option var maxSteps: Int?
    @Option var weightDecay: Double?
    @Option var gradientClip: Double?
    @Flag(inversion: .prefixedNo, help: "Recompute each block's activations in backward instead of keeping them (transformers only).")
    var gradientCheckpointing: Bool?
    @Option var evalInterval: Int?
    @Option var evalBatches: Int?
    @Option(help: "Evaluations without improvement before stopping (0: never).") var patience: Int?
    @Option(help: "Stop after this many minutes (0: no limit).") var maxMinutes: Double?
    @Option var seed: UInt64?

    @Flag(help: "Print one JSON object at the end instead of the report.")
    var json = false

    func train(architecture: String, forgetBias: Double?) throws {
        try train(makeConfig(architecture: architecture, forgetBias: forgetBias))
    }

    /// The run's configuration: --config's file, then the flags given.
    func makeConfig(architecture: String, forgetBias: Double?) throws -> TrainingConfig {
        var c = TrainingConfig()
        if let config {
            guard let data = FileManager.default.contents(atPath: config) else { throw ValidationError("\(config): cannot read the file") }
            do { c = try JSONDecoder().decode(TrainingConfig.self, from: data) } catch {
                throw ValidationError("\(config): not a training config (\(error))")
            }
        }
        c.architecture = architecture
        if let forgetBias { c.forgetBias = forgetBias }
        if let layers { c.layers = layers }; if let width { c.width = width }; if let heads { c.heads = heads }
        if let context { c.context = context }; if let dropout { c.dropout = dropout }; if let tokenizer { c.tokenizer = tokenizer }
        if let batchSize { c.batchSize = batchSize }; if let gradientAccumulation { c.gradientAccumulation = gradientAccumulation }
        if let learningRate { c.learningRate = learningRate }; if let minLearningRate { c.minLearningRate = minLearningRate }
        if let warmupSteps { c.warmupSteps = warmupSteps }; if let maxSteps { c.maxSteps = maxSteps }
        if let weightDecay { c.weightDecay = weightDecay }; if let gradientClip { c.gradientClip = gradientClip }
        if let gradientCheckpointing { c.gradientCheckpointing = gradientCheckpointing }
        if let evalInterval { c.evalInterval = evalInterval }; if let evalBatches { c.evalBatches = evalBatches }
        if let patience { c.patience = patience }; if let maxMinutes { c.maxMinutes = maxMinutes }; if let seed { c.seed = seed }
        return c
    }

    /// Trains with `c` on the corpus into --out, printing the report or JSON.
    func train(_ c: TrainingConfig) throws {
        let architecture = c.architecture
        let path = try corpus ?? AssetStore().path(.shakespeare, "shakespeare.txt")
        let trainer = try LanguageModelTrainer(config: c, corpus: path, output: out, resume: resume)
        if resume && trainer.config.architecture != architecture {
            throw ValidationError("\(out) holds a \(trainer.config.architecture) checkpoint; resume it with the matching command")
        }
        let quiet = json
        if !quiet {
            let t = trainer.config
            let shape =
                switch t.architecture {
                case "gpt": "GPT: \(t.layers) layers, width \(t.width), \(t.heads) heads"
                case "llama": "Llama: \(t.layers) layers, width \(t.width), \(t.heads) heads (\(t.kvHeads ?? t.heads) key/value)"
                default: "\(t.architecture.uppercased()): \(t.layers) layers of \(t.width) units"
                }
            print(
                "\(shape), context \(t.context), \(trainer.model.parameterCount) parameters, vocabulary \(trainer.tokenizer.vocabSize) (\(t.distillation == nil ? t.tokenizer : "the teacher's"))"
            )
            if let d = t.distillation {
                print(
                    "distilling \(d.teacher): temperature \(d.loss.temperature), soft-target weight \(d.loss.alpha)\(d.loss.hiddenWeight > 0 ? ", hidden-state weight \(d.loss.hiddenWeight)" : ""), student started \(d.initialization == .teacher ? "from the teacher's layers" : "from scratch")"
                )
            }
            print(
                "training on \(path): batch \(t.batchSize)×\(t.gradientAccumulation), learning rate \(t.learningRate) → \(t.minLearningRate), \(t.maxSteps) steps\(resume ? ", resuming at step \(trainer.step)" : "")"
            )
        }
        let summary = try runWithProgress(trainer, quiet: quiet)
        if json { try printJSON(summary); return }
        print(
            "done: \(summary.reason); best validation loss \(String(format: "%.4f", summary.bestValidationLoss)) after \(Int(summary.seconds)) s"
        )
        print("model: \(summary.modelFolder)   log: \(out)/log.csv   curve: \(out)/loss.svg")
    }
}

/// Runs `trainer` with a progress line on a terminal (step, loss, tokens/s, ETA) and a line per
/// evaluation unless `quiet`.
func runWithProgress(_ trainer: LanguageModelTrainer, quiet: Bool) throws -> LanguageModelTrainer.Summary {
    let bar = isatty(2) != 0 && !quiet
    let summary = try trainer.run { p in
        if bar {
            let width = 24, filled = min(width, width * p.step / max(p.maxSteps, 1))
            let eta = p.tokensPerSecond > 0 ? Double(p.maxSteps - p.step) * p.elapsedSeconds / Double(max(p.step, 1)) : 0
            writeStandardError(
                "\r  step \(p.step)/\(p.maxSteps) [\(String(repeating: "█", count: filled))\(String(repeating: " ", count: width - filled))] loss \(String(format: "%.3f", p.loss))  \(Int(p.tokensPerSecond)) tok/s  ETA \(Int(eta))s   "
            )
        }
        if let r = p.evaluation, !quiet {
            if bar { writeStandardError("\r\u{1B}[K") }
            print(
                "step \(r.step): train \(String(format: "%.4f", r.trainLoss))  val \(String(format: "%.4f", r.validationLoss))  lr \(String(format: "%.2e", r.learningRate))  \(Int(r.tokensPerSecond)) tok/s  \(Int(r.elapsedSeconds)) s"
            )
        }
    }
    if bar { writeStandardError("\n") }
    return summary
}
