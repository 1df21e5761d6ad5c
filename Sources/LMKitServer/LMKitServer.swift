import Foundation
import Hummingbird
import LMKitChat
import LMKitGeneration
import LMKitTokenizers
import Logging
import NIOCore

/// `lmkit serve`: an OpenAI-compatible HTTP API and a chat web page, over one model.
///
/// Routes: `GET /` (the page), `GET /health`, `GET /metrics` (Prometheus), `GET /v1/models`,
/// `POST /v1/chat/completions` and `/v1/completions` (with `"stream": true`: server-sent events),
/// `POST /v1/embeddings`, `POST /v1/classify`, `POST /tokenize`, `POST /detokenize`, and
/// conversations kept in SQLite: `GET|POST /v1/conversations`, `GET|DELETE /v1/conversations/{id}`,
/// `POST /v1/conversations/{id}/messages`.
public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// A bearer token every `/v1/*`, `/tokenize` and `/detokenize` request must present (nil: none).
    public var apiKey: String?
    /// `Access-Control-Allow-Origin` for browsers on other origins (nil: no CORS headers; `*`: any).
    public var corsOrigin: String?
    public var maxBodyBytes = 1 << 20
    public var maxTokens = 1024
    /// Longest prompt in tokens (also bounded by the model's context).
    public var maxPromptTokens = 4096
    public var databasePath = "lmkit-conversations.sqlite"
    public var maxQueue = 64
    public init() {}
}

public enum LMKitServer {
    /// Serves until SIGINT/SIGTERM. `onRunning` receives the bound port (0 asks for any free port).
    public static func run(host model: ModelHost, options: ServerOptions, logger: Logger,
                           onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let store = try ConversationStore(path: options.databasePath)
        let routes = Routes(host: model, store: store, options: options, metrics: ServerMetrics(), logger: logger)
        let router = Router()
        if let origin = options.corsOrigin {
            router.add(middleware: CORSMiddleware(allowOrigin: origin == "*" ? .all : .custom(origin),
                                                  allowHeaders: [.accept, .authorization, .contentType, .origin],
                                                  allowMethods: [.get, .post, .delete, .options]))
        }
        routes.register(on: router)
        let app = Application(router: router, configuration: .init(address: .hostname(options.host, port: options.port), serverName: "lmkit"),
                              onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? options.port) }, logger: logger)
        try await app.runService()
    }
}

/// The handlers, with the shared checks: body size, JSON, API key, OpenAI error bodies, metrics, logs.
struct Routes: Sendable {
    let host: ModelHost
    let store: ConversationStore
    let options: ServerOptions
    let metrics: ServerMetrics
    let logger: Logger

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    func register(on router: Router<BasicRequestContext>) {
        router.get("/", use: wrap("page", auth: false) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: WebPage.html)))
        })
        router.get("/health", use: wrap("health", auth: false) { _, _ in json(["status": "ok", "model": host.modelID, "queued": host.queued]) })
        router.get("/metrics", use: wrap("metrics", auth: false) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.text(queued: host.queued))))
        })
        router.get("/v1/models", use: wrap("models") { _, _ in
            json(["object": "list", "data": [["id": host.modelID, "object": "model", "created": host.created, "owned_by": "lmkit"]]])
        })
        router.post("/v1/chat/completions", use: wrap("chat") { request, _ in try await chatCompletions(request) })
        router.post("/v1/completions", use: wrap("completions") { request, _ in try await completions(request) })
        router.post("/v1/embeddings", use: wrap("embeddings") { request, _ in try await embeddings(request) })
        router.post("/v1/classify", use: wrap("classify") { request, _ in try await classify(request) })
        router.post("/tokenize", use: wrap("tokenize") { request, _ in try await tokenize(request) })
        router.post("/detokenize", use: wrap("detokenize") { request, _ in try await detokenize(request) })
        router.get("/v1/conversations", use: wrap("conversations") { _, _ in
            json(["object": "list", "data": try store.list().map(summaryJSON)])
        })
        router.post("/v1/conversations", use: wrap("conversations") { request, _ in
            let body = try await readJSON(request, allowEmpty: true)
            let summary = try store.create(title: try body.string("title") ?? "", system: try body.string("system"))
            return json(summaryJSON(summary), status: .created)
        })
        router.get("/v1/conversations/:id", use: wrap("conversation") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let (summary, messages) = try store.get(id) else { throw APIError(404, "no conversation \(id)", code: "conversation_not_found") }
            var out = summaryJSON(summary)
            out["messages"] = messages.map { ["role": $0.role, "content": $0.content, "created_at": $0.createdAt] }
            return json(out)
        })
        router.delete("/v1/conversations/:id", use: wrap("conversation") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard try store.delete(id) else { throw APIError(404, "no conversation \(id)", code: "conversation_not_found") }
            return json(["id": id, "object": "conversation.deleted", "deleted": true])
        })
        router.post("/v1/conversations/:id/messages", use: wrap("conversation_message") { request, context in
            try await conversationMessage(request, id: context.parameters.get("id") ?? "")
        })
    }

    // MARK: Shared handling

    func wrap(_ route: String, auth: Bool = true, _ handler: @escaping Handler) -> Handler {
        { request, context in
            let start = Date()
            var status = 200
            defer {
                let seconds = Date().timeIntervalSince(start)
                metrics.record(route: route, status: status, seconds: seconds)
                logger.info("request", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(status)",
                                                  "ms": "\(Int(seconds * 1000))", "route": "\(route)"])
            }
            do {
                if auth, let key = options.apiKey {
                    guard request.headers[.authorization] == "Bearer \(key)" else {
                        throw APIError(401, request.headers[.authorization] == nil ? "missing API key: send Authorization: Bearer KEY" : "wrong API key",
                                       code: "invalid_api_key")
                    }
                }
                let response = try await handler(request, context)
                status = Int(response.status.code)
                return response
            } catch let e as APIError {
                status = e.status
                return json(e.body, status: .init(code: e.status))
            } catch let e where (e as? HTTPError)?.status == .contentTooLarge || e is NIOTooManyBytesError {
                status = 413
                return json(APIError(413, "the request body is larger than \(options.maxBodyBytes) bytes", code: "request_too_large").body, status: .contentTooLarge)
            } catch let e as TemplateError {
                status = 400
                return json(APIError.invalid("the chat template rejected the messages: \(e.message)", param: "messages").body, status: .badRequest)
            } catch let e as GenerationError {
                status = 400
                return json(APIError.invalid(e.description).body, status: .badRequest)
            } catch {
                status = 500
                logger.error("internal error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
                return json(APIError(500, "internal error: \(error)").body, status: .internalServerError)
            }
        }
    }

    func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: jsonData(object))))
    }

    func readJSON(_ request: Request, allowEmpty: Bool = false) async throws -> JSONBody {
        var request = request
        let buffer = try await request.collectBody(upTo: options.maxBodyBytes)
        let data = Data(buffer.readableBytesView)
        if allowEmpty && data.isEmpty { return try JSONBody(Data("{}".utf8)) }
        return try JSONBody(data)
    }

    func summaryJSON(_ s: ConversationStore.Summary) -> [String: Any] {
        ["id": s.id, "object": "conversation", "title": s.title, "system": s.system as Any? ?? NSNull(), "created_at": s.createdAt,
         "updated_at": s.updatedAt, "message_count": s.messageCount]
    }

    func checkModel(_ body: JSONBody, required: Bool) throws(APIError) {
        let name = try body.string("model")
        if required && name == nil { throw .invalid("model is required (GET /v1/models lists it)", param: "model") }
        if let name, name != host.modelID {
            throw APIError(404, "the model \(name) does not exist; this server serves \(host.modelID)", param: "model", code: "model_not_found")
        }
    }

    struct Generation {
        var maxTokens: Int
        var sampling: SamplingOptions
        var stop: [String]
        var stream: Bool
    }

    func generationOptions(_ body: JSONBody) throws -> Generation {
        let maxTokens = try body.int("max_completion_tokens", 1...options.maxTokens) ?? body.int("max_tokens", 1...options.maxTokens) ?? min(256, options.maxTokens)
        if let n = try body.int("n", 1...1_000_000), n != 1 { throw APIError.invalid("n must be 1 (LMKit returns one choice)", param: "n") }
        let sampling = SamplingOptions(temperature: try body.double("temperature", 0...2) ?? 1, topK: try body.int("top_k", 0...1_000_000) ?? 0,
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
        guard let list = body.object["messages"] as? [Any], !list.isEmpty else { throw .invalid("messages must be a non-empty list", param: "messages") }
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
            throw APIError.invalid("the prompt has \(ids.count) tokens; this server takes at most \(promptLimit), and prompt plus max_tokens (\(g.maxTokens)) must fit the \(host.contextLength)-token context",
                                   param: "messages", code: "context_length_exceeded")
        }
    }

    // MARK: Completions

    /// Runs a completion of `ids` on the model queue; streams through `onText` when given.
    func complete(_ ids: [Int], _ g: Generation, stops: [String], cancellation: ModelHost.Cancellation,
                  onText: (@Sendable (String) -> Void)? = nil) async throws -> CachedDecoder.Completion {
        let decoder = host.decoder
        let completion = try await host.run(cancellation) {
            try decoder.complete(ids, maxTokens: g.maxTokens, sampling: g.sampling, stopSequences: stops, trimEnd: true,
                                 cancelled: { cancellation.isCancelled }, onText: { onText?($0) })
        }
        metrics.tokens(prompt: ids.count, completion: completion.generated, reused: completion.reused, wasCancelled: completion.reason == "cancelled")
        return completion
    }

    static func finishReason(_ c: CachedDecoder.Completion) -> String { c.reason == "length" ? "length" : "stop" }

    static func newID(_ prefix: String) -> String { prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24) }

    /// A server-sent-events response: `produce` writes events through `send`; a client that goes
    /// away cancels the generation.
    func eventStream(_ produce: @escaping @Sendable (_ send: @escaping @Sendable ([String: Any]) -> Void, _ cancellation: ModelHost.Cancellation) async throws -> Void) -> Response {
        let cancellation = ModelHost.Cancellation()
        let (events, continuation) = AsyncStream<Data>.makeStream()
        let producer = Task {
            do {
                try await produce({ continuation.yield(Data("data: ".utf8) + jsonData($0) + Data("\n\n".utf8)) }, cancellation)
                continuation.yield(Data("data: [DONE]\n\n".utf8))
            } catch is CancellationError {
            } catch let e as APIError {
                continuation.yield(Data("data: ".utf8) + jsonData(e.body) + Data("\n\n".utf8))
            } catch {
                continuation.yield(Data("data: ".utf8) + jsonData(APIError(500, "\(error)").body) + Data("\n\n".utf8))
            }
            continuation.finish()
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: ResponseBody { writer in
            do {
                for await event in events { try await writer.write(ByteBuffer(bytes: event)) }
                try await writer.finish(nil)
            } catch {
                cancellation.cancel()        // the client went away: stop generating
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
            messages.insert(ChatMessage(role: "system", content: preamble), at: 0)    // the plain format's few-shot preamble
        }
        let g = try generationOptions(body)
        let ids = try Conversation.promptIDs(messages, template: host.template, tokenizer: host.tokenizer)
        try checkLength(ids, g)
        let stops = host.template.stopSequences + g.stop
        let id = Self.newID("chatcmpl-"), created = Int(Date().timeIntervalSince1970), model = host.modelID
        if g.stream {
            return eventStream { send, cancellation in
                @Sendable func chunk(_ delta: [String: Any], _ finish: String?) -> [String: Any] {
                    ["id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [["index": 0, "delta": delta, "finish_reason": finish as Any? ?? NSNull()]]]
                }
                send(chunk(["role": "assistant", "content": ""], nil))
                let c = try await complete(ids, g, stops: stops, cancellation: cancellation) { text in send(chunk(["content": text], nil)) }
                var last = chunk([:], Self.finishReason(c))
                last["usage"] = ["prompt_tokens": ids.count, "completion_tokens": c.generated, "total_tokens": ids.count + c.generated]
                send(last)
            }
        }
        let c = try await complete(ids, g, stops: stops, cancellation: ModelHost.Cancellation())
        return json(["id": id, "object": "chat.completion", "created": created, "model": model,
                     "choices": [["index": 0, "message": ["role": "assistant", "content": c.text], "finish_reason": Self.finishReason(c)]],
                     "usage": ["prompt_tokens": ids.count, "completion_tokens": c.generated, "total_tokens": ids.count + c.generated,
                               "prompt_tokens_details": ["cached_tokens": c.reused]]])
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
                @Sendable func chunk(_ text: String, _ finish: String?) -> [String: Any] {
                    ["id": id, "object": "text_completion", "created": created, "model": model,
                     "choices": [["index": 0, "text": text, "finish_reason": finish as Any? ?? NSNull()]]]
                }
                let c = try await complete(ids, g, stops: g.stop, cancellation: cancellation) { text in send(chunk(text, nil)) }
                send(chunk("", Self.finishReason(c)))
            }
        }
        let c = try await complete(ids, g, stops: g.stop, cancellation: ModelHost.Cancellation())
        return json(["id": id, "object": "text_completion", "created": created, "model": model,
                     "choices": [["index": 0, "text": c.text, "finish_reason": Self.finishReason(c)]],
                     "usage": ["prompt_tokens": ids.count, "completion_tokens": c.generated, "total_tokens": ids.count + c.generated]])
    }

    // MARK: Conversations

    func conversationMessage(_ request: Request, id: String) async throws -> Response {
        let body = try await readJSON(request)
        guard let content = try body.string("content"), !content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw APIError.invalid("content is required: the user's message", param: "content")
        }
        let g = try generationOptions(body)
        guard let (summary, stored) = try store.get(id) else { throw APIError(404, "no conversation \(id)", code: "conversation_not_found") }
        let history = stored.map { ChatMessage(role: $0.role, content: $0.content) } + [ChatMessage(role: "user", content: content)]
        let window = min(promptLimit + g.maxTokens, host.contextLength)
        let (ids, dropped) = try Conversation.fit(system: summary.system ?? host.template.defaultSystemPrompt, messages: history,
                                                  template: host.template, tokenizer: host.tokenizer, window: window, maxTokens: g.maxTokens)
        // The user's message is stored (and acknowledged) before generation starts.
        guard try store.append(id, role: "user", content: content) else { throw APIError(404, "no conversation \(id)", code: "conversation_not_found") }
        let stops = host.template.stopSequences + g.stop
        let store = self.store
        @Sendable func finish(_ c: CachedDecoder.Completion) throws -> [String: Any] {
            let reply = c.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if c.reason != "cancelled" { try store.append(id, role: "assistant", content: reply) }
            return ["object": "conversation.message", "conversation_id": id, "message": ["role": "assistant", "content": reply],
                    "finish_reason": Self.finishReason(c), "dropped_messages": dropped,
                    "usage": ["prompt_tokens": ids.count, "completion_tokens": c.generated, "cached_tokens": c.reused]]
        }
        if g.stream {
            return eventStream { send, cancellation in
                let c = try await complete(ids, g, stops: stops, cancellation: cancellation) { text in
                    send(["object": "conversation.message.delta", "conversation_id": id, "delta": ["content": text]])
                }
                send(try finish(c))
            }
        }
        return json(try finish(try await complete(ids, g, stops: stops, cancellation: ModelHost.Cancellation())))
    }

    // MARK: Encoders and tokenizer

    func embeddings(_ request: Request) async throws -> Response {
        let body = try await readJSON(request)
        guard let inputs = try body.strings("input"), !inputs.isEmpty else {
            throw APIError.invalid("input is required: a string or a list of strings", param: "input")
        }
        guard inputs.count <= 256 else { throw APIError.invalid("input takes at most 256 texts", param: "input") }
        let format = try body.string("encoding_format") ?? "float"
        guard ["float", "base64"].contains(format) else { throw APIError.invalid("encoding_format must be float or base64", param: "encoding_format") }
        let encoder = ModelQueueOnly(try host.sentenceEncoder())
        let name = try body.string("model") ?? "all-MiniLM-L6-v2"
        let vectors = try await host.run { try encoder.value.encode(inputs) }
        let tokens = inputs.reduce(0) { $0 + $1.split(separator: " ").count }
        return json(["object": "list", "model": name,
                     "data": vectors.enumerated().map { i, v -> [String: Any] in
                         // base64: the float32 values' little-endian bytes (what the openai client asks for by default).
                         let embedding: Any = format == "base64" ? Data(v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }).base64EncodedString() : v.map(Double.init)
                         return ["object": "embedding", "index": i, "embedding": embedding]
                     },
                     "usage": ["prompt_tokens": tokens, "total_tokens": tokens]])
    }

    func classify(_ request: Request) async throws -> Response {
        let body = try await readJSON(request)
        guard let inputs = try body.strings("input"), !inputs.isEmpty else {
            throw APIError.invalid("input is required: a string or a list of strings", param: "input")
        }
        guard inputs.count <= 256 else { throw APIError.invalid("input takes at most 256 texts", param: "input") }
        let classifier = ModelQueueOnly(try host.sentimentClassifier())
        let predictions = try await host.run { try classifier.value.classify(inputs) }
        let labels = classifier.value.labels
        return json(["object": "list", "data": predictions.enumerated().map { i, p in
            ["index": i, "label": p.label, "score": p.score, "scores": zip(labels, p.scores).map { ["label": $0, "score": $1] }] as [String: Any]
        }])
    }

    func tokenize(_ request: Request) async throws -> Response {
        let body = try await readJSON(request)
        guard let text = try body.string("content") ?? body.string("text") else { throw APIError.invalid("content is required: the text to tokenize", param: "content") }
        let special = try body.bool("add_special") ?? false
        let ids = try host.tokenizer.encode(text, options: .init(addSpecialTokens: special, specialTokens: .text)).ids
        let pieces = ids.map { host.tokenizer.token(of: $0) ?? "" }
        return json(["tokens": ids, "pieces": pieces])
    }

    func detokenize(_ request: Request) async throws -> Response {
        let body = try await readJSON(request)
        guard let list = body.object["tokens"] as? [Any] else { throw APIError.invalid("tokens is required: a list of token ids", param: "tokens") }
        let vocabulary = host.tokenizer.vocabularySize
        var ids: [Int] = []
        for (i, item) in list.enumerated() {
            guard let n = item as? NSNumber, !JSONBody.isBoolean(n), n.doubleValue == n.doubleValue.rounded(), (0..<vocabulary).contains(n.intValue) else {
                throw APIError.invalid("tokens[\(i)] is not a token id (0..<\(vocabulary))", param: "tokens[\(i)]")
            }
            ids.append(n.intValue)
        }
        return json(["content": try host.tokenizer.decode(ids, skipSpecialTokens: false)])
    }
}

/// A model object used only by jobs on the model queue, which runs one at a time.
struct ModelQueueOnly<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
