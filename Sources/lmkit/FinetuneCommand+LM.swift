import ArgumentParser
import Foundation
import LMKitNN
import LMKitTraining

extension FineTuneConfig.Method: EnumerableFlag {}

extension FinetuneCommand {
    /// `lmkit finetune lm`: fine-tune a decoder on examples, whole or through LoRA / QLoRA adapters.
    struct LanguageModel: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lm",
            abstract: "Fine-tune a language model on examples: full, LoRA or QLoRA, with completion-only loss.",
            discussion: """
                DATA holds one example per line (JSONL; also a .json array, or CSV/TSV with those columns):
                  {"messages": [{"role": "system"|"user"|"assistant", "content": …}, …]}  rendered with the model's
                                                   chat template (or --template); the loss is on assistant turns
                  {"prompt": …, "completion": …}   the loss is on the completion and the end-of-text token
                  {"text": …}                      the loss is on all of it
                --train-on-prompt puts the loss on every token. Examples longer than --context tokens are cut;
                batches are right-padded (padding is never scored).

                --model is a model folder (GPT-2, Llama family, Gemma 3, a model `lmkit train gpt` made), a GGUF
                file, or `gemma` (the Gemma 3 270M asset, the default).
                  --lora (default)  LoRA adapters on a frozen float32 base (a GGUF file is expanded to float32)
                  --qlora           LoRA adapters on a base kept in its GGUF blocks: memory ≈ the file's size
                  --full            every weight trains (a GGUF file is expanded to float32)
                Adapters go on --lora-targets: layer names (q_proj,v_proj; GPT-2: c_attn,c_proj,c_fc) or all-linear
                (every linear layer but lm_head), with rank --lora-rank, scaling --lora-alpha / rank (--rslora:
                alpha / √rank) and --lora-dropout on their input.

                --keep-sparsity (with --full) keeps every weight that starts at zero at zero: recovery training of a
                model `lmkit prune` made, its unstructured or 2:4 masks intact after every step.

                --gradient-checkpointing keeps only each layer's input between forward and backward and recomputes
                the rest (on by default with --qlora, whose point is memory; --no-gradient-checkpointing turns it off).

                Training: AdamW (weight decay on matrices), linear warm-up then cosine decay to --min-learning-rate,
                gradient clipping and accumulation, a validation loss every --eval-interval steps on --validation FILE
                or a --validation-fraction of DATA, early stopping after --patience evaluations without improvement.
                --epochs sets the number of steps from the number of examples (or give --max-steps).

                OUT/model/ is the best model: for LoRA/QLoRA a peft adapter folder (adapter_config.json,
                adapter_model.safetensors) for `lmkit generate|chat|serve|eval --model M --adapter OUT/model` and
                peft's PeftModel.from_pretrained; for --full a Hugging Face model folder. OUT/checkpoint/ is the
                latest state (--resume continues it exactly); OUT/log.csv and OUT/loss.svg the loss curves.

                --json prints one JSON object when training ends: {"data": {"trainExamples", "validationExamples",
                "truncated", "dropped", "trainTokens", "trainedTokens"}, "training": {"steps", "parameters",
                "trainableParameters", "bestValidationLoss", "finalTrainLoss", "finalValidationLoss", "seconds",
                "stoppedEarly", "reason", "modelFolder", "history": [{"step", "trainLoss", "validationLoss",
                "learningRate", "tokensPerSecond", "elapsedSeconds"}]}}
                """)

        @Argument(help: "The examples (JSONL, JSON, CSV or TSV).") var data: String
        @Option(help: "The model to fine-tune: a folder, a GGUF file, or `gemma`.") var model = "gemma"
        @Option(help: "Output folder.") var out: String
        @Flag(help: "What trains (default: --lora).") var method: FineTuneConfig.Method = .lora
        @Option(help: "Layers that get adapters: comma-separated names, or all-linear.") var loraTargets = "all-linear"
        @Option(help: "Rank of each adapter.") var loraRank = 16
        @Option(help: "Adapter scale numerator (default: 2 × rank).") var loraAlpha: Double?
        @Option(help: "Dropout on the adapters' input.") var loraDropout = 0.05
        @Flag(help: "Scale adapters by alpha / √rank (rsLoRA).") var rslora = false
        @Flag(help: "Compute the loss on prompts and user turns too.") var trainOnPrompt = false
        @Flag(help: "Keep the model's zero weights at zero (--full on a pruned model: recovery training that keeps its masks).")
        var keepSparsity = false
        @Option(help: "Validation examples (default: a share of DATA).") var validation: String?
        @Option(help: "Share of DATA held out for validation when --validation is not given.") var validationFraction = 0.1
        @Option(help: "Chat template: a built-in family (gemma, llama3, chatml, mistral, plain) or a .jinja file.") var template: String?
        @Option(help: "Longest example in tokens.") var context = 512
        @Option(help: "Passes over the examples (sets the steps).") var epochs: Double = 3
        @Option(help: "Optimizer steps (instead of --epochs).") var maxSteps: Int?
        @Option(help: "Examples per micro-batch.") var batchSize = 4
        @Option var gradientAccumulation = 1
        @Option(help: "Peak learning rate (default: 2e-4 for adapters, 2e-5 for --full).") var learningRate: Double?
        @Option(help: "Learning rate at the end (default: a tenth of the peak).") var minLearningRate: Double?
        @Option var warmupSteps = 10
        @Option var weightDecay = 0.0
        @Option var gradientClip = 1.0
        @Flag(
            inversion: .prefixedNo,
            help:
                "Recompute each layer's activations in backward instead of keeping them: less memory, ~1/3 more compute (default: on for --qlora only)."
        ) var gradientCheckpointing: Bool?
        @Option(help: "Steps between validations (and checkpoints).") var evalInterval = 25
        @Option(help: "Validation batches per evaluation.") var evalBatches = 50
        @Option(help: "Evaluations without improvement before stopping (0: never).") var patience = 0
        @Option(help: "Stop after this many minutes (0: no limit).") var maxMinutes = 0.0
        @Option var seed: UInt64 = 1337
        @Flag(help: "Continue the checkpoint in --out.") var resume = false
        @Flag(help: "Print one JSON object at the end instead of the report.") var json = false

        struct Output: Encodable {
            let data: FineTuneDataSummary?
            let training: LanguageModelTrainer.Summary
        }

        func config() throws -> TrainingConfig {
            var c = TrainingConfig()
            var lora: LoRAConfig? = nil
            if method != .full {
                let names = loraTargets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                var l = LoRAConfig(targets: names == ["all-linear"] ? .allLinear : .names(names))
                (l.rank, l.alpha, l.dropout, l.useRSLoRA) = (loraRank, loraAlpha ?? Double(2 * loraRank), loraDropout, rslora)
                lora = l
            }
            var f = FineTuneConfig(model: model, method: method, lora: lora)
            (f.trainOnPrompt, f.validation, f.template, f.keepSparsity) = (trainOnPrompt, validation, template, keepSparsity)
            f.epochs = maxSteps == nil ? epochs : nil
            c.fineTune = f
            c.context = context
            c.batchSize = batchSize
            c.gradientAccumulation = gradientAccumulation
            c.learningRate = learningRate ?? (method == .full ? 2e-5 : 2e-4)
            c.minLearningRate = minLearningRate ?? c.learningRate / 10
            c.maxSteps = maxSteps ?? max(warmupSteps + 1, 2)  // with --epochs, set once the examples are counted
            c.warmupSteps = min(warmupSteps, c.maxSteps - 1)
            c.weightDecay = weightDecay
            c.gradientClip = gradientClip
            c.gradientCheckpointing = gradientCheckpointing
            c.evalInterval = evalInterval
            c.evalBatches = evalBatches
            c.patience = patience
            c.maxMinutes = maxMinutes
            c.validationFraction = validationFraction
            c.seed = seed
            c.dropout = 0
            do { try c.validate() } catch { throw ValidationError(error.description) }
            return c
        }

        func run() throws {
            guard epochs > 0 else { throw ValidationError("--epochs must be positive") }
            let trainer = try LanguageModelTrainer(config: try config(), corpus: data, output: out, resume: resume)
            let c = trainer.config
            if !json, let f = c.fineTune {
                let adapted = trainer.adapters.map { " on \($0.layers.count) layers (\($0.targetNames.joined(separator: ", ")))" } ?? ""
                let trainable = trainer.adapters?.parameterCount ?? trainer.model.parameterCount
                print(
                    "\(f.method == .full ? "full fine-tuning" : f.method.rawValue.uppercased() + " rank \(f.lora?.rank ?? 0)")\(adapted) of \(f.model): \(trainable) trainable parameters\(trainer.keptZeros.map { ", \($0) zero weights kept at zero" } ?? "")"
                )
                if let d = trainer.dataSummary {
                    print(
                        "\(d.trainExamples) training examples (\(d.trainTokens) tokens, \(d.trainedTokens) trained on), \(d.validationExamples) validation\(d.truncated > 0 ? ", \(d.truncated) cut to \(c.context) tokens" : "")\(d.dropped > 0 ? ", \(d.dropped) dropped (nothing to train on)" : "")"
                    )
                }
                print(
                    "batch \(c.batchSize)×\(c.gradientAccumulation), learning rate \(String(format: "%.3g", c.learningRate)) → \(String(format: "%.3g", c.minLearningRate)), \(c.maxSteps) steps\(c.recomputesActivations ? ", gradient checkpointing" : "")\(resume ? ", resuming at step \(trainer.step)" : "")"
                )
            }
            let summary = try runWithProgress(trainer, quiet: json)
            if json { try printJSON(Output(data: trainer.dataSummary, training: summary)); return }
            print(
                "done: \(summary.reason); best validation loss \(String(format: "%.4f", summary.bestValidationLoss)) after \(Int(summary.seconds)) s"
            )
            let use =
                trainer.adapters != nil
                ? "--model \(c.fineTune?.model ?? model) --adapter \(summary.modelFolder)" : "--model \(summary.modelFolder)"
            print("model: \(summary.modelFolder) (use: lmkit chat \(use))   log: \(out)/log.csv   curve: \(out)/loss.svg")
        }
    }
}
