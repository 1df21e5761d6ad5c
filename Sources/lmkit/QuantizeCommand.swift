import ArgumentParser
import Foundation
import LMKitOptimization
import LMKitTensor

extension GGMLType: ExpressibleByArgument {
    public init?(argument: String) {
        guard let t = GGMLQuantizer.writable.first(where: { $0.name.lowercased() == argument.lowercased() }) else { return nil }
        self = t
    }
    public static var allValueStrings: [String] { GGMLQuantizer.writable.map { $0.name.lowercased() } }
}

extension QuantizationPreset: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { names }
}

/// `lmkit quantize`: a model as a GGUF file in a chosen type, for llama.cpp, Ollama and LMKit.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Write a model as a GGUF file (llama.cpp's format) with its weights in a chosen type.",
        discussion: """
            MODEL is a GPT-2, Llama-family or Gemma 3 model folder (Hugging Face, or one LMKit trained, fine-tuned or
            merged: config.json, model.safetensors, tokenizer.json or GPT-2's vocab.json + merges.txt), a GGUF file to
            re-quantize, or `gemma`.

            --type, as llama-quantize names them: f32, f16, bf16 (floats); q8_0 (8 bits + a scale per 32 weights,
            8.5 bits per weight); q5_0, q5_1, q4_0, q4_1 (5 or 4 bits with a scale, and for _1 a minimum, per 32
            weights); the k-quants q6_k (6.56 bits), q5_k_m, q5_k_s (5.5), q4_k_m, q4_k_s (4.5; q4_k and q5_k mean the
            _m mixes): super-blocks of 256 weights whose 8 or 16 sub-block scales are themselves quantized. The mixes
            are llama.cpp's: the output layer at q6_k (q8_0 when its rows do not fill 256-weight blocks), and for _m
            attn_v and ffn_down at q6_k in the first and last eighth of the layers and every third between (_s: q5_k
            in the first layers). --pure puts every matrix in the main type. The blocks are ggml's reference
            quantizers', bit for bit llama.cpp's.

            --imatrix FILE (from `lmkit imatrix` or llama-imatrix) weighs each weight's error by the mean square of
            the input it multiplies over a calibration text, as llama-quantize --imatrix does: the k-quants and the
            4/5-bit types then search their scales for the least weighted error.

            Norms and other vectors stay f32. --output-type and --embedding-type set those two tensors;
            --tensor-type REGEX=TYPE (repeatable, first match wins) sets any tensor by its GGUF name
            (blk\\.[0-9]+\\.ffn_down\\.weight=q8_0). A matrix whose rows do not fill its type's blocks falls back
            as in llama.cpp (q4_k → q5_0, q5_k → q5_1, q6_k → q8_0, then f16).

            The file carries llama.cpp's names and metadata for the architecture (gpt2, llama, qwen2, gemma3), the
            tokenizer (a folder's tokenizer files converted to tokenizer.ggml.*, or a GGUF source's copied) and the chat template.
            It is written atomically.

            --json prints {"out": String, "architecture": String, "type": String, "tensorsByType": {String: Int},
            "fallbacks": [String], "weightedByImportance": Int, "parameters": Int, "bytes": Int, "bitsPerWeight": Double, "seconds": Double}.
            """)

    @Argument(help: "A model folder, a GGUF file, or `gemma`.") var model: String
    @Option(help: "Quantization type: \(QuantizationPreset.names.joined(separator: ", ")).") var type: QuantizationPreset
    @Option(help: "Output file (.gguf).") var out: String
    @Flag(help: "Every matrix in the main type: no mix.") var pure = false
    @Option(help: "An importance matrix (GGUF from lmkit imatrix or llama-imatrix, or a legacy .dat).") var imatrix: String?
    @Option(help: "Type of the output layer (default: q6_k below 8 bits, or q8_0).") var outputType: GGMLType?
    @Option(help: "Type of the token embedding (default: the main type).") var embeddingType: GGMLType?
    @Option(help: "REGEX=TYPE for tensors whose GGUF name matches (repeatable).") var tensorType: [String] = []
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        var export = GGUFExport(preset: type)
        (export.pure, export.outputType, export.embeddingType) = (pure, outputType, embeddingType)
        export.importance = try imatrix.map { try ImportanceMatrix(path: $0) }
        for rule in tensorType {
            guard let eq = rule.lastIndex(of: "="), let t = GGMLType(argument: String(rule[rule.index(after: eq)...])) else {
                throw ValidationError(
                    "--tensor-type \(rule): expected REGEX=TYPE with TYPE one of \(GGMLType.allValueStrings.joined(separator: ", "))")
            }
            let pattern = String(rule[..<eq])
            guard (try? NSRegularExpression(pattern: pattern)) != nil else {
                throw ValidationError("--tensor-type \(rule): \(pattern) is not a regular expression")
            }
            export.overrides.append((pattern, t))
        }
        let summary = try export.write(model: model, to: out)
        if json { try printJSON(summary); return }
        let types = summary.tensorsByType.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        print(
            "wrote \(out): \(summary.architecture), \(summary.parameters) weights in \(String(format: "%.1f", Double(summary.bytes) / 1e6)) MB (\(String(format: "%.2f", summary.bitsPerWeight)) bits per weight; tensors \(types)) in \(String(format: "%.1f", summary.seconds)) s"
        )
        if export.importance != nil { print("\(summary.weightedByImportance) matrices quantized under the importance matrix \(imatrix!)") }
        if !summary.fallbacks.isEmpty {
            let shown = summary.fallbacks.prefix(4).joined(separator: ", ") + (summary.fallbacks.count > 4 ? ", … (--json lists all)" : "")
            print("\(summary.fallbacks.count) matrices in a fallback type (their rows do not fill the chosen type's blocks): \(shown)")
        }
    }
}
