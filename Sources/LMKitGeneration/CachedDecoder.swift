import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor
import LMKitTokenizers

/// A decoder with one KV cache that remembers which tokens it holds, so that a prompt sharing a
/// prefix with the previous one (the same conversation one turn later, or the same system prompt)
/// only runs its new tokens through the model. The sampling loop of ``Generator``, conversations and
/// the server. Not thread-safe: one completion at a time (the server runs them all on one queue).
public final class CachedDecoder: @unchecked Sendable {
    /// The model the tokens run through; its `contextLength` bounds the prompt and the cache.
    public let model: any CausalLanguageModel
    /// Decodes the sampled ids into the streamed text, and supplies the ids of the stop tokens.
    public let tokenizer: Tokenizer
    let cache: any DecodingCache
    /// The tokens whose keys and values the cache holds, in order.
    public private(set) var cachedIDs: [Int] = []
    /// Token ids that end a reply: the end-of-text and end-of-turn tokens the vocabulary has.
    public let stopTokens: Set<Int>

    /// Special tokens that end text: end of text, and the end-of-turn tokens of chat formats.
    public static let endTokens = [
        "<|endoftext|>", "<eos>", "</s>", "<|end_of_text|>", "<end_of_turn>", "<|eot_id|>", "<|im_end|>", "<|end|>",
    ]

    /// `stopTokens` nil: those of ``endTokens`` and `moreStopTokens` the vocabulary has as special tokens.
    public init(model: any CausalLanguageModel, tokenizer: Tokenizer, stopTokens: Set<Int>? = nil, moreStopTokens: [String] = []) {
        self.model = model
        self.tokenizer = tokenizer
        cache = model.makeDecodingCache()
        self.stopTokens =
            stopTokens ?? Set((Self.endTokens + moreStopTokens).compactMap { tokenizer.id(of: $0) }.filter { tokenizer.isSpecial($0) })
    }

    /// Empties the cache, so that the next completion runs its whole prompt through the model.
    public func reset() {
        cachedIDs = []
        cache.reset()
    }

    /// One reply of ``complete(_:maxTokens:sampling:stopSequences:useCache:trimEnd:cancelled:onText:)``.
    public struct Completion: Sendable {
        /// The reply's text, without the stop token or stop sequence that ended it.
        public var text: String
        /// Tokens sampled, counting the stop token when one ended the reply.
        public var generated: Int
        /// "stop token", "stop sequence", "length" or "cancelled".
        public var reason: String
        /// Prompt tokens taken from the cache.
        public var reused: Int
    }

    /// Continues `ids`: reuses the cached prefix (at least the last prompt token goes through the
    /// model), then samples up to `maxTokens` tokens, streaming the text that can no longer become
    /// part of a stop sequence to `onText`. `cancelled` is checked before every token.
    ///
    /// A prompt longer than the model's context keeps its last context's worth of tokens; when the
    /// positions run out during generation, the cache restarts from the last half-context of tokens.
    /// `useCache` false re-runs the whole sequence for every token (to measure what the cache saves).
    /// `trimEnd` drops the line breaks before the end of a reply that stopped (chat turns).
    public func complete(
        _ ids: [Int], maxTokens: Int, sampling: SamplingOptions, stopSequences: [String] = [], useCache: Bool = true,
        trimEnd: Bool = false, cancelled: () -> Bool = { false }, onText: (String) -> Void = { _ in }
    ) throws -> Completion {
        guard !ids.isEmpty else { throw GenerationError("the prompt is empty: give at least one token to continue") }
        guard ids.allSatisfy({ $0 >= 0 && $0 < model.vocabSize }) else {
            throw GenerationError(
                "the prompt has token ids outside the model's vocabulary of \(model.vocabSize) (tokenizer and model do not match)")
        }
        let kept = Array(ids.suffix(model.contextLength))
        var common = 0
        if useCache {
            while common < min(cachedIDs.count, kept.count - 1) && cachedIDs[common] == kept[common] { common += 1 }
            if let kv = cache as? KVCache { kv.truncate(to: common) } else { cache.reset(); common = 0 }
            cachedIDs = Array(cachedIDs.prefix(common))
        }

        var sampler = Sampler(sampling)
        var stream = tokenizer.decodeStream()
        for id in ids { _ = try stream.step(id) }  // the first reply token decodes in the prompt's context
        var history = ids
        var pending = Array(kept[common...])
        var text = "", emitted = 0, generated = 0, reason = "length"
        let stops = stopSequences.filter { !$0.isEmpty }
        let holdBack = stops.map(\.count).max().map { max(0, $0 - 1) } ?? 0
        loop: while generated < maxTokens {
            if cancelled() { reason = "cancelled"; break }
            if useCache && cache.length + pending.count > model.contextLength {
                // Out of positions: start again from the last half-context of tokens.
                cache.reset()
                cachedIDs = []
                pending = Array(history.suffix(model.contextLength / 2))
            }
            let input = useCache ? pending : Array(history.suffix(model.contextLength))
            let logits = GradMode.withoutGradient {
                model.lastLogits(Tensor(indices: input, shape: [1, input.count]), cache: useCache ? cache : nil)
            }.scalars(as: Float.self)
            if useCache { cachedIDs += pending }
            let next = sampler.next(logits: logits, history: history)
            generated += 1
            if stopTokens.contains(next) { reason = "stop token"; break }
            history.append(next)
            pending = [next]
            if let piece = try stream.step(next) { text += piece }
            for s in stops {
                if let r = text.range(of: s) {
                    text = String(text[..<r.lowerBound])
                    reason = "stop sequence"
                    break loop
                }
            }
            let safe = text.count - holdBack
            if safe > emitted {
                onText(String(text.dropFirst(emitted).prefix(safe - emitted)))
                emitted = safe
            }
        }
        if reason == "length" { text += try stream.finish() }
        // A turn that ended drops the line breaks before its end (the not-yet-shown part only).
        if trimEnd && reason != "length" { while text.count > emitted, let last = text.last, last.isWhitespace { text.removeLast() } }
        if text.count > emitted { onText(String(text.dropFirst(emitted))) }
        return Completion(text: text, generated: generated, reason: reason, reused: common)
    }
}
