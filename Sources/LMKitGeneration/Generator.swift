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
        self.stopTokens = stopTokens ?? Set(["<|endoftext|>", "<eos>", "</s>", "<|end_of_text|>"].compactMap { tokenizer.id(of: $0) }
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
    public func generate(_ prompt: String, maxTokens: Int, sampling: SamplingOptions = SamplingOptions(),
                         stopSequences: [String] = [], useCache: Bool = true, specialTokens: SpecialTokenPolicy = .reject,
                         onText: (String) -> Void = { _ in }) throws -> Result {
        try sampling.validate()
        guard maxTokens >= 0 else { throw GenerationError("max tokens must be ≥ 0") }
        // With the tokenizer's special tokens: the BOS that Llama-family and Gemma models expect (GPT-2 adds none).
        let promptIDs = try tokenizer.encode(prompt, options: .init(addSpecialTokens: true, specialTokens: specialTokens)).ids
        guard !promptIDs.isEmpty else { throw GenerationError("the prompt is empty: give at least one token to continue") }
        guard promptIDs.allSatisfy({ $0 >= 0 && $0 < model.vocabularySize }) else {
            throw GenerationError("the prompt has token ids outside the model's vocabulary of \(model.vocabularySize) (tokenizer and model do not match)")
        }
        let start = Date()
        var sampler = Sampler(sampling)
        var ids = promptIDs
        var stream = tokenizer.decodeStream()
        var text = ""
        var emitted = 0          // characters of `text` already handed to onText
        var reason = "length"
        let cache = model.makeDecodingCache()
        let holdBack = stopSequences.map(\.count).max().map { max(0, $0 - 1) } ?? 0
        // Prime the stream with the prompt so the first generated token decodes in context.
        for id in promptIDs { _ = try stream.step(id) }
        var generated = 0
        // A prompt longer than the context keeps its last context's worth of tokens.
        var pending = Array(promptIDs.suffix(model.contextLength))
        loop: while generated < maxTokens {
            if useCache && cache.length + pending.count > model.contextLength {
                // Out of positions: start again from the last half-context of tokens.
                cache.reset()
                pending = Array(ids.suffix(model.contextLength / 2))
            }
            let input: [Int] = useCache ? pending : Array(ids.suffix(model.contextLength))
            let last = GradMode.withoutGradient {
                model.lastLogits(Tensor(indices: input, shape: [1, input.count]), cache: useCache ? cache : nil)  // (1, V)
            }.scalars(as: Float.self)
            let next = sampler.next(logits: last, history: ids)
            generated += 1
            if stopTokens.contains(next) { reason = "stop token"; break }
            ids.append(next)
            pending = [next]
            if let piece = try stream.step(next) { text += piece }
            for s in stopSequences where !s.isEmpty {
                if let r = text.range(of: s) {
                    text = String(text[..<r.lowerBound])
                    reason = "stop sequence"
                    break loop
                }
            }
            // Hand out what can no longer become part of a stop sequence.
            let safe = text.count - holdBack
            if safe > emitted {
                onText(String(text.dropFirst(emitted).prefix(safe - emitted)))
                emitted = safe
            }
        }
        if reason == "length" { text += try stream.finish() }
        if text.count > emitted { onText(String(text.dropFirst(emitted))) }
        let seconds = Date().timeIntervalSince(start)
        return Result(prompt: prompt, text: text, promptTokens: promptIDs.count, generatedTokens: generated,
                      finishReason: reason, seconds: seconds, tokensPerSecond: Double(generated) / max(seconds, 1e-9))
    }
}
