import Foundation
import Hummingbird
import LMKitChat
import LMKitGeneration
import NIOCore

/// `POST /v1/chat/completions` and `POST /v1/completions`: request checks, the model queue, and
/// server-sent events when streaming.
extension Routes {
    struct Generation {
        var maxTokens: Int
        var sampling: SamplingOptions
        var stop: [String]
        var stream: Bool
    }

    func generationOptions(_ body: JSONBody) throws -> Generation {
        let maxTokens =
            try body.int("max_completion_tokens", 1...options.maxTokens) ?? body.int("max_tokens", 1...options.maxTokens)
            ?? min(256, options.maxTokens)
        if let n = try body.int("n", 1...1_000_000), n != 1 { throw APIError.invalid("n must be 1 (LMKit returns one choice)", param: "n") }
        let sampling = SamplingOptions(
            temperature: try body.double("temperature", 0...2) ?? 1, topK: try body.int("top_k", 0...1_000_000) ?? 0,
            topP: try body.double("top_p", 0...1) ?? 1,
            repetitionPenalty: try body.double("repetition_penalty", 0.01...10) ?? 1,
            seed: UInt64(try body.int("seed", 0...Int.max) ?? Int.random(in: 0...Int(Int32.max))))
        if sampling.topP == 0 { throw APIError.invalid("top_p must be greater than 0", param: "top_p") }
        let stop = try body.strings("stop") ?? []
        if stop.count > 4 { throw APIError.invalid("stop takes at most 4 sequences", param: "stop") }
        return Generation(maxTokens: maxTokens, sampling: sampling, stop: stop, stream: try body.bool("stream") ?? false)
    }

    func parseMessages(_ body: JSONBody) throws(APIError) -> [ChatMessage] {
        guard body.has("messages") else { throw .invalid("messages is required", param: "messages") }
        guard let list = body.object["messages"] as? [Any], !list.isEmpty else {
            throw .invalid("messages must be a non-empty list", param: "messages")
        }
        var out: [ChatMessage] = []
        for (i, item) in list.enumerated() {
            guard let m = item as? [String: Any], let role = m["role"] as? String else {
                throw .invalid("messages[\(i)] must be an object with a role", param: "messages[\(i)]")
            }
            guard ["system", "developer", "user", "assistant"].contains(role) else {
                throw .invalid("messages[\(i)].role \"\(role)\" is not supported (system, user, assistant)", param: "messages[\(i)].role")
            }
            var content: String
            if let s = m["content"] as? String {
                content = s
            } else if let parts = m["content"] as? [[String: Any]] {
                content = ""
                for part in parts {
                    guard part["type"] as? String == "text", let text = part["text"] as? String else {
                        throw .invalid("messages[\(i)].content: only text parts are supported", param: "messages[\(i)].content")
                    }
                    content += text
                }
            } else {
                throw .invalid("messages[\(i)].content must be a string or a list of text parts", param: "messages[\(i)].content")
            }
            out.append(ChatMessage(role: role == "developer" ? "system" : role, content: content))
        }
        return out
    }

    var promptLimit: Int { min(options.maxPromptTokens, host.contextLength) }

    func checkLength(_ ids: [Int], _ g: Generation) throws(APIError) {
        if ids.count > promptLimit || ids.count + g.maxTokens > host.contextLength {
            throw APIError.invalid(
                "the prompt has \(ids.count) tokens; this server takes at most \(promptLimit), and prompt plus max_tokens (\(g.maxTokens)) must fit the \(host.contextLength)-token context",
                param: "messages", code: "context_length_exceeded")
        }
    }

    /// Runs a completion of `ids` on the model queue; streams through `onText` when given.
    func complete(
        _ ids: [Int], _ g: Generation, stops: [String], cancellation: ModelHost.Cancellation,
        onText: (@Sendable (String) -> Void)? = nil
    ) async throws -> CachedDecoder.Completion {
        let decoder = host.decoder
        let completion = try await host.run(cancellation) {
            try decoder.complete(
                ids, maxTokens: g.maxTokens, sampling: g.sampling, stopSequences: stops, trimEnd: true,
                cancelled: { cancellation.isCancelled }, onText: { onText?($0) })
        }
        metrics.tokens(
            prompt: ids.count, completion: completion.generated, reused: completion.reused, wasCancelled: completion.reason == "cancelled")
        return completion
    }

    static func newID(_ prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
    }

    /// A server-sent-events response: `produce` writes events through `send`; a client that goes
    /// away cancels the generation.
    func eventStream(
        _ produce:
            @escaping @Sendable (_ send: @escaping @Sendable (any Encodable) -> Void, _ cancellation: ModelHost.Cancellation) async throws
            -> Void
    ) -> Response {
        let cancellation = ModelHost.Cancellation()
        let (events, continuation) = AsyncStream<Data>.makeStream()
        @Sendable func event(_ value: any Encodable) -> Data { Data("data: ".utf8) + jsonData(value) + Data("\n\n".utf8) }
        let producer = Task {
            do {
                try await produce({ continuation.yield(event($0)) }, cancellation)
                continuation.yield(Data("data: [DONE]\n\n".utf8))
            } catch is CancellationError {
            } catch let e as APIError {
                continuation.yield(event(ErrorBody(e)))
            } catch {
                continuation.yield(event(ErrorBody(APIError(500, "\(error)"))))
            }
            continuation.finish()
        }
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                do {
                    for await event in events { try await writer.write(ByteBuffer(bytes: event)) }
                    try await writer.finish(nil)
                } catch {
                    cancellation.cancel()  // the client went away: stop generating
                    producer.cancel()
                    throw error
                }
            })
    }

    func chatCompletions(_ request: Request) async throws -> Response {
        let body = try await readJSON(request)
        try checkModel(body, required: true)
        var messages = try parseMessages(body)
        if messages.first?.role != "system", let preamble = host.template.defaultSystemPrompt {
            messages.insert(ChatMessage(role: "system", content: preamble), at: 0)  // the plain format's few-shot preamble
        }
        let g = try generationOptions(body)
        let ids = try Conversation.promptIDs(messages, template: host.template, tokenizer: host.tokenizer)
        try checkLength(ids, g)
        let stops = host.template.stopSequences + g.stop
        let id = Self.newID("chatcmpl-"), created = Int(Date().timeIntervalSince1970), model = host.modelID
        if g.stream {
            return eventStream { send, cancellation in
                @Sendable func chunk(_ delta: ChatCompletionChunk.Delta, _ finish: FinishReason?, usage: Usage? = nil)
                    -> ChatCompletionChunk
                {
                    ChatCompletionChunk(
                        id: id, created: created, model: model, choices: [.init(delta: delta, finishReason: finish)], usage: usage)
                }
                send(chunk(.init(role: "assistant", content: ""), nil))
                let c = try await complete(ids, g, stops: stops, cancellation: cancellation) { text in
                    send(chunk(.init(content: text), nil))
                }
                send(chunk(.init(), FinishReason(c), usage: Usage(prompt: ids.count, completion: c.generated)))
            }
        }
        let c = try await complete(ids, g, stops: stops, cancellation: ModelHost.Cancellation())
        return json(
            ChatCompletion(
                id: id, created: created, model: model,
                choices: [.init(message: ResponseMessage(content: c.text), finishReason: FinishReason(c))],
                usage: Usage(prompt: ids.count, completion: c.generated, cached: c.reused)))
    }

    func completions(_ request: Request) async throws -> Response {
        let body = try await readJSON(request)
        try checkModel(body, required: true)
        guard let prompts = try body.strings("prompt"), prompts.count == 1 else {
            throw APIError.invalid("prompt is required: one string (LMKit completes one prompt per request)", param: "prompt")
        }
        let g = try generationOptions(body)
        let ids = try host.tokenizer.encode(prompts[0], options: .init(addSpecialTokens: true, specialTokens: .text)).ids
        guard !ids.isEmpty else { throw APIError.invalid("the prompt is empty", param: "prompt") }
        try checkLength(ids, g)
        let id = Self.newID("cmpl-"), created = Int(Date().timeIntervalSince1970), model = host.modelID
        if g.stream {
            return eventStream { send, cancellation in
                @Sendable func chunk(_ text: String, _ finish: FinishReason?) -> TextCompletion {
                    TextCompletion(id: id, created: created, model: model, choices: [.init(text: text, finishReason: finish)])
                }
                let c = try await complete(ids, g, stops: g.stop, cancellation: cancellation) { text in send(chunk(text, nil)) }
                send(chunk("", FinishReason(c)))
            }
        }
        let c = try await complete(ids, g, stops: g.stop, cancellation: ModelHost.Cancellation())
        return json(
            TextCompletion(
                id: id, created: created, model: model, choices: [.init(text: c.text, finishReason: FinishReason(c))],
                usage: Usage(prompt: ids.count, completion: c.generated)))
    }
}
