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
    /// The model that predicts each next token.
    public let model: any CausalLanguageModel
    /// Encodes the prompt (with its special tokens, such as a BOS) and decodes the generated ids.
    public let tokenizer: Tokenizer
    /// Tokens that end generation (the tokenizer's end-of-text token when it has one).
    public var stopTokens: Set<Int>

    /// `stopTokens` nil: those of `<|endoftext|>`, `<eos>`, `</s>` and `<|end_of_text|>` the vocabulary has as special tokens.
    public init(model: any CausalLanguageModel, tokenizer: Tokenizer, stopTokens: Set<Int>? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.stopTokens =
            stopTokens
            ?? Set(
                ["<|endoftext|>", "<eos>", "</s>", "<|end_of_text|>"].compactMap { tokenizer.id(of: $0) }
                    .filter { tokenizer.isSpecial($0) })
    }

    /// One generation: the text, token counts, why it ended, and its speed.
    public struct Result: Codable, Sendable {
        /// The prompt as given (not repeated in `text`).
        public var prompt: String
        /// The continuation, without the prompt or the stop sequence that ended it.
        public var text: String
        /// Tokens of the encoded prompt, special tokens included.
        public var promptTokens: Int
        /// Tokens sampled, counting the stop token when one ended generation.
        public var generatedTokens: Int
        /// "length", "stop token", or "stop sequence".
        public var finishReason: String
        /// Wall-clock seconds of the prompt's forward pass and the generation (tokenizing the prompt not counted).
        public var seconds: Double
        /// `generatedTokens` / `seconds`: the prompt's forward pass counts in the time.
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
