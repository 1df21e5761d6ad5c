import ArgumentParser
import LMKitBench
import LMKitEncoders
import LMKitOptimization
import LMKitTour
import LMKitAssets
import LMKitTensor
import LMKitTokenizers
import Foundation

/// `lmkit bench`: measured speed of LMKit against references, on this machine.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark LMKit against reference implementations on this machine.",
        subcommands: [Engine.self, Tokenizers.self, GPT.self, Encoders.self, Decoders.self, FineTune.self]
    )

    struct Engine: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tensor engine: matmul vs direct cblas_sgemm; element-wise kernels vs memory copy.",
            discussion: """
                Matrix products at transformer shapes are timed through the engine and through cblas_sgemm
                called directly on the same buffers (target: engine ≥ 90% of direct). Element-wise kernels
                over 10M floats are reported in GB/s against a memory copy measured in the same run (target:
                ≥ 50% of copy bandwidth). Medians of --repeats runs. Threads: LMKIT_THREADS (default: all cores).

                --json prints one JSON object per line, one per measurement:
                  {"name": String, "unit": "GFLOP/s" | "GB/s", "lmkit": Double, "reference": Double,
                   "ratio": Double (lmkit / reference), "note": String}
                """
        )

        @Option(help: "Timed runs per measurement (the median is reported).")
        var repeats = 7

        @Flag(help: "Small shapes, for a smoke test.")
        var quick = false

        @Flag(help: "Print one JSON line per measurement instead of the table.")
        var json = false

        func validate() throws {
            guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        }

        func run() throws {
            let bench = EngineBenchmark(repeats: repeats, elements: quick ? 1_000_000 : 10_000_000, quick: quick)
            let quiet = json
            let (rows, peak, threads) = bench.run { if !quiet { print("  " + $0) } }
            if json {
                for r in rows { try printJSON(r) }
                return
            }
            print("\nEngine benchmark, \(threads) threads, median of \(repeats); sgemm peak \(Int(peak.rounded())) GFLOP/s")
            print(table(rows))
        }
    }
}

extension BenchCommand {
    struct Tokenizers: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tokenizer throughput (MB/s): GPT-2 BPE and BERT WordPiece on a text file.",
            discussion: """
                One thread encodes the whole file as one string; more threads encode it cut into 64 chunks at
                line boundaries as a batch (thread count: LMKIT_THREADS). `benchmarks/tokenizers` runs this
                beside tiktoken and Hugging Face tokenizers on the same file and thread count.

                --json prints one JSON object per line:
                  {"name": "gpt2" | "gpt2_tiktoken_file" | "bert", "threads": Int, "mb_per_s": Double,
                   "seconds": Double, "tokens": Int, "bytes": Int}
                """
        )

        @Option(help: "Text file (default: the Shakespeare asset).")
        var text: String?

        @Option(help: "1 (whole text, one thread) or the batch on LMKIT_THREADS workers (any value > 1).")
        var threads = 1

        @Option(help: "Timed runs per measurement (the median is reported).")
        var repeats = 5

        @Option(help: "Write the ids of each tokenizer to DIR/NAME.ids, one per line, for parity checks.")
        var dumpIds: String?

        @Flag(help: "One JSON object per line instead of the table.")
        var json = false

        func run() throws {
            let path = try text ?? AssetStore().path(.shakespeare, "shakespeare.txt")
            guard let data = FileManager.default.contents(atPath: path), let content = String(validating: data, as: UTF8.self) else {
                throw ValidationError("\(path): cannot read it as UTF-8 text")
            }
            let bench = TokenizerBenchmark(text: content, repeats: repeats)
            let store = AssetStore()
            let tiktoken = try Tokenizer.tiktoken(ranks: try store.path(.gpt2, "gpt2.tiktoken"))
            var rows: [TokenizerBenchmark.Row] = []
            for (name, tok) in [
                ("gpt2", try TokenizerChoice.load("gpt2")), ("gpt2_tiktoken_file", tiktoken), ("bert", try TokenizerChoice.load("bert")),
            ] {
                let (row, ids) = try bench.measure(name, tok, threads: threads)
                rows.append(row)
                if json {
                    try printJSON(row)
                } else {
                    print(
                        "  \(name.padding(20)) \(threads) thread\(threads == 1 ? " " : "s") \(Format.fixed(row.mb_per_s, 2)) MB/s  (\(row.tokens) tokens, median \(Format.fixed(row.seconds, 3)) s)"
                    )
                }
                if let dir = dumpIds {
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    try AtomicFile.write(Array(ids.map { "\($0)\n" }.joined().utf8), to: dir + "/\(name).ids")
                }
            }
        }
    }
}

extension BenchCommand {
    struct GPT: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "GPT training step and generation speed (benchmarks/gpt runs it beside PyTorch).",
            discussion: """
                A training step (forward, cross-entropy, backward, clipping, AdamW) on random ids: tokens/s of the
                median step and FLOP/s by nanoGPT's count (6·N + 12·L·H·Q·T per token), with the machine's sgemm
                peak measured in the same run; then greedy generation with and without the KV cache.
                Threads: LMKIT_THREADS (default: all cores).

                --json prints one JSON object per line:
                  {"name": "train_tokens_per_s" | "train_flops_per_s" | "sgemm_peak_flops_per_s" |
                           "generate_tokens_per_s_cache" | "generate_tokens_per_s_nocache",
                   "value": Double, "threads": Int}
                """
        )

        @Option var layers = 6
        @Option var width = 384
        @Option var heads = 6
        @Option var context = 256
        @Option var batchSize = 16
        @Option var vocab = 65
        @Option(help: "Timed training steps (the median is reported).") var steps = 5
        @Option(help: "Untimed training steps first.") var warmup = 2
        @Option(help: "Tokens generated per timing.") var generateTokens = 128
        @Flag(help: "One JSON object per line.") var json = false

        func run() throws {
            var bench = GPTBenchmark()
            bench.layers = layers; bench.width = width; bench.heads = heads; bench.context = context
            bench.batchSize = batchSize; bench.vocabulary = vocab; bench.steps = steps; bench.warmup = warmup
            bench.generateTokens = generateTokens
            let quiet = json
            let rows = try bench.run { if !quiet { print("  " + $0) } }
            if json { for r in rows { try printJSON(r) }; return }
            for r in rows { print("\(r.name.padding(32)) \(Format.fixed(r.value, 1))") }
        }
    }
}

/// A fixed-width table of benchmark rows.
func table(_ rows: [BenchmarkRow]) -> String {
    let header = ["measurement", "unit", "lmkit", "reference", "ratio"]
    let body = rows.map { [$0.name, $0.unit, Format.fixed($0.lmkit, 1), Format.fixed($0.reference, 1), Format.fixed($0.ratio, 2)] }
    let widths = (0..<header.count).map { i in ([header] + body).map { $0[i].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in i == 0 ? c.padding(widths[i]) : String(repeating: " ", count: widths[i] - c.count) + c }
            .joined(separator: "  ")
    }
    return ([line(header), String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))] + body.map(line))
        .joined(separator: "\n")
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: Swift.max(0, width - count)) }
}

extension BenchCommand {
    struct Encoders: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sentence-embedding throughput (sentences/s) of a sentence encoder (all-MiniLM-L6-v2 by default).",
            discussion: """
                Encodes the texts of --texts (one per line) in batches of --batch-size, truncated at
                --max-length tokens, on LMKIT_THREADS workers; reports the median of --repeats runs after a
                warm-up. `benchmarks/encoders` runs this beside sentence-transformers on the same texts and
                thread count.

                --json prints {"name": String, "threads": Int, "sentences_per_s": Double, "seconds": Double,
                "sentences": Int, "tokens": Int, "batch_size": Int, "max_length": Int, "bytes": Int}; name is
                "sentence_embeddings", or "sentence_embeddings_int8_<scheme>" with --int8 (every linear
                layer quantized dynamically); bytes is the parameters' size as saved (float32, or int8
                weights and their scales).
                """
        )

        @Option(help: "A sentence-transformers folder, or `minilm` (default).") var model: String?
        @Option(help: "UTF-8 file of texts, one per line.") var texts: String
        @Option(help: "Texts per batch.") var batchSize = 32
        @Option(help: "Tokens per text (longer texts are truncated).") var maxLength = 128
        @Option(help: "Timed runs (the median is reported).") var repeats = 5
        @Option(help: "Write the embeddings here as raw little-endian float32, row after row (for parity checks).") var dump: String?
        @OptionGroup var quantization: Int8Options
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            guard batchSize > 0, maxLength > 1, repeats > 0 else {
                throw ValidationError("--batch-size, --max-length and --repeats must be positive")
            }
            let lines = try TextInputs.lines(of: texts)
            let encoder = try SentenceEncoder(folder: try EncoderFolder.resolve(model), maxLength: maxLength)
            let floatBytes = encoder.encoder.parameters.reduce(0) { $0 + 4 * $1.count }
            let summary = quantization.apply(to: encoder.encoder)
            var (row, vectors) = try EncoderBenchmark(texts: lines, batchSize: batchSize, repeats: repeats).measure(
                quantization.int8 ? "sentence_embeddings_int8_\(quantization.int8Scheme)" : "sentence_embeddings", encoder)
            row.bytes = summary?.quantizedBytes ?? floatBytes
            if let dump {
                var bytes: [UInt8] = []
                bytes.reserveCapacity(vectors.count * encoder.dimension * 4)
                for v in vectors { for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes += $0 } } }
                try AtomicFile.write(bytes, to: dump)
            }
            if json { return try printJSON(row) }
            print(
                "\(row.sentences) texts (\(row.tokens) tokens), batch \(row.batch_size), max length \(row.max_length), \(row.threads) thread\(row.threads == 1 ? "" : "s"): \(Format.fixed(row.sentences_per_s, 1)) sentences/s (median \(Format.fixed(row.seconds, 3)) s)"
            )
        }
    }
}

extension BenchCommand {
    struct Decoders: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decoder speed as llama-bench measures it: prompt processing and generation tokens/s, peak memory.",
            discussion: """
                Loads a GGUF decoder (gemma3, llama, qwen2; the Gemma 3 asset by default), weights kept quantized, then times
                a --prompt-tokens prompt of random tokens processed in one batch and --generate tokens produced
                one at a time from an empty context (threads: LMKIT_THREADS). Medians of --repeats runs after a
                warm-up. `benchmarks/decoders` runs this beside llama.cpp's llama-bench on the same file.

                --activations int8 (default) multiplies decoding activations in 8-bit integers, as llama.cpp.

                --json prints {"name", "threads", "activations", "isa", "blas_core", "prompt_tokens", "prompt_tokens_per_s",
                "generated_tokens", "generation_tokens_per_s", "weight_bytes", "peak_rss_bytes", "file_bytes"}.
                """
        )

        @Option(help: "GGUF model file (default: the Gemma 3 270M asset).") var model: String?
        @Option(help: "Prompt length.") var promptTokens = 512
        @Option(name: .customLong("generate"), help: "Tokens to generate.") var generatedTokens = 128
        @Option(help: "Timed runs (the median is reported).") var repeats = 5
        @Option(help: "Activations in decoding products: int8 or float32.") var activations: QuantizedMatrix.Activations = .int8
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            guard promptTokens > 0, generatedTokens > 0, repeats > 0 else {
                throw ValidationError("--prompt-tokens, --generate and --repeats must be positive")
            }
            let path = try model ?? AssetStore().path(.gemma)
            let row = try DecoderBenchmark(
                promptTokens: promptTokens, generatedTokens: generatedTokens, repeats: repeats, activations: activations
            ).measure(path: path)
            if json { return try printJSON(row) }
            print("prompt processing (\(row.prompt_tokens) tokens): \(Format.fixed(row.prompt_tokens_per_s, 1)) tokens/s")
            print("generation (\(row.generated_tokens) tokens):        \(Format.fixed(row.generation_tokens_per_s, 1)) tokens/s")
            print(
                "weights read per token: \(Format.fixed(Double(row.weight_bytes) / 1_048_576, 1)) MiB; peak RSS \(Format.fixed(Double(row.peak_rss_bytes) / 1_048_576, 1)) MiB (file \(Format.fixed(Double(row.file_bytes) / 1_048_576, 1)) MiB); \(row.threads) threads, \(row.activations) activations (\(row.isa)), OpenBLAS \(row.blas_core) kernels"
            )
        }
    }
}

extension BenchCommand {
    struct FineTune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "finetune",
            abstract: "LoRA / QLoRA training speed and memory on a GGUF decoder (benchmarks/finetune runs it beside PyTorch + peft).",
            discussion: """
                Loads --model (a GGUF file, or `gemma`), expanded to float32 for LoRA or kept in its blocks for --qlora,
                puts rank --rank adapters (alpha --alpha, no dropout) on --targets (default: every linear layer but
                lm_head), and times training steps on random ids [--batch-size, --length]: forward, cross-entropy on
                every position, backward, clipping at 1, AdamW on the adapters. Threads: LMKIT_THREADS.
                --gradient-checkpointing recomputes each layer's activations in backward (default: on with --qlora, as
                `lmkit finetune lm` does).

                --json prints one JSON object per line:
                  {"name": "train_tokens_per_s" | "peak_rss_bytes" | "trainable_parameters" | "load_seconds",
                   "value": Double, "threads": Int}
                """
        )

        @Option(help: "A GGUF file, or `gemma`.") var model = "gemma"
        @Flag(help: "Keep the base quantized (QLoRA).") var qlora = false
        @Flag(inversion: .prefixedNo, help: "Recompute activations in backward (default: on with --qlora).")
        var gradientCheckpointing: Bool?
        @Option var rank = 16
        @Option var alpha = 32.0
        @Option(help: "Comma-separated layer names (default: all linear layers but lm_head).") var targets: String?
        @Option var batchSize = 4
        @Option var length = 256
        @Option(help: "Timed steps (the median is reported).") var steps = 5
        @Option(help: "Untimed steps first.") var warmup = 1
        @Flag(help: "One JSON object per line.") var json = false

        func run() throws {
            var bench = FineTuneBenchmark(model: model == "gemma" ? try AssetStore().path(.gemma) : model)
            bench.quantizedBase = qlora
            bench.gradientCheckpointing = gradientCheckpointing
            (bench.rank, bench.alpha, bench.batchSize, bench.length, bench.steps, bench.warmup) = (
                rank, alpha, batchSize, length, steps, warmup
            )
            bench.targets = targets.map { $0.split(separator: ",").map(String.init) } ?? []
            let quiet = json
            let rows = try bench.run { if !quiet { print("  " + $0) } }
            if json { for r in rows { try printJSON(r) }; return }
            for r in rows { print("\(r.name.padding(24)) \(Format.fixed(r.value, 1))") }
        }
    }
}
