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
            weights of a row, the pattern sparse tensor cores run). The zeros stay in the matrices.

            --neurons F and --heads F remove whole MLP neurons and query heads instead (structured pruning; the
            Llama family and Gemma 3): in every layer the fraction F with the lowest scores, a neuron scored by the
            norm of its output weights (times its activation's norm for wanda), a head by the sum over its columns
            of the output projection, the same number in every key/value group. The matrices shrink: the model
            written has a smaller intermediate_size / num_attention_heads, is smaller on disk and faster, and loads
            in transformers and llama.cpp as any model of its family. With --sparsity too, the smaller model is then
            pruned unstructured.

            The pruned model is written to --out as a model folder (config.json, model.safetensors, the tokenizer
            files) that `lmkit eval perplexity`, `generate`, `finetune lm` (recovery training) and `quantize` take.

            --json prints {"out": String, "method": String, "parameters": [Int] (before, after),
            "pattern": String?, "sparsity": Double?, "modelSparsity": Double?,
            "layers": [{"name": String, "weights": Int, "zeros": Int}]?,
            "structured": {"intermediateSize": [Int], "heads": [Int], "parameters": [Int] (before, after),
            "keptNeurons": [[Int]]?, "keptHeads": [[Int]]? (per layer)}?,
            "seconds": Double}.
            """)

    @Argument(help: "A model folder, a GGUF file, or `gemma`.") var model: String
    @Option(help: "magnitude or wanda.") var method: ModelPruner.Method
    @Option(help: "Fraction of weights removed (0.5, 50%) or N:M (2:4).") var sparsity: SparsityPattern?
    @Option(help: "Fraction of each layer's MLP neurons removed (structured).") var neurons: Double?
    @Option(help: "Fraction of each layer's query heads removed (structured).") var heads: Double?
    @Option(help: "Calibration text (UTF-8), for wanda.") var text: String?
    @Option(help: "Calibration chunks.") var chunks = 8
    @Option(help: "Tokens per calibration chunk.") var context = 256
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable {
        let out: String
        let method: String
        let parameters: [Int]
        let pattern: String?, sparsity: Double?, modelSparsity: Double?
        let layers: [ModelPruner.Report.Layer]?
        let structured: StructuredPruner.Report?
        let seconds: Double
    }

    func run() throws {
        let start = Date()
        let calibration = try text.map { try readTextFile($0) }
        if sparsity == nil && neurons == nil && heads == nil { throw ValidationError("give --sparsity, --neurons or --heads") }
        for (flag, f) in [("--neurons", neurons), ("--heads", heads)] {
            if let f, !(f > 0 && f < 1) { throw ValidationError("\(flag) \(f): a fraction above 0 and below 1") }
        }
        if method == .wanda && calibration == nil { throw ValidationError("--method wanda needs --text (a calibration text)") }
        if chunks < 1 || context < 2 { throw ValidationError("--chunks must be at least 1 and --context at least 2") }
        let loaded = try ModelLoader.load(model, activations: .float32, keepQuantized: false, exportTokenizer: true)
        var lm = loaded.model
        let before = (lm as? Module)?.parameterCount ?? 0
        var ids: [[Int]] = []
        if let calibration, method == .wanda {
            ids = try Calibration.chunks(tokenizer: loaded.tokenizer, text: calibration, chunks: chunks, context: context)
        }
        var structured: StructuredPruner.Report? = nil
        if neurons != nil || heads != nil {
            (lm, structured) = try StructuredPruner(method: method, neuronSparsity: neurons ?? 0, headSparsity: heads ?? 0).prune(
                model: lm, calibration: ids)
        }
        var report: ModelPruner.Report? = nil
        if let sparsity {
            report = try ModelPruner(method: method, pattern: sparsity).prune(lm, calibration: ids) { done, total in
                if !json { FileHandle.standardError.write("\rblock \(done)/\(total)".data(using: .utf8)!) }
            }
            if !json { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        }
        try lm.save(folder: out)
        for (name, bytes) in loaded.tokenizerFiles { try AtomicFile.write(bytes, to: out + "/" + name) }
        let after = (lm as? Module)?.parameterCount ?? 0
        let seconds = Date().timeIntervalSince(start)
        if json {
            try printJSON(
                Output(
                    out: out, method: method.rawValue, parameters: [before, after], pattern: report?.pattern, sparsity: report?.sparsity,
                    modelSparsity: report?.modelSparsity, layers: report?.layers, structured: structured, seconds: seconds))
            return
        }
        if let s = structured {
            print(
                "\(method.rawValue): MLP \(s.intermediateSize[0]) → \(s.intermediateSize[1]) neurons, \(s.heads[0]) → \(s.heads[1]) query heads per layer; \(before) → \(after) parameters"
            )
        }
        if let r = report {
            print(
                "\(r.method) \(r.pattern) on \(r.layers.count) matrices: \(String(format: "%.1f", r.sparsity * 100))% of their weights zero (\(String(format: "%.1f", r.modelSparsity * 100))% of the model's)"
            )
        }
        print("wrote \(out) in \(String(format: "%.1f", seconds)) s")
    }
}
