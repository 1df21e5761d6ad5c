import Foundation
import Hummingbird
import LMKitChat
import LMKitGeneration

/// Conversations kept in SQLite: `GET|POST /v1/conversations`, `GET|DELETE /v1/conversations/{id}`,
/// `POST /v1/conversations/{id}/messages` (the reply remembers the stored history).
extension Routes {
    func registerConversations(on router: Router<BasicRequestContext>) {
        router.get(
            "/v1/conversations",
            use: wrap("conversations") { _, _ in
                json(ConversationList(data: try store.list().map { ConversationObject($0) }))
            })
        router.post(
            "/v1/conversations",
            use: wrap("conversations") { request, _ in
                let body = try await readJSON(request, allowEmpty: true)
                let summary = try store.create(title: try body.string("title") ?? "", system: try body.string("system"))
                return json(ConversationObject(summary), status: .created)
            })
        router.get(
            "/v1/conversations/:id",
            use: wrap("conversation") { _, context in
                let id = context.parameters.get("id") ?? ""
                guard let (summary, messages) = try store.get(id) else {
                    throw APIError(404, "no conversation \(id)", code: "conversation_not_found")
                }
                return json(ConversationObject(summary, messages: messages))
            })
        router.delete(
            "/v1/conversations/:id",
            use: wrap("conversation") { _, context in
                let id = context.parameters.get("id") ?? ""
                guard try store.delete(id) else { throw APIError(404, "no conversation \(id)", code: "conversation_not_found") }
                return json(ConversationDeleted(id: id))
            })
        router.post(
            "/v1/conversations/:id/messages",
            use: wrap("conversation_message") { request, context in
                try await conversationMessage(request, id: context.parameters.get("id") ?? "")
            })
    }

    func conversationMessage(_ request: Request, id: String) async throws -> Response {
        let body = try await readJSON(request)
        guard let content = try body.string("content"), !content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw APIError.invalid("content is required: the user's message", param: "content")
        }
        let g = try generationOptions(body)
        guard let (summary, stored) = try store.get(id) else {
            throw APIError(404, "no conversation \(id)", code: "conversation_not_found")
        }
        let history = stored.map { ChatMessage(role: $0.role, content: $0.content) } + [ChatMessage(role: "user", content: content)]
        let window = min(promptLimit + g.maxTokens, host.contextLength)
        let (ids, dropped) = try Conversation.fit(
            system: summary.system ?? host.template.defaultSystemPrompt, messages: history,
            template: host.template, tokenizer: host.tokenizer, window: window, maxTokens: g.maxTokens)
        // The user's message is stored (and acknowledged) before generation starts.
        guard try store.append(id, role: "user", content: content) else {
            throw APIError(404, "no conversation \(id)", code: "conversation_not_found")
        }
        let stops = host.template.stopSequences + g.stop
        let store = self.store
        @Sendable func finish(_ c: CachedDecoder.Completion) throws -> ConversationReply {
            let reply = c.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if c.reason != "cancelled" { try store.append(id, role: "assistant", content: reply) }
            return ConversationReply(
                conversationID: id, message: ResponseMessage(content: reply), finishReason: FinishReason(c), droppedMessages: dropped,
                usage: .init(promptTokens: ids.count, completionTokens: c.generated, cachedTokens: c.reused))
        }
        if g.stream {
            return eventStream { send, cancellation in
                let c = try await complete(ids, g, stops: stops, cancellation: cancellation) { text in
                    send(ConversationDelta(conversationID: id, delta: .init(content: text)))
                }
                send(try finish(c))
            }
        }
        return json(try finish(try await complete(ids, g, stops: stops, cancellation: ModelHost.Cancellation())))
    }
}
