import ArgumentParser
import Foundation
import LMKitAssets
import LMKitChat
import LMKitGeneration
import LMKitModels
import LMKitTensor
import LMKitTokenizers

/// `lmkit generate`: continue a prompt with a trained model, streaming the text.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt with a language model, streaming tokens as they come.",
        discussion: """
            --model is a model folder (config.json, model.safetensors and tokenizer files): the OUT/model
            folder `lmkit train gpt` writes, or a Hugging Face GPT-2, Gemma 3 or Llama-family (llama, qwen2,
            mistral) folder; a GGUF file (gemma3, llama — Llama 1-3, Mistral, SmolLM — or qwen2); or
            `gemma` for the Gemma 3 270M asset.

            GGUF weights stay quantized. --activations int8 (the default, as llama.cpp) quantizes the
            activations to 8 bits for the products of decoding, which is fast; float32 keeps them exact.

            Sampling: --temperature 0 is greedy decoding (deterministic); otherwise tokens are drawn after
            the repetition penalty, temperature, top-k and top-p, from a random stream seeded by --seed.
            Generation stops at --max-tokens, at the model's end-of-text token, or before the first --stop
            sequence.

            --json prints one JSON object at the end instead of streaming:
              {"prompt": String, "text": String, "promptTokens": Int, "generatedTokens": Int,
               "finishReason": "length" | "stop token" | "stop sequence", "seconds": Double, "tokensPerSecond": Double}
            """
    )

    @Option(help: "Model folder.")
    var model: String

    @Argument(help: "The prompt.")
    var prompt: String

    @Option(help: "Most tokens to generate.") var maxTokens = 200
    @Option(help: "0: greedy.") var temperature = 1.0
    @Option(help: "Keep the k most likely tokens (0: all).") var topK = 0
    @Option(help: "Nucleus sampling: keep the most likely tokens up to this probability.") var topP = 1.0
    @Option(help: "Penalty for tokens already in the text (1: off).") var repetitionPenalty = 1.0
    @Option var seed: UInt64 = 0
    @Option(help: "Stop before this text (repeatable).") var stop: [String] = []
    @Option(help: "A LoRA adapter folder (adapter_config.json + adapter_model.safetensors, as peft saves) to put on the model.")
    var adapter: String?
    @Option(help: "Activations in products with quantized weights: int8 (fast) or float32 (exact).")
    var activations: QuantizedMatrix.Activations = .int8
    @Flag(help: "Recompute the whole sequence for every token (to measure the KV cache).") var noCache = false
    @Flag(help: "One JSON object at the end instead of streaming.") var json = false

    func run() throws {
        let loaded = try ModelLoader.load(model, activations: activations, adapter: adapter)
        let (lm, tokenizer) = (loaded.model, loaded.tokenizer)
        let generator = Generator(model: lm, tokenizer: tokenizer)
        let sampling = SamplingOptions(temperature: temperature, topK: topK, topP: topP, repetitionPenalty: repetitionPenalty, seed: seed)
        let streaming = !json
        if streaming { writeStandardOutput(prompt) }
        let result = try generator.generate(prompt, maxTokens: maxTokens, sampling: sampling, stopSequences: stop, useCache: !noCache) {
            text in
            if streaming { writeStandardOutput(text) }
        }
        if json { try printJSON(result); return }
        writeStandardOutput("\n")
        printError(
            "(\(result.generatedTokens) tokens, \(String(format: "%.1f", result.tokensPerSecond)) tokens/s, stopped: \(result.finishReason))"
        )
    }
}

extension QuantizedMatrix.Activations: ExpressibleByArgument {}
extension Perplexity.Method: ExpressibleByArgument {}
extension Int8Matrix.Scheme: ExpressibleByArgument {}
