import ArgumentParser
import Foundation
import LMKitAssets
import LMKitChat
import LMKitModels
import LMKitNN
import LMKitOptimization
import LMKitTensor

/// `lmkit lora`: LoRA adapters as files.
struct LoRACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora",
        abstract: "Work with LoRA adapters (peft's adapter_config.json + adapter_model.safetensors).",
        subcommands: [Merge.self]
    )

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge a LoRA adapter into its base model and save the result as a Hugging Face folder.",
            discussion: """
                Each adapted weight becomes W + scaling · B·A, so the merged model computes what the base with the
                adapter computed, at the base's cost, and loads anywhere a model folder loads (transformers, vLLM,
                llama.cpp's convert script). --model is a model folder, whose tokenizer and chat template files are
                copied, or a GGUF file (or `gemma`), expanded to float32, whose tokenizer is written as tokenizer.json
                and tokenizer_config.json (with its chat template) for transformers and LMKit.

                --out FILE.gguf writes a GGUF file instead (llama.cpp, Ollama), in --type (default f16; see `lmkit
                quantize --help` for the types), with the base's tokenizer and chat template.

                --json prints {"out": String, "layers": Int, "parameters": Int}.
                """)

        @Option(help: "The base model the adapter was trained on: a folder, a GGUF file, or `gemma`.") var model: String
        @Option(help: "The adapter folder.") var adapter: String
        @Option(help: "Folder to write the merged model into, or a .gguf file.") var out: String
        @Option(help: "Quantization type of a .gguf output (as lmkit quantize --type).") var type: QuantizationPreset = .init(name: "f16")!
        @Flag(help: "Print JSON.") var json = false

        struct Output: Encodable { let out: String; let layers: Int; let parameters: Int }

        func run() throws {
            let loaded = try ModelLoader.load(
                model, keepQuantized: false, adapter: adapter, mergeAdapter: false, exportTokenizer: !out.lowercased().hasSuffix(".gguf"))
            guard let lora = loaded.adapter, let module = loaded.model as? Module else {
                throw ValidationError("--adapter \(adapter): no adapter was attached")
            }
            let layers = lora.layers.count
            try lora.merge()
            if out.lowercased().hasSuffix(".gguf") {
                let summary = try GGUFExport(preset: type).write(loaded, source: model, to: out)
                if json { try printJSON(Output(out: out, layers: layers, parameters: module.parameterCount)); return }
                print(
                    "merged \(layers) adapted layers of \(adapter) into \(model): \(out) (\(summary.type), \(summary.bytes / 1_000_000) MB)"
                )
                return
            }
            try loaded.model.save(folder: out)
            for (name, bytes) in loaded.tokenizerFiles { try AtomicFile.write(bytes, to: out + "/" + name) }
            if json { try printJSON(Output(out: out, layers: layers, parameters: module.parameterCount)); return }
            print("merged \(layers) adapted layers of \(adapter) into \(model): \(out) (\(module.parameterCount) parameters)")
        }
    }
}
