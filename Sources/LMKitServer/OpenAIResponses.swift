import Foundation
import LMKitGeneration

// The response bodies, as OpenAI's API reference writes them (snake_case keys, `null` where the
// schema has a nullable field), and LMKit's own endpoints in the same style.

/// Why a choice stopped: OpenAI's `finish_reason`.
enum FinishReason: String, Encodable, Sendable {
    /// The model's end token or a stop sequence.
    case stop
    /// `max_tokens` (or the context) ran out.
    case length

    init(_ completion: CachedDecoder.Completion) { self = completion.reason == "length" ? .length : .stop }
}

/// Token counts of a request.
struct Usage: Encodable, Sendable {
    struct PromptDetails: Encodable, Sendable {
        /// Prompt tokens whose keys and values came from the KV cache.
        let cachedTokens: Int
        enum CodingKeys: String, CodingKey { case cachedTokens = "cached_tokens" }
    }

    let promptTokens: Int
    let completionTokens: Int
    let totalTokens: Int
    var promptTokensDetails: PromptDetails?

    init(prompt: Int, completion: Int, cached: Int? = nil) {
        (promptTokens, completionTokens, totalTokens) = (prompt, completion, prompt + completion)
        promptTokensDetails = cached.map { PromptDetails(cachedTokens: $0) }
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
        case promptTokensDetails = "prompt_tokens_details"
    }
}

/// A chat message in a response.
struct ResponseMessage: Encodable, Sendable {
    var role = "assistant"
    let content: String
}

/// `chat.completion`.
struct ChatCompletion: Encodable, Sendable {
    struct Choice: Encodable, Sendable {
        var index = 0
        let message: ResponseMessage
        let finishReason: FinishReason
        enum CodingKeys: String, CodingKey { case index, message, finishReason = "finish_reason" }
    }

    let id: String
    var object = "chat.completion"
    let created: Int
    let model: String
    let choices: [Choice]
    let usage: Usage
}

/// `chat.completion.chunk`, one server-sent event of a streamed chat completion.
struct ChatCompletionChunk: Encodable, Sendable {
    struct Delta: Encodable, Sendable {
        var role: String?
        var content: String?
    }

    struct Choice: Encodable, Sendable {
        var index = 0
        let delta: Delta
        /// null until the last chunk.
        @Nullable var finishReason: FinishReason?
        enum CodingKeys: String, CodingKey { case index, delta, finishReason = "finish_reason" }
    }

    let id: String
    var object = "chat.completion.chunk"
    let created: Int
    let model: String
    let choices: [Choice]
    var usage: Usage?
}

/// `text_completion`, whole or as one streamed event.
struct TextCompletion: Encodable, Sendable {
    struct Choice: Encodable, Sendable {
        var index = 0
        let text: String
        /// null in the streamed events before the last.
        @Nullable var finishReason: FinishReason?
        enum CodingKeys: String, CodingKey { case index, text, finishReason = "finish_reason" }
    }

    let id: String
    var object = "text_completion"
    let created: Int
    let model: String
    let choices: [Choice]
    var usage: Usage?
}

/// `GET /v1/models`.
struct ModelList: Encodable, Sendable {
    struct Model: Encodable, Sendable {
        let id: String
        var object = "model"
        let created: Int
        var ownedBy = "lmkit"
        enum CodingKeys: String, CodingKey { case id, object, created, ownedBy = "owned_by" }
    }

    var object = "list"
    let data: [Model]
}

/// `GET /health`.
struct Health: Encodable, Sendable {
    var status = "ok"
    let model: String
    let queued: Int
}

/// `POST /v1/embeddings`.
struct EmbeddingList: Encodable, Sendable {
    /// A vector as numbers, or as base64 of its little-endian float32 bytes (what the openai client asks for).
    enum Vector: Encodable, Sendable {
        case float([Float])
        case base64([Float])
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .float(let v): try c.encode(v.map(Double.init))
            case .base64(let v):
                try c.encode(Data(v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }).base64EncodedString())
            }
        }
    }

    struct Embedding: Encodable, Sendable {
        var object = "embedding"
        let index: Int
        let embedding: Vector
    }

    struct Tokens: Encodable, Sendable {
        let promptTokens: Int
        let totalTokens: Int
        enum CodingKeys: String, CodingKey { case promptTokens = "prompt_tokens", totalTokens = "total_tokens" }
    }

    var object = "list"
    let model: String
    let data: [Embedding]
    let usage: Tokens
}

/// `POST /v1/classify`.
struct ClassificationList: Encodable, Sendable {
    struct Score: Encodable, Sendable {
        let label: String
        let score: Double
    }

    struct Classification: Encodable, Sendable {
        let index: Int
        let label: String
        let score: Double
        let scores: [Score]
    }

    var object = "list"
    let data: [Classification]
}

/// `POST /tokenize`.
struct Tokenized: Encodable, Sendable {
    let tokens: [Int]
    let pieces: [String]
}

/// `POST /detokenize`.
struct Detokenized: Encodable, Sendable {
    let content: String
}

/// A stored conversation, with its messages when one is asked for.
struct ConversationObject: Encodable, Sendable {
    struct Message: Encodable, Sendable {
        let role: String
        let content: String
        let createdAt: Double
        enum CodingKeys: String, CodingKey { case role, content, createdAt = "created_at" }
    }

    let id: String
    var object = "conversation"
    let title: String
    @Nullable var system: String?
    let createdAt: Double
    let updatedAt: Double
    let messageCount: Int
    var messages: [Message]?

    init(_ s: ConversationStore.Summary, messages: [ConversationStore.Message]? = nil) {
        (id, title, system, createdAt, updatedAt, messageCount) = (s.id, s.title, s.system, s.createdAt, s.updatedAt, s.messageCount)
        self.messages = messages?.map { Message(role: $0.role, content: $0.content, createdAt: $0.createdAt) }
    }

    enum CodingKeys: String, CodingKey {
        case id, object, title, system, createdAt = "created_at", updatedAt = "updated_at", messageCount = "message_count", messages
    }
}

/// `GET /v1/conversations`.
struct ConversationList: Encodable, Sendable {
    var object = "list"
    let data: [ConversationObject]
}

/// `DELETE /v1/conversations/{id}`.
struct ConversationDeleted: Encodable, Sendable {
    let id: String
    var object = "conversation.deleted"
    var deleted = true
}

/// `POST /v1/conversations/{id}/messages`: the reply, whole or as the last streamed event.
struct ConversationReply: Encodable, Sendable {
    struct Tokens: Encodable, Sendable {
        let promptTokens: Int
        let completionTokens: Int
        let cachedTokens: Int
        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", cachedTokens = "cached_tokens"
        }
    }

    var object = "conversation.message"
    let conversationID: String
    let message: ResponseMessage
    let finishReason: FinishReason
    /// How many of the oldest messages did not fit the window.
    let droppedMessages: Int
    let usage: Tokens

    enum CodingKeys: String, CodingKey {
        case object, conversationID = "conversation_id", message, finishReason = "finish_reason", droppedMessages = "dropped_messages",
            usage
    }
}

/// A streamed piece of a conversation's reply.
struct ConversationDelta: Encodable, Sendable {
    struct Delta: Encodable, Sendable { let content: String }
    var object = "conversation.message.delta"
    let conversationID: String
    let delta: Delta
    enum CodingKeys: String, CodingKey { case object, conversationID = "conversation_id", delta }
}

/// OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`.
struct ErrorBody: Encodable, Sendable {
    struct Detail: Encodable, Sendable {
        let message: String
        let type: String
        @Nullable var param: String?
        @Nullable var code: String?
        enum CodingKeys: String, CodingKey { case message, type, param, code }
    }

    let error: Detail

    init(_ e: APIError) { error = Detail(message: e.message, type: e.type, param: e.param, code: e.code) }
}

/// A field written as `null` when it has no value, where OpenAI's schema has a nullable field (a plain
/// optional would be left out of the JSON).
@propertyWrapper
struct Nullable<Value: Encodable & Sendable>: Encodable, Sendable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if let wrappedValue { try c.encode(wrappedValue) } else { try c.encodeNil() }
    }
}

/// A response body as JSON: keys sorted, slashes unescaped.
func jsonData(_ value: some Encodable) -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // Every value here encodes (numbers are finite by construction); an error would be a bug.
    return (try? encoder.encode(value)) ?? Data("{}".utf8)
}
