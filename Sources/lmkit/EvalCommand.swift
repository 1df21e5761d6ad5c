import ArgumentParser
import Foundation
import LMKitChat
import LMKitGeneration
import LMKitTensor

/// `lmkit eval`: measure models.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate models.",
        subcommands: [PerplexityCommand.self]
    )

    struct PerplexityCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "perplexity",
            abstract: "Perplexity of a language model on a text file.",
            discussion: """
                Every token is scored given the tokens before it, in windows of the model's context (at most
                2,048 tokens unless --context says otherwise) that overlap by half (each token is scored once,
                with at least half a window before it). Models with a large vocabulary (Gemma 3, Llama) run
                their output layer 32 positions at a time, so memory stays bounded.

                --json prints one JSON object:
                  {"tokens": Int, "nllPerToken": Double, "perplexity": Double, "nllPerCharacter": Double, "seconds": Double}
                """
        )

        @Option(help: "Model folder.") var model: String
        @Argument(help: "UTF-8 text file.") var file: String
        @Option(help: "Window length (default: the model's context, at most 2048).") var context: Int?
        @Option(help: "A LoRA adapter folder (adapter_config.json + adapter_model.safetensors, as peft saves) to put on the model.")
        var adapter: String?
        @Option(help: "Activations in products with quantized (GGUF) weights: int8 or float32.")
        var activations: QuantizedMatrix.Activations = .int8
        @Flag(help: "One JSON object instead of the report.") var json = false

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("\(file): cannot read the file") }
            guard let text = String(validating: data, as: UTF8.self) else { throw ValidationError("\(file): not valid UTF-8 text") }
            if let context, context < 2 { throw ValidationError("--context must be at least 2") }
            let loaded = try ModelLoader.load(model, activations: activations, adapter: adapter)
            let (lm, tokenizer) = (loaded.model, loaded.tokenizer)
            let r = try Perplexity.evaluate(model: lm, tokenizer: tokenizer, text: text, context: context)
            if json { try printJSON(r); return }
            print(
                "perplexity \(String(format: "%.3f", r.perplexity))  (\(String(format: "%.4f", r.nllPerToken)) nats/token, \(String(format: "%.4f", r.nllPerCharacter)) nats/char, \(r.tokens) tokens, \(String(format: "%.1f", r.seconds)) s)"
            )
        }
    }
}
