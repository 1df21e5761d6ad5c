import Foundation
import Hummingbird
import HummingbirdTesting
import LMKitChat
import LMKitModels
import LMKitServer
import LMKitTokenizers
import Logging
import Testing
import TestSupport

/// The server's routes in process (Hummingbird's testing client, no socket) on a tiny random Llama
/// with a 400-token fixture tokenizer: OpenAI's response shapes, streaming, errors, the API key,
/// conversations. What needs a real process (restart, SIGKILL, a browser, the official openai
/// client) is in `LMKitCommandTests/ServeTests` and `benchmarks/server`.
@Suite struct RouterTests {
    static let host: ModelHost? = try? {
        let tokenizer = try Tokenizer(tokenizerJSON: fixturePath("tokenizers/llama3-style/tokenizer.json"))
        var c = LlamaConfig()
        c.vocabSize = tokenizer.vocabSize; c.width = 16; c.layers = 2; c.heads = 4; c.kvHeads = 2; c.headSize = 4
        c.intermediateSize = 32; c.contextLength = 256
        let model = try LlamaForCausalLM(c, seed: 7)
        model.eval()
        let template = try ChatTemplate.builtIn("llama3", bosToken: "<|begin_of_text|>", eosToken: "<|end_of_text|>")
        return ModelHost(
            modelID: "tiny-llama", model: model, tokenizer: tokenizer, template: template, encoderFolder: nil, classifierFolder: nil)
    }()

    /// Runs `body` against a fresh router (its own conversation database).
    func withClient(apiKey: String? = nil, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let host = try #require(Self.host)
        let folder = TemporaryFolder(prefix: "lmkit-router")
        var options = ServerOptions()
        options.databasePath = folder.path + "/conversations.sqlite"
        options.apiKey = apiKey
        options.maxTokens = 16
        let router = try LMKitServer.router(host: host, options: options, logger: Logger(label: "router-tests"))
        try await Application(router: router).test(.router) { client in try await body(client) }
        withExtendedLifetime(folder) {}
    }

    static func post(_ client: any TestClientProtocol, _ uri: String, _ json: String, headers: HTTPFields = [:]) async throws -> (
        Int, String
    ) {
        try await client.execute(
            uri: uri, method: .post, headers: headers.isEmpty ? [.contentType: "application/json"] : headers,
            body: ByteBuffer(string: json)
        ) { (Int($0.status.code), String(buffer: $0.body)) }
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    @Test func modelsAndHealth() async throws {
        try await withClient { client in
            let models = try await client.execute(uri: "/v1/models", method: .get) { try Self.object(String(buffer: $0.body)) }
            let data = try #require(models["data"] as? [[String: Any]])
            #expect(models["object"] as? String == "list" && data.count == 1)
            #expect(
                data[0]["id"] as? String == "tiny-llama" && data[0]["object"] as? String == "model"
                    && data[0]["owned_by"] as? String == "lmkit")
            let health = try await client.execute(uri: "/health", method: .get) { try Self.object(String(buffer: $0.body)) }
            #expect(health["status"] as? String == "ok" && health["model"] as? String == "tiny-llama" && health["queued"] is Int)
        }
    }

    @Test func chatCompletionHasOpenAIsShapeAndGreedyIsRepeatable() async throws {
        try await withClient { client in
            let request =
                #"{"model": "tiny-llama", "messages": [{"role": "user", "content": "Hello there"}], "max_tokens": 6, "temperature": 0}"#
            let (status, text) = try await Self.post(client, "/v1/chat/completions", request)
            #expect(status == 200, "\(text)")
            let body = try Self.object(text)
            #expect(body["object"] as? String == "chat.completion" && (body["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            let choice = try #require((body["choices"] as? [[String: Any]])?.first)
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(["stop", "length"].contains(choice["finish_reason"] as? String ?? ""))
            let usage = try #require(body["usage"] as? [String: Any])
            let prompt = try #require(usage["prompt_tokens"] as? Int), completion = try #require(usage["completion_tokens"] as? Int)
            #expect(usage["total_tokens"] as? Int == prompt + completion && completion <= 6 && prompt > 0)
            let (_, again) = try await Self.post(client, "/v1/chat/completions", request)
            let second = try Self.object(again)
            let cached = try #require((second["usage"] as? [String: Any])?["prompt_tokens_details"] as? [String: Any])
            #expect((cached["cached_tokens"] as? Int ?? 0) > 0, "the second request reuses the first one's KV cache")
            let secondText = ((second["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
            #expect(secondText == message["content"] as? String)
        }
    }

    @Test func streamedChatIsServerSentEventsEndingInDone() async throws {
        try await withClient { client in
            let request =
                #"{"model": "tiny-llama", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, "temperature": 0, "stream": true}"#
            let (status, text) = try await Self.post(client, "/v1/chat/completions", request)
            #expect(status == 200)
            let events = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.allSatisfy { $0.hasPrefix("data: ") } && events.last == "data: [DONE]", "\(events)")
            let chunks = try events.dropLast().map { try Self.object(String($0.dropFirst(6))) }
            let choices = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first }
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" } && choices.count == chunks.count)
            #expect((choices.first?["delta"] as? [String: Any])?["role"] as? String == "assistant")
            // finish_reason is present and null until the last chunk, which carries it and the usage.
            #expect(choices.dropLast().allSatisfy { $0["finish_reason"] is NSNull })
            #expect(["stop", "length"].contains(choices.last?["finish_reason"] as? String ?? ""))
            #expect(chunks.last?["usage"] is [String: Any])
        }
    }

    @Test func badRequestsGetOpenAIErrorBodiesNamingTheField() async throws {
        try await withClient(apiKey: "secret") { client in
            let auth: HTTPFields = [.contentType: "application/json", .authorization: "Bearer secret"]
            let cases: [(String, String, Int, String?)] = [
                (#"{"model": "tiny-llama"}"#, "messages", 400, nil),
                (#"{"model": "other", "messages": [{"role": "user", "content": "x"}]}"#, "model", 404, "model_not_found"),
                (#"{"model": "tiny-llama", "messages": [{"role": "user", "content": "x"}], "temperature": 3}"#, "temperature", 400, nil),
                (#"{"model": "tiny-llama", "messages": [{"role": "robot", "content": "x"}]}"#, "messages[0].role", 400, nil),
                (#"{"model": "tiny-llama", "messages": "#, "", 400, nil),
            ]
            for (body, param, status, code) in cases {
                let (s, text) = try await Self.post(client, "/v1/chat/completions", body, headers: auth)
                #expect(s == status, "\(body): \(text)")
                let parsed = try Self.object(text)
                let error = try #require(parsed["error"] as? [String: Any])
                #expect(error["message"] is String && error["type"] is String)
                if !param.isEmpty { #expect(error["param"] as? String == param, "\(text)") }
                #expect(code == nil ? error["code"] is NSNull : error["code"] as? String == code, "\(text)")
            }
            let (s, text) = try await Self.post(client, "/v1/chat/completions", #"{"model": "tiny-llama", "messages": []}"#)
            #expect(s == 401 && text.contains("invalid_api_key"))
        }
    }

    @Test func completionsTokenizerAndEmbeddingsWithoutAnEncoder() async throws {
        try await withClient { client in
            let (status, text) = try await Self.post(
                client, "/v1/completions", #"{"model": "tiny-llama", "prompt": "Once", "max_tokens": 3, "temperature": 0}"#)
            let body = try Self.object(text)
            #expect(status == 200 && body["object"] as? String == "text_completion")
            #expect(((body["choices"] as? [[String: Any]])?.first?["text"]) is String)
            let (_, tokens) = try await Self.post(client, "/tokenize", #"{"content": "hello world"}"#)
            let tokenized = try Self.object(tokens)
            let ids = try #require(tokenized["tokens"] as? [Int])
            let (_, back) = try await Self.post(client, "/detokenize", "{\"tokens\": \(ids)}")
            let detokenized = try Self.object(back)
            #expect(detokenized["content"] as? String == "hello world")
            let (embeddingStatus, embedding) = try await Self.post(client, "/v1/embeddings", #"{"input": "x"}"#)
            #expect(embeddingStatus == 503 && embedding.contains("model_not_loaded"))
        }
    }

    @Test func conversationsRememberTheirMessages() async throws {
        try await withClient { client in
            let (created, text) = try await Self.post(client, "/v1/conversations", #"{"title": "t", "system": "Be brief."}"#)
            let conversation = try Self.object(text)
            let id = try #require(conversation["id"] as? String)
            #expect(created == 201 && conversation["message_count"] as? Int == 0 && conversation["system"] as? String == "Be brief.")
            let (status, reply) = try await Self.post(
                client, "/v1/conversations/\(id)/messages", #"{"content": "Hi", "max_tokens": 3, "temperature": 0}"#)
            let replyBody = try Self.object(reply)
            #expect(status == 200 && replyBody["object"] as? String == "conversation.message")
            let stored = try await client.execute(uri: "/v1/conversations/\(id)", method: .get) { try Self.object(String(buffer: $0.body)) }
            let messages = try #require(stored["messages"] as? [[String: Any]])
            #expect(messages.map { $0["role"] as? String } == ["user", "assistant"] && messages[0]["content"] as? String == "Hi")
            let deleted = try await client.execute(uri: "/v1/conversations/\(id)", method: .delete) { Int($0.status.code) }
            let gone = try await client.execute(uri: "/v1/conversations/\(id)", method: .get) { Int($0.status.code) }
            #expect(deleted == 200 && gone == 404)
        }
    }
}
