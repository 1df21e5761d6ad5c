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

/// `lmkit quantize`: a model as a GGUF file in a chosen type, for llama.cpp, Ollama and LMKit.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Write a model as a GGUF file (llama.cpp's format) with its weights in a chosen type.",
        discussion: """
            MODEL is a Llama-family or Gemma 3 model folder (Hugging Face, or one LMKit trained, fine-tuned or merged:
            config.json, model.safetensors, tokenizer.json), a GGUF file to re-quantize, or `gemma`.

            --type: f32, f16, bf16 (floats), q8_0 (8 bits + a scale per 32 weights, 8.5 bits per weight), q5_0, q5_1,
            q4_0, q4_1 (5 or 4 bits, with a scale, and for _1 a minimum, per 32 weights). The blocks are ggml's
            reference quantizers' (bit for bit gguf-py's). Norms and other vectors stay f32. The output layer is kept at
            q8_0 below 8 bits (--output-type to choose), the token embedding takes --type (--embedding-type);
            --tensor-type REGEX=TYPE (repeatable, first match wins) sets any tensor by its GGUF name
            (blk\\.[0-9]+\\.ffn_down\\.weight=q8_0). A matrix whose rows do not fill 32-wide blocks is stored as f16.

            The file carries llama.cpp's names and metadata for the architecture (llama, qwen2, gemma3), the tokenizer
            (a folder's tokenizer.json converted to tokenizer.ggml.*, or a GGUF source's copied) and the chat template.
            It is written atomically.

            --json prints {"out": String, "architecture": String, "type": String, "tensorsByType": {String: Int},
            "fallbacks": [String], "parameters": Int, "bytes": Int, "bitsPerWeight": Double, "seconds": Double}.
            """)

    @Argument(help: "A model folder, a GGUF file, or `gemma`.") var model: String
    @Option(help: "Type of the weight matrices.") var type: GGMLType
    @Option(help: "Output file (.gguf).") var out: String
    @Option(help: "Type of the output layer (default: --type, or q8_0 below 8 bits).") var outputType: GGMLType?
    @Option(help: "Type of the token embedding (default: --type).") var embeddingType: GGMLType?
    @Option(help: "REGEX=TYPE for tensors whose GGUF name matches (repeatable).") var tensorType: [String] = []
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        var export = GGUFExport(type: type)
        (export.outputType, export.embeddingType) = (outputType, embeddingType)
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
        if !summary.fallbacks.isEmpty {
            print("stored as F16 (rows do not fill \(type.name) blocks): \(summary.fallbacks.joined(separator: ", "))")
        }
    }
}
