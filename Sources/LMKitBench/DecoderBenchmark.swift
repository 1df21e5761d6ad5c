import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor

/// Decoder speed measured the way llama.cpp's `llama-bench` measures it: prompt processing of a
/// `promptTokens`-token prompt of random tokens in one batch (tokens/s), then generation of
/// `generatedTokens` tokens one at a time from an empty context (tokens/s); medians of `repeats`
/// runs after a warm-up; peak resident memory of the process.
public struct DecoderBenchmark: Sendable {
    /// One decoder measurement; `--json` prints it with these snake_case keys, which `benchmarks/decoders` reads.
    public struct Row: Codable, Sendable {
        /// The GGUF file's `general.architecture` (`gguf` when absent).
        public let name: String
        /// Worker threads the run used (``Parallel/threads``).
        public let threads: Int
        /// Activations of the decoding products (`int8` or `float32`) and the integer kernels' instruction set.
        public let activations: String
        /// The integer kernels' instruction set (``QuantizedMatrix/isaName``: `scalar`, `avx2`, …).
        public let isa: String
        /// OpenBLAS's kernel set (prompt processing multiplies through it).
        public let blas_core: String
        /// Length of the prompt processed in one batch: the BOS token, then random tokens.
        public let prompt_tokens: Int
        /// Prompt processing speed: `prompt_tokens` over the median prefill time (llama-bench's `pp`).
        public let prompt_tokens_per_s: Double
        /// Tokens generated one at a time (greedily, starting from the BOS token in an empty cache).
        public let generated_tokens: Int
        /// Generation speed: `generated_tokens` over the median generation time (llama-bench's `tg`).
        public let generation_tokens_per_s: Double
        /// Bytes of weights read per generated token (every matrix once).
        public let weight_bytes: Int
        /// Peak resident memory of the process (`getrusage`'s `ru_maxrss`, taken as KiB).
        public let peak_rss_bytes: Int
        /// Size of the GGUF file on disk (0 when it cannot be read).
        public let file_bytes: Int
    }

    /// Tokens in the prefill prompt (512 by default, llama-bench's `-p`).
    public let promptTokens: Int
    /// Tokens generated per generation run (128 by default, llama-bench's `-n`).
    public let generatedTokens: Int
    /// Timed runs of each measurement after one warm-up, at least 1; rows report medians (5 by default, llama-bench's `-r`).
    public let repeats: Int
    /// How the quantized products take their activations: `.int8` (llama.cpp's way, the default) or `.float32`.
    public let activations: QuantizedMatrix.Activations

    /// A benchmark with llama-bench's defaults unless told otherwise: 512 prompt tokens, 128 generated, 5 repeats.
    public init(promptTokens: Int = 512, generatedTokens: Int = 128, repeats: Int = 5, activations: QuantizedMatrix.Activations = .int8) {
        self.activations = activations
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
        self.repeats = repeats
    }

    /// Loads the GGUF model at `path` and measures prompt processing, generation and memory on it.
    public func measure(path: String) throws -> Row {
        // The parsed file (metadata with its 262K token strings) goes once the model is loaded; the
        // model keeps only the memory mapping.
        let (model, bos, architecture) = try { () throws -> (any QuantizedDecoder, Int, String) in
            let file = try GGUFFile(path: path)
            return (
                try ModelRegistry.load(gguf: file, activations: activations), file["tokenizer.ggml.bos_token_id"]?.int ?? 1,
                file["general.architecture"]?.string ?? "gguf"
            )
        }()
        var g = RandomGenerator(seed: 1234)
        let prompt = [bos] + (1..<promptTokens).map { _ in Int(g.next() % UInt64(model.vocabSize)) }
        func prefill() -> Double {
            let cache = model.makeDecodingCache()
            let t0 = Timing.now()
            _ = GradMode.withoutGradient { model.lastLogits(Tensor(indices: prompt, shape: [1, prompt.count]), cache: cache) }
            return Timing.now() - t0
        }
        func generate() -> Double {
            let cache = model.makeDecodingCache()
            var token = bos
            let t0 = Timing.now()
            for _ in 0..<generatedTokens {
                let logits = GradMode.withoutGradient { model.lastLogits(Tensor(indices: [token], shape: [1, 1]), cache: cache) }
                token = logits.argmax(axis: 1).indexValues[0]
            }
            return Timing.now() - t0
        }
        _ = prefill(); _ = generate()
        var pp: [Double] = [], tg: [Double] = []
        for _ in 0..<max(1, repeats) { pp.append(prefill()); tg.append(generate()) }
        let ppMedian = pp.sorted()[pp.count / 2], tgMedian = tg.sorted()[tg.count / 2]
        let parameters = (model as? Module)?.parameters.reduce(0) { $0 + 4 * $1.count } ?? 0
        let weightBytes = model.quantized.values.reduce(0) { $0 + $1.rows * $1.rowBytes } + parameters
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return Row(
            name: architecture, threads: Parallel.threads, activations: activations.rawValue, isa: QuantizedMatrix.isaName,
            blas_core: BLAS.coreName, prompt_tokens: promptTokens,
            prompt_tokens_per_s: Double(promptTokens) / ppMedian, generated_tokens: generatedTokens,
            generation_tokens_per_s: Double(generatedTokens) / tgMedian, weight_bytes: weightBytes,
            peak_rss_bytes: Int(usage.ru_maxrss) * 1024, file_bytes: fileBytes)
    }
}
