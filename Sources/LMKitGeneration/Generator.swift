import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor
import LMKitTokenizers

/// Text generation with a KV cache: the prompt is processed in one forward pass, then each new token
/// costs one position. Tokens stream out as text as soon as it is final (``DecodeStream``).
///
/// ```swift
/// let generator = Generator(model: model, tokenizer: tokenizer)
/// let result = try generator.generate("ROMEO:", maxTokens: 200, sampling: .init(temperature: 0.8, topK: 40)) { print($0, terminator: "") }
/// ```
public final class Generator {
    public let model: any CausalLanguageModel
    public let tokenizer: Tokenizer
    /// Tokens that end generation (the tokenizer's end-of-text token when it has one).
    public var stopTokens: Set<Int>

    public init(model: any CausalLanguageModel, tokenizer: Tokenizer, stopTokens: Set<Int>? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.stopTokens =
            stopTokens
            ?? Set(
                ["<|endoftext|>", "<eos>", "</s>", "<|end_of_text|>"].compactMap { tokenizer.id(of: $0) }
                    .filter { tokenizer.isSpecial($0) })
    }

    public struct Result: Codable, Sendable {
        public var prompt: String
        public var text: String
        public var promptTokens: Int
        public var generatedTokens: Int
        /// "length", "stop token", or "stop sequence".
        public var finishReason: String
        public var seconds: Double
        public var tokensPerSecond: Double
    }

    /// Continues `prompt` by up to `maxTokens` tokens. `onText` receives the text as it becomes final.
    /// Generation ends at a stop token, at the first of `stopSequences` (not included in the text),
    /// or at `maxTokens`. With `useCache` false every step re-runs the whole sequence (for measuring
    /// what the cache saves).
    public func generate(
        _ prompt: String, maxTokens: Int, sampling: SamplingOptions = SamplingOptions(),
        stopSequences: [String] = [], useCache: Bool = true, specialTokens: SpecialTokenPolicy = .reject,
        onText: (String) -> Void = { _ in }
    ) throws -> Result {
        try sampling.validate()
        guard maxTokens >= 0 else { throw GenerationError("max tokens must be ≥ 0") }
        // With the tokenizer's special tokens: the BOS that Llama-family and Gemma models expect (GPT-2 adds none).
        let promptIDs = try tokenizer.encode(prompt, options: .init(addSpecialTokens: true, specialTokens: specialTokens)).ids
        let start = Date()
        let decoder = CachedDecoder(model: model, tokenizer: tokenizer, stopTokens: stopTokens)
        let c = try decoder.complete(
            promptIDs, maxTokens: maxTokens, sampling: sampling, stopSequences: stopSequences, useCache: useCache, onText: onText)
        let seconds = Date().timeIntervalSince(start)
        return Result(
            prompt: prompt, text: c.text, promptTokens: promptIDs.count, generatedTokens: c.generated,
            finishReason: c.reason, seconds: seconds, tokensPerSecond: Double(c.generated) / max(seconds, 1e-9))
    }
}
