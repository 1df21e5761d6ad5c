import Foundation
import Hummingbird
import LMKitChat
import LMKitGeneration
import LMKitTokenizers
import Logging
import NIOCore

/// `lmkit serve`: an OpenAI-compatible HTTP API and a chat web page, over one model.
///
/// The handlers are split by concern: `Routes.swift` (routing, API key, error mapping, metrics and
/// logs), `Routes+Chat.swift` (completions and streaming), `Routes+Conversations.swift`,
/// `Routes+Encoders.swift` (embeddings, classification, tokenizer); the response bodies are the
/// `Encodable` types of `OpenAIResponses.swift`.
///
/// Routes: `GET /` (the page), `GET /health`, `GET /metrics` (Prometheus), `GET /v1/models`,
/// `POST /v1/chat/completions` and `/v1/completions` (with `"stream": true`: server-sent events),
/// `POST /v1/embeddings`, `POST /v1/classify`, `POST /tokenize`, `POST /detokenize`, and
/// conversations kept in SQLite: `GET|POST /v1/conversations`, `GET|DELETE /v1/conversations/{id}`,
/// `POST /v1/conversations/{id}/messages`.
public struct ServerOptions: Sendable {
    /// Address to listen on (`127.0.0.1`: this machine only; `0.0.0.0`: every interface).
    public var host = "127.0.0.1"
    /// TCP port to listen on (0: any free port).
    public var port = 8080
    /// A bearer token every `/v1/*`, `/tokenize` and `/detokenize` request must present (nil: none).
    public var apiKey: String?
    /// `Access-Control-Allow-Origin` for browsers on other origins (nil: no CORS headers; `*`: any).
    public var corsOrigin: String?
    /// Largest request body accepted, in bytes (1 MiB); a larger one is answered 413.
    public var maxBodyBytes = 1 << 20
    /// Most tokens one completion may generate: the bound of `max_tokens` (whose default is min(256, this)).
    public var maxTokens = 1024
    /// Longest prompt in tokens (also bounded by the model's context).
    public var maxPromptTokens = 4096
    /// SQLite file of the server-side conversations (`:memory:` for a throwaway one).
    public var databasePath = "lmkit-conversations.sqlite"
    /// The defaults: `127.0.0.1:8080`, no API key, no CORS, 1 MiB bodies, 1024 tokens per completion.
    public init() {}
}

/// The server's entry points: its router, and running it.
public enum LMKitServer {
    /// Serves until SIGINT/SIGTERM. `onRunning` receives the bound port (0 asks for any free port).
    public static func run(
        host model: ModelHost, options: ServerOptions, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let router = try router(host: model, options: options, logger: logger)
        let app = Application(
            router: router, configuration: .init(address: .hostname(options.host, port: options.port), serverName: "lmkit"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? options.port) }, logger: logger)
        try await app.runService()
    }

    /// Every route, with CORS when `options` asks for it; conversations are kept in
    /// `options.databasePath`. In-process tests drive it through Hummingbird's testing client.
    public static func router(host model: ModelHost, options: ServerOptions, logger: Logger) throws -> Router<BasicRequestContext> {
        let store = try ConversationStore(path: options.databasePath)
        let routes = Routes(host: model, store: store, options: options, metrics: ServerMetrics(), logger: logger)
        let router = Router()
        if let origin = options.corsOrigin {
            router.add(
                middleware: CORSMiddleware(
                    allowOrigin: origin == "*" ? .all : .custom(origin),
                    allowHeaders: [.accept, .authorization, .contentType, .origin],
                    allowMethods: [.get, .post, .delete, .options]))
        }
        routes.register(on: router)
        return router
    }
}
