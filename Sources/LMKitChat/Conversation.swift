import Foundation
import LMKitGeneration
import LMKitModels
import LMKitNN
import LMKitTensor
import LMKitTokenizers

/// A chat with a decoder that remembers what was said.
///
/// - **History**: every turn is kept; each reply renders the whole conversation through the model's
///   chat template.
/// - **KV-cache reuse**: the tokens of the new prompt that equal what the cache already holds (the
///   system prompt and every earlier turn, usually all but the new message) are not recomputed: the
///   cache is cut back to the shared prefix and only the rest goes through the model.
/// - **Context limit**: when the prompt and the reply's token budget no longer fit `contextWindow`,
///   the oldest turns are dropped (the system prompt stays), or with `.summarize` they are replaced
///   by a model-written summary appended to the system prompt; ``Reply/droppedMessages`` says how
///   many went.
public final class Conversation {
    public enum OverflowPolicy: String, Codable, Sendable, CaseIterable {
        /// Drop the oldest user/assistant turns.
        case dropOldest = "drop-oldest"
        /// Replace the oldest turns by a short summary the model writes, kept in the system prompt.
        case summarize
    }

    public struct Reply: Codable, Sendable {
        public var text: String
        /// Tokens of the rendered conversation, of which `reusedTokens` came from the KV cache.
        public var promptTokens: Int
        public var reusedTokens: Int
        public var generatedTokens: Int
        /// "stop token", "stop sequence" or "length".
        public var finishReason: String
        /// Oldest messages dropped (or summarized) to fit the window before this reply.
        public var droppedMessages: Int
        public var seconds: Double
        public var tokensPerSecond: Double
    }

    public let model: any CausalLanguageModel
    public let tokenizer: Tokenizer
    public var template: ChatTemplate
    /// The system prompt (nil: the template's default, if any).
    public var systemPrompt: String?
    /// The user and assistant messages so far (the system prompt is kept apart).
    public private(set) var messages: [ChatMessage] = []
    /// Summary of turns dropped under `.summarize`.
    public private(set) var summary: String?
    /// Most tokens the rendered conversation plus a reply may take.
    public var contextWindow: Int
    public var overflow: OverflowPolicy = .dropOldest

    let cache: any DecodingCache
    /// The tokens whose keys and values the cache holds, in order.
    private(set) var cachedIDs: [Int] = []
    let stopTokens: Set<Int>

    public init(model: any CausalLanguageModel, tokenizer: Tokenizer, template: ChatTemplate, systemPrompt: String? = nil,
                contextWindow: Int? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.systemPrompt = systemPrompt
        self.contextWindow = min(contextWindow ?? 4096, model.contextLength)
        cache = model.makeDecodingCache()
        let ends = ["<|endoftext|>", "<eos>", "</s>", "<|end_of_text|>", "<end_of_turn>", "<|eot_id|>", "<|im_end|>", "<|end|>"]
            + [template.eosToken].compactMap { $0 }
        stopTokens = Set(ends.compactMap { tokenizer.id(of: $0) })
    }

    /// The messages the template sees: the system prompt (with the summary), then the turns.
    public var transcript: [ChatMessage] {
        var system = systemPrompt ?? template.defaultSystemPrompt
        if let summary { system = (system.map { $0 + "\n\n" } ?? "") + "Earlier in this conversation: " + summary }
        return (system.map { [ChatMessage(role: "system", content: $0)] } ?? []) + messages
    }

    /// Forgets the conversation (the system prompt stays).
    public func reset() {
        messages = []
        summary = nil
        cachedIDs = []
        cache.reset()
    }

    /// Replaces the history (a saved conversation); the cache is rebuilt on the next reply.
    public func restore(messages: [ChatMessage], summary: String? = nil) throws(TemplateError) {
        for m in messages where !["user", "assistant"].contains(m.role) {
            throw TemplateError("a saved conversation has a message with role \"\(m.role)\" (user or assistant)")
        }
        self.messages = messages
        self.summary = summary
    }

    /// Sends `text` as the user and generates the assistant's reply, streaming it to `onText`.
    public func send(_ text: String, maxTokens: Int = 256, sampling: SamplingOptions = SamplingOptions(),
                     onText: (String) -> Void = { _ in }) throws -> Reply {
        try sampling.validate()
        guard maxTokens > 0 else { throw GenerationError("max tokens must be at least 1") }
        let start = Date()
        messages.append(ChatMessage(role: "user", content: text))
        var ids: [Int]
        var dropped = 0
        do {
            (ids, dropped) = try fittedPrompt(maxTokens: maxTokens, sampling: sampling)
        } catch {
            messages.removeLast()
            throw error
        }
        // Reuse the cached prefix; at least the last prompt token goes through the model.
        var common = 0
        while common < min(cachedIDs.count, ids.count - 1) && cachedIDs[common] == ids[common] { common += 1 }
        if let kv = cache as? KVCache { kv.truncate(to: common) } else { cache.reset(); common = 0 }
        cachedIDs = Array(cachedIDs.prefix(common))
        let reply = try generate(after: ids, reusing: common, maxTokens: maxTokens, sampling: sampling, onText: onText)
        messages.append(ChatMessage(role: "assistant", content: reply.text.trimmingCharacters(in: .whitespacesAndNewlines)))
        let seconds = Date().timeIntervalSince(start)
        return Reply(text: reply.text, promptTokens: ids.count, reusedTokens: common, generatedTokens: reply.generated,
                     finishReason: reply.reason, droppedMessages: dropped, seconds: seconds,
                     tokensPerSecond: Double(reply.generated) / max(seconds, 1e-9))
    }

    /// The rendered prompt's ids, after dropping or summarizing the oldest turns until the prompt
    /// and `maxTokens` fit the window.
    private func fittedPrompt(maxTokens: Int, sampling: SamplingOptions) throws -> (ids: [Int], dropped: Int) {
        var dropped = 0
        while true {
            let prompt = try template.render(transcript, addGenerationPrompt: true)
            let ids = try tokenizer.encode(prompt, options: .init(addSpecialTokens: false, specialTokens: .allow)).ids
            if ids.count + maxTokens <= contextWindow { return (ids, dropped) }
            // Keep at least the new message; drop whole user/assistant pairs from the front.
            guard messages.count > 1 else {
                throw GenerationError("the message and the system prompt take \(ids.count) tokens; with \(maxTokens) for the reply that exceeds the \(contextWindow)-token window")
            }
            let count = messages.count >= 3 && messages[0].role == "user" && messages[1].role == "assistant" ? 2 : 1
            let removed = Array(messages.prefix(count))
            messages.removeFirst(count)
            dropped += count
            if overflow == .summarize { summary = try summarize(removed, sampling: sampling) }
        }
    }

    /// A one- or two-sentence summary of `removed` (and the previous summary), written by the model.
    private func summarize(_ removed: [ChatMessage], sampling: SamplingOptions) throws -> String {
        let earlier = (summary.map { ["Earlier: " + $0] } ?? []) + removed.map { "\($0.role == "user" ? "User" : "Assistant"): \($0.content)" }
        let request = [ChatMessage(role: "user", content: "Summarize this conversation in at most two sentences:\n\n" + earlier.joined(separator: "\n"))]
        let prompt = try template.render(request, addGenerationPrompt: true)
        let ids = try tokenizer.encode(prompt, options: .init(addSpecialTokens: false, specialTokens: .allow)).ids
        let scratch = model.makeDecodingCache()
        let (saved, savedIDs) = (cache, cachedIDs)
        defer { cachedIDs = savedIDs; _ = saved }
        let reply = try generate(after: Array(ids.suffix(contextWindow / 2)), reusing: 0, maxTokens: 80, sampling: sampling, cache: scratch, onText: { _ in })
        return reply.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Feeds `ids[reused...]` into the cache (which holds `ids[..<reused]`) and samples the reply.
    private func generate(after ids: [Int], reusing reused: Int, maxTokens: Int, sampling: SamplingOptions,
                          cache override: (any DecodingCache)? = nil, onText: (String) -> Void) throws -> (text: String, generated: Int, reason: String) {
        let cache = override ?? self.cache
        let tracking = override == nil
        var sampler = Sampler(sampling)
        var stream = tokenizer.decodeStream()
        var history = ids
        var pending = Array(ids[reused...])
        var text = "", emitted = 0, generated = 0, reason = "length"
        let stops = template.stopSequences.filter { !$0.isEmpty }
        let holdBack = stops.map(\.count).max().map { max(0, $0 - 1) } ?? 0
        loop: while generated < maxTokens {
            guard cache.length + pending.count <= model.contextLength else { reason = "length"; break }
            let logits = GradMode.withoutGradient {
                model.lastLogits(Tensor(indices: pending, shape: [1, pending.count]), cache: cache)
            }.scalars(as: Float.self)
            if tracking { cachedIDs += pending }
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
        if reason != "length" { while text.count > emitted, let last = text.last, last.isWhitespace { text.removeLast() } }
        if text.count > emitted { onText(String(text.dropFirst(emitted))) }
        return (text, generated, reason)
    }

    // MARK: Saving

    /// What `save` writes: JSON with the system prompt, summary, messages and the template's origin.
    public struct Saved: Codable, Sendable {
        public var format = "lmkit-conversation-1"
        public var systemPrompt: String?
        public var summary: String?
        public var messages: [ChatMessage]
        public var template: String
    }

    /// Writes the conversation as JSON, atomically.
    public func save(to path: String) throws {
        let saved = Saved(systemPrompt: systemPrompt, summary: summary, messages: messages, template: template.origin)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(Array(try encoder.encode(saved)), to: path)
    }

    /// Reads a conversation `save` wrote and continues it.
    public func load(from path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw GenerationError("\(path): cannot read the file") }
        let saved: Saved
        do { saved = try JSONDecoder().decode(Saved.self, from: data) } catch {
            throw GenerationError("\(path): not a saved LMKit conversation (\(error))")
        }
        guard saved.format == "lmkit-conversation-1" else { throw GenerationError("\(path): unknown conversation format \"\(saved.format)\"") }
        systemPrompt = saved.systemPrompt
        try restore(messages: saved.messages, summary: saved.summary)
    }
}
