import ArgumentParser
import Foundation
import LMKitAssets
import LMKitChat
import LMKitModels
import LMKitNN
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

                --json prints {"out": String, "layers": Int, "parameters": Int}.
                """)

        @Option(help: "The base model the adapter was trained on: a folder, a GGUF file, or `gemma`.") var model: String
        @Option(help: "The adapter folder.") var adapter: String
        @Option(help: "Folder to write the merged model into.") var out: String
        @Flag(help: "Print JSON.") var json = false

        struct Output: Encodable { let out: String; let layers: Int; let parameters: Int }

        func run() throws {
            let loaded = try ModelLoader.load(model, keepQuantized: false, adapter: adapter, mergeAdapter: false, exportTokenizer: true)
            guard let lora = loaded.adapter, let module = loaded.model as? Module else {
                throw ValidationError("--adapter \(adapter): no adapter was attached")
            }
            let layers = lora.layers.count
            try lora.merge()
            try loaded.model.save(folder: out)
            for (name, bytes) in loaded.tokenizerFiles { try AtomicFile.write(bytes, to: out + "/" + name) }
            if json { try printJSON(Output(out: out, layers: layers, parameters: module.parameterCount)); return }
            print("merged \(layers) adapted layers of \(adapter) into \(model): \(out) (\(module.parameterCount) parameters)")
        }
    }
}
