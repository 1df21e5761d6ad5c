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
    /// What happens to the oldest turns when the conversation no longer fits ``contextWindow``.
    public enum OverflowPolicy: String, Codable, Sendable, CaseIterable {
        /// Drop the oldest user/assistant turns.
        case dropOldest = "drop-oldest"
        /// Replace the oldest turns by a short summary the model writes, kept in the system prompt.
        case summarize
    }

    /// The assistant's reply to one ``send(_:maxTokens:sampling:onText:)``, and what producing it took.
    public struct Reply: Codable, Sendable {
        /// The reply as generated, without the stop token or stop sequence that ended it.
        public var text: String
        /// Tokens of the rendered conversation, of which `reusedTokens` came from the KV cache.
        public var promptTokens: Int
        /// Leading prompt tokens the KV cache already held, which were not recomputed.
        public var reusedTokens: Int
        /// Tokens sampled for the reply, counting the stop token when one ended it.
        public var generatedTokens: Int
        /// "stop token", "stop sequence" or "length".
        public var finishReason: String
        /// Oldest messages dropped (or summarized) to fit the window before this reply.
        public var droppedMessages: Int
        /// Wall-clock seconds of the whole turn, prompt rendering and prefill included.
        public var seconds: Double
        /// `generatedTokens` over `seconds` (so prefill time counts against it).
        public var tokensPerSecond: Double
    }

    /// The decoder that writes the replies.
    public let model: any CausalLanguageModel
    /// The model's tokenizer, for the rendered prompt and the reply.
    public let tokenizer: Tokenizer
    /// Renders the conversation into the prompt; its stop sequences and `eos_token` end each reply.
    public var template: ChatTemplate
    /// The system prompt (nil: the template's default, if any).
    public var systemPrompt: String?
    /// The user and assistant messages so far (the system prompt is kept apart).
    public private(set) var messages: [ChatMessage] = []
    /// Summary of turns dropped under `.summarize`.
    public private(set) var summary: String?
    /// Most tokens the rendered conversation plus a reply may take.
    public var contextWindow: Int
    /// What happens to old turns when the window overflows (``OverflowPolicy/dropOldest`` by default).
    public var overflow: OverflowPolicy = .dropOldest

    /// The model with its KV cache and the tokens the cache holds.
    public let decoder: CachedDecoder

    /// A new conversation; `contextWindow` defaults to 4096 tokens and is capped at the model's context length.
    public init(
        model: any CausalLanguageModel, tokenizer: Tokenizer, template: ChatTemplate, systemPrompt: String? = nil,
        contextWindow: Int? = nil
    ) {
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.systemPrompt = systemPrompt
        self.contextWindow = min(contextWindow ?? 4096, model.contextLength)
        decoder = CachedDecoder(model: model, tokenizer: tokenizer, moreStopTokens: [template.eosToken].compactMap { $0 })
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
        decoder.reset()
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
    public func send(
        _ text: String, maxTokens: Int = 256, sampling: SamplingOptions = SamplingOptions(),
        onText: (String) -> Void = { _ in }
    ) throws -> Reply {
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
        let reply = try decoder.complete(
            ids, maxTokens: maxTokens, sampling: sampling, stopSequences: template.stopSequences, trimEnd: true, onText: onText)
        messages.append(ChatMessage(role: "assistant", content: reply.text.trimmingCharacters(in: .whitespacesAndNewlines)))
        let seconds = Date().timeIntervalSince(start)
        return Reply(
            text: reply.text, promptTokens: ids.count, reusedTokens: reply.reused, generatedTokens: reply.generated,
            finishReason: reply.reason, droppedMessages: dropped, seconds: seconds,
            tokensPerSecond: Double(reply.generated) / max(seconds, 1e-9))
    }

    /// The rendered prompt's ids, after dropping or summarizing the oldest turns until the prompt
    /// and `maxTokens` fit the window.
    private func fittedPrompt(maxTokens: Int, sampling: SamplingOptions) throws -> (ids: [Int], dropped: Int) {
        var dropped = 0
        while true {
            let ids = try Self.promptIDs(transcript, template: template, tokenizer: tokenizer)
            if ids.count + maxTokens <= contextWindow { return (ids, dropped) }
            guard messages.count > 1 else { throw Self.tooLong(ids.count, maxTokens, contextWindow) }
            let count = Self.oldestTurn(messages)
            let removed = Array(messages.prefix(count))
            messages.removeFirst(count)
            dropped += count
            if overflow == .summarize { summary = try summarize(removed, sampling: sampling) }
        }
    }

    /// The token ids of `messages` rendered with the generation prompt (special tokens in the
    /// template's text are parsed as such).
    public static func promptIDs(_ messages: [ChatMessage], template: ChatTemplate, tokenizer: Tokenizer) throws -> [Int] {
        let prompt = try template.render(messages, addGenerationPrompt: true)
        return try tokenizer.encode(prompt, options: .init(addSpecialTokens: false, specialTokens: .allow)).ids
    }

    /// How many messages the oldest turn has: a user/assistant pair, or one message.
    static func oldestTurn(_ messages: [ChatMessage]) -> Int {
        messages.count >= 3 && messages[0].role == "user" && messages[1].role == "assistant" ? 2 : 1
    }

    static func tooLong(_ tokens: Int, _ maxTokens: Int, _ window: Int) -> GenerationError {
        GenerationError(
            "the message and the system prompt take \(tokens) tokens; with \(maxTokens) for the reply that exceeds the \(window)-token window"
        )
    }

    /// `system` then `messages`, without their oldest turns as far as needed for the prompt and
    /// `maxTokens` to fit `window` (the last message always stays): the prompt's ids and how many
    /// messages were left out.
    public static func fit(
        system: String?, messages: [ChatMessage], template: ChatTemplate, tokenizer: Tokenizer,
        window: Int, maxTokens: Int
    ) throws -> (ids: [Int], dropped: Int) {
        var kept = messages
        let head = system.map { [ChatMessage(role: "system", content: $0)] } ?? []
        while true {
            let ids = try promptIDs(head + kept, template: template, tokenizer: tokenizer)
            if ids.count + maxTokens <= window { return (ids, messages.count - kept.count) }
            guard kept.count > 1 else { throw tooLong(ids.count, maxTokens, window) }
            kept.removeFirst(oldestTurn(kept))
        }
    }

    /// A one- or two-sentence summary of `removed` (and the previous summary), written by the model.
    private func summarize(_ removed: [ChatMessage], sampling: SamplingOptions) throws -> String {
        let earlier =
            (summary.map { ["Earlier: " + $0] } ?? []) + removed.map { "\($0.role == "user" ? "User" : "Assistant"): \($0.content)" }
        let request = [
            ChatMessage(
                role: "user", content: "Summarize this conversation in at most two sentences:\n\n" + earlier.joined(separator: "\n"))
        ]
        let ids = try Self.promptIDs(request, template: template, tokenizer: tokenizer)
        let scratch = CachedDecoder(model: model, tokenizer: tokenizer, moreStopTokens: [template.eosToken].compactMap { $0 })
        let reply = try scratch.complete(
            Array(ids.suffix(contextWindow / 2)), maxTokens: 40, sampling: sampling, stopSequences: template.stopSequences, trimEnd: true)
        return reply.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: Saving

    /// What `save` writes: JSON with the system prompt, summary, messages and the template's origin.
    public struct Saved: Codable, Sendable {
        /// Version tag of the file format; `load` refuses any other.
        public var format = "lmkit-conversation-1"
        /// The conversation's own system prompt (nil: the template's default).
        public var systemPrompt: String?
        /// Summary of the turns dropped under `.summarize` (nil: none).
        public var summary: String?
        /// The user and assistant messages, oldest first.
        public var messages: [ChatMessage]
        /// The template's ``ChatTemplate/origin``, for the reader (`load` does not check it).
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
        guard saved.format == "lmkit-conversation-1" else {
            throw GenerationError("\(path): unknown conversation format \"\(saved.format)\"")
        }
        systemPrompt = saved.systemPrompt
        try restore(messages: saved.messages, summary: saved.summary)
    }
}
