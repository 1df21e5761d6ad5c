import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor

/// LoRA and QLoRA training speed and memory on a GGUF decoder, measured the way
/// `benchmarks/finetune_reference.py` measures PyTorch + transformers + peft on the same model,
/// adapters, batch and thread count: a training step (forward, cross-entropy on every position,
/// backward to the adapters, gradient clipping, AdamW on the adapters) on random ids `[batch, length]`;
/// tokens/s of the median step; the process's peak resident memory.
public struct FineTuneBenchmark {
    /// One measurement, named as the reference script names its rows.
    public struct Row: Codable, Sendable {
        /// `train_tokens_per_s`, `peak_rss_bytes`, `trainable_parameters`, or `load_seconds`.
        public let name: String
        /// The measurement, in the unit its name says.
        public let value: Double
        /// Worker threads the run used.
        public let threads: Int
    }

    /// The GGUF file of the base model.
    public var model: String
    /// LoRA on a float32 copy of the base (`false`) or QLoRA on its quantized blocks (`true`).
    public var quantizedBase = false
    /// Recompute each layer's activations in backward (nil: as `lmkit finetune lm` does, on for QLoRA only).
    public var gradientCheckpointing: Bool?
    /// Adapter rank, alpha (scaling alpha / rank) and target layer names (empty: all linear layers but lm_head).
    public var rank = 16, alpha = 32.0, targets: [String] = []
    /// Sequences per step, tokens per sequence, timed steps, untimed warm-up steps.
    public var batchSize = 4, length = 256, steps = 5, warmup = 1

    /// A benchmark of `model` with the defaults above.
    public init(model: String) { self.model = model }

    /// Loads the model, attaches the adapters, trains `warmup` + `steps` steps; returns the rows.
    public func run(progress: (String) -> Void = { _ in }) throws -> [Row] {
        let threads = Parallel.threads
        let t0 = Timing.now()
        let file = try GGUFFile(path: model)
        let decoder = try ModelRegistry.load(gguf: file, activations: .float32, keepQuantized: quantizedBase)
        guard let module = decoder as? Module else { throw ModelError("\(model): not a trainable model") }
        (decoder as? any GradientCheckpointing)?.gradientCheckpointing = gradientCheckpointing ?? quantizedBase
        var config = LoRAConfig(targets: targets.isEmpty ? .allLinear : .names(targets))
        (config.rank, config.alpha, config.dropout) = (rank, alpha, 0)
        let lora = try LoRAAdapters(attachingTo: module, config: config, seed: 1)
        let loadSeconds = Timing.now() - t0
        progress(
            "loaded in \(String(format: "%.1f", loadSeconds)) s; \(lora.layers.count) adapters, \(lora.parameterCount) trainable parameters"
        )
        let optimizer = Adam.adamW(lora.namedParameters(), learningRate: 1e-4, weightDecay: 0)
        module.train(); lora.train()
        var g = RandomGenerator(seed: 2)
        let vocabulary = UInt64(decoder.vocabSize)
        let ids = Tensor(indices: (0..<(batchSize * length)).map { _ in Int(g.next() % vocabulary) }, shape: [batchSize, length])
        let targets = Tensor(indices: (0..<(batchSize * length)).map { _ in Int(g.next() % vocabulary) }, shape: [batchSize, length])
        let parameters = lora.parameters
        func step() {
            lora.zeroGradients()
            decoder.loss(ids, targets: targets).backward()
            _ = clipGradientNorm(parameters, maxNorm: 1)
            optimizer.step()
        }
        for _ in 0..<warmup { step() }
        var times: [Double] = []
        for i in 0..<steps {
            let start = Timing.now()
            step()
            times.append(Timing.now() - start)
            progress("step \(i + 1)/\(steps): \(String(format: "%.2f", times.last!)) s")
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let median = times.sorted()[times.count / 2]
        return [
            Row(name: "train_tokens_per_s", value: Double(batchSize * length) / median, threads: threads),
            Row(name: "peak_rss_bytes", value: Double(usage.ru_maxrss) * 1024, threads: threads),
            Row(name: "trainable_parameters", value: Double(lora.parameterCount), threads: threads),
            Row(name: "load_seconds", value: loadSeconds, threads: threads),
        ]
    }
}
