import ArgumentParser
import Foundation
import LMKitChat
import LMKitNN
import LMKitOptimization
import LMKitTensor

extension SparsityPattern: ExpressibleByArgument {
    /// `0.5`, `50%`, or `2:4`.
    public init?(argument: String) {
        let parts = argument.split(separator: ":")
        if parts.count == 2, let n = Int(parts[0]), let m = Int(parts[1]), n > 0, n < m {
            self = .nOfM(n: n, m: m)
        } else if argument.hasSuffix("%"), let p = Double(argument.dropLast()), p >= 0, p < 100 {
            self = .unstructured(p / 100)
        } else if let s = Double(argument), s >= 0, s < 1 {
            self = .unstructured(s)
        } else {
            return nil
        }
    }
}

extension ModelPruner.Method: ExpressibleByArgument {}

/// `lmkit prune`: zero the least important weights of a model's linear layers.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove the least important weights of a model's linear layers (magnitude or Wanda).",
        discussion: """
            MODEL is a model folder (GPT-2, Llama family, Gemma 3, one LMKit trained), a GGUF file (expanded to
            float32), or `gemma`. Every matrix inside the blocks is pruned; embeddings, norms and the output layer
            stay dense.

            --method magnitude scores each weight by |W| and removes the lowest over the whole matrix. --method wanda
            (Sun et al., 2023) scores |W_ij|·‖X_j‖₂, the weight times the norm of the input it multiplies over the
            calibration text (--text, --chunks of --context tokens), and removes the lowest in each output row;
            it goes block by block, measuring each block's inputs with the blocks before it already pruned.
            No retraining: it needs a few forward passes, and at 50% it keeps far more of the model than magnitude.

            --sparsity: a fraction (0.5, or 50%) removed anywhere, or N:M (2:4: two of every four consecutive
            weights of a row, the pattern sparse tensor cores run).

            The pruned model is written to --out as a model folder (config.json, model.safetensors with the zeros,
            the tokenizer files) that `lmkit eval perplexity`, `generate`, `finetune lm` (recovery training) and
            `quantize` take.

            --json prints {"out": String, "method": String, "pattern": String, "sparsity": Double,
            "modelSparsity": Double, "seconds": Double, "layers": [{"name": String, "weights": Int, "zeros": Int}]}.
            """)

    @Argument(help: "A model folder, a GGUF file, or `gemma`.") var model: String
    @Option(help: "magnitude or wanda.") var method: ModelPruner.Method
    @Option(help: "Fraction removed (0.5, 50%) or N:M (2:4).") var sparsity: SparsityPattern
    @Option(help: "Calibration text (UTF-8), for wanda.") var text: String?
    @Option(help: "Calibration chunks.") var chunks = 8
    @Option(help: "Tokens per calibration chunk.") var context = 256
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable {
        let out: String
        let method: String, pattern: String
        let sparsity: Double, modelSparsity: Double, seconds: Double
        let layers: [ModelPruner.Report.Layer]
    }

    func run() throws {
        var calibration: String? = nil
        if let text {
            guard let data = FileManager.default.contents(atPath: text) else { throw ValidationError("\(text): cannot read the file") }
            guard let s = String(validating: data, as: UTF8.self) else { throw ValidationError("\(text): not valid UTF-8 text") }
            calibration = s
        }
        if method == .wanda && calibration == nil { throw ValidationError("--method wanda needs --text (a calibration text)") }
        if chunks < 1 || context < 2 { throw ValidationError("--chunks must be at least 1 and --context at least 2") }
        let loaded = try ModelLoader.load(model, activations: .float32, keepQuantized: false, exportTokenizer: true)
        var pruner = ModelPruner(method: method, pattern: sparsity)
        (pruner.chunks, pruner.context) = (chunks, context)
        let report = try pruner.prune(loaded.model, tokenizer: loaded.tokenizer, text: calibration) { done, total in
            if !json { FileHandle.standardError.write("\rblock \(done)/\(total)".data(using: .utf8)!) }
        }
        if !json { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        try loaded.model.save(folder: out)
        for (name, bytes) in loaded.tokenizerFiles { try AtomicFile.write(bytes, to: out + "/" + name) }
        if json {
            try printJSON(
                Output(
                    out: out, method: report.method, pattern: report.pattern, sparsity: report.sparsity,
                    modelSparsity: report.modelSparsity,
                    seconds: report.seconds, layers: report.layers))
            return
        }
        print(
            "wrote \(out): \(report.method) \(report.pattern) on \(report.layers.count) matrices, \(String(format: "%.1f", report.sparsity * 100))% of their weights zero (\(String(format: "%.1f", report.modelSparsity * 100))% of the model's), in \(String(format: "%.1f", report.seconds)) s"
        )
    }
}
