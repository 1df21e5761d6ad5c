import Foundation
import COpenBLAS
import LMKitModels
import LMKitNN
import LMKitTensor

/// GPT training and generation speed, measured the way `benchmarks/gpt_reference.py` measures
/// PyTorch + transformers on the same configuration and thread count:
/// - a training step (forward, cross-entropy, backward, gradient clipping, AdamW) on random ids;
///   tokens/s from the median step, and FLOP/s by nanoGPT's `estimate_mfu` count
///   (6·N + 12·L·H·Q·T per token), against the machine's sgemm peak measured in the same run;
/// - greedy generation of G tokens after a 16-token prompt, with the KV cache and without.
public struct GPTBenchmark {
    /// One measurement, named as `benchmarks/gpt_reference.py` names its rows.
    public struct Row: Codable, Sendable {
        /// What was measured: `train_tokens_per_s`, `train_flops_per_s`, `sgemm_peak_flops_per_s`,
        /// `generate_tokens_per_s_cache` or `generate_tokens_per_s_nocache`.
        public let name: String
        /// The measurement, in the unit its name says (tokens/s or FLOP/s).
        public let value: Double
        /// Worker threads the run used (``Parallel/threads``).
        public let threads: Int
    }

    /// The model and the batch: 6 layers of width 384 with 6 heads, a 256-token context, batches of 16 sequences,
    /// a 65-symbol vocabulary (nanoGPT's Shakespeare-char configuration).
    public var layers = 6, width = 384, heads = 6, context = 256, batchSize = 16, vocabulary = 65
    /// Timed training steps, untimed warm-up steps before them, and tokens generated per generation run.
    public var steps = 5, warmup = 2, generateTokens = 128

    /// A benchmark at the default configuration; set the properties to change it.
    public init() {}

    /// Trains for `warmup` + `steps` steps, then generates with and without the KV cache (median of 3 runs each),
    /// reporting to `progress` as it goes; returns one row per measurement.
    public func run(progress: (String) -> Void = { _ in }) throws -> [Row] {
        let threads = Parallel.threads
        var rows: [Row] = []
        let config = GPT2Config(vocabSize: vocabulary, contextLength: context, width: width, layers: layers, heads: heads, dropout: 0)
        let model = try GPT2LMHeadModel(config, seed: 1)
        let optimizer = Adam.adamW(model.namedParameters(), learningRate: 1e-3, weightDecay: 0.1)
        var g = RandomGenerator(seed: 2)
        let ids = Tensor(indices: (0..<(batchSize * context)).map { _ in Int(g.next() % UInt64(vocabulary)) }, shape: [batchSize, context])
        let targets = Tensor(
            indices: (0..<(batchSize * context)).map { _ in Int(g.next() % UInt64(vocabulary)) }, shape: [batchSize, context])
        func step() {
            model.zeroGradients()
            model.loss(ids, targets: targets).backward()
            _ = clipGradientNorm(model.parameters, maxNorm: 1)
            optimizer.step()
        }
        for _ in 0..<warmup { step() }
        var times: [Double] = []
        for i in 0..<steps {
            let t0 = Timing.now()
            step()
            times.append(Timing.now() - t0)
            progress("training step \(i + 1)/\(steps): \(String(format: "%.3f", times.last!)) s")
        }
        let median = times.sorted()[times.count / 2]
        let tokens = Double(batchSize * context)
        rows.append(Row(name: "train_tokens_per_s", value: tokens / median, threads: threads))
        let n = Double(model.parameterCount)
        let flopsPerToken = 6 * n + 12 * Double(layers * heads * (width / heads) * context)
        rows.append(Row(name: "train_flops_per_s", value: flopsPerToken * tokens / median, threads: threads))
        rows.append(Row(name: "sgemm_peak_flops_per_s", value: sgemmPeak(), threads: threads))

        // Generation.
        model.eval()
        let prompt = (0..<16).map { _ in Int(g.next() % UInt64(vocabulary)) }
        func generate(cache useCache: Bool) -> Double {
            let t0 = Timing.now()
            let cache = model.makeCache()
            var sequence = prompt
            var input = prompt
            GradMode.withoutGradient {
                for _ in 0..<generateTokens {
                    let feed = useCache ? input : sequence
                    let logits = model(Tensor(indices: feed, shape: [1, feed.count]), cache: useCache ? cache : nil)
                    let last = logits.sliced(axis: 1, range: (feed.count - 1)..<feed.count).contiguous()
                    var best = 0
                    last.withUnsafeScalars(Float.self) { p in
                        for i in 0..<p.count where p[i] > p[best] { best = i }
                    }
                    sequence.append(best)
                    input = [best]
                }
            }
            return Double(generateTokens) / (Timing.now() - t0)
        }
        for (name, cached) in [("generate_tokens_per_s_cache", true), ("generate_tokens_per_s_nocache", false)] {
            let runs = (0..<3).map { _ in generate(cache: cached) }.sorted()
            rows.append(Row(name: name, value: runs[1], threads: threads))
            progress("\(name): \(String(format: "%.1f", runs[1]))")
        }
        return rows
    }

    /// FLOP/s of a 2048³ sgemm on every core (OpenBLAS threading itself).
    func sgemmPeak() -> Double {
        let n = 2048
        var g = RandomGenerator(seed: 3)
        let a = Tensor.randomUniform([n, n], generator: &g), b = Tensor.randomUniform([n, n], generator: &g)
        let c = Tensor.zeros([n, n])
        let engine = EngineBenchmark()
        let time = Timing.median(repeats: 5) {
            engine.directGemm(batch: 1, m: n, k: n, n: n, transposedB: false, a: a, b: b, c: c)
        }
        return 2 * Double(n * n * n) / time
    }
}
