import Foundation
import Hummingbird
import LMKitChat
import LMKitGeneration
import Logging
import NIOCore

/// The handlers, with the shared checks: body size, JSON, API key, OpenAI error bodies, metrics, logs.
struct Routes: Sendable {
    let host: ModelHost
    let store: ConversationStore
    let options: ServerOptions
    let metrics: ServerMetrics
    let logger: Logger

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    func register(on router: Router<BasicRequestContext>) {
        router.get(
            "/",
            use: wrap("page", auth: false) { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: WebPage.html)))
            })
        router.get("/health", use: wrap("health", auth: false) { _, _ in json(Health(model: host.modelID, queued: host.queued)) })
        router.get(
            "/metrics",
            use: wrap("metrics", auth: false) { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                    body: .init(byteBuffer: ByteBuffer(string: metrics.text(queued: host.queued))))
            })
        router.get(
            "/v1/models",
            use: wrap("models") { _, _ in
                json(ModelList(data: [.init(id: host.modelID, created: host.created)]))
            })
        router.post("/v1/chat/completions", use: wrap("chat") { request, _ in try await chatCompletions(request) })
        router.post("/v1/completions", use: wrap("completions") { request, _ in try await completions(request) })
        router.post("/v1/embeddings", use: wrap("embeddings") { request, _ in try await embeddings(request) })
        router.post("/v1/classify", use: wrap("classify") { request, _ in try await classify(request) })
        router.post("/tokenize", use: wrap("tokenize") { request, _ in try await tokenize(request) })
        router.post("/detokenize", use: wrap("detokenize") { request, _ in try await detokenize(request) })
        registerConversations(on: router)
    }

    // MARK: Shared handling

    func wrap(_ route: String, auth: Bool = true, _ handler: @escaping Handler) -> Handler {
        { request, context in
            let start = Date()
            var status = 200
            defer {
                let seconds = Date().timeIntervalSince(start)
                metrics.record(route: route, status: status, seconds: seconds)
                logger.info(
                    "request",
                    metadata: [
                        "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(status)",
                        "ms": "\(Int(seconds * 1000))", "route": "\(route)",
                    ])
            }
            do {
                if auth, let key = options.apiKey {
                    guard request.headers[.authorization] == "Bearer \(key)" else {
                        throw APIError(
                            401,
                            request.headers[.authorization] == nil ? "missing API key: send Authorization: Bearer KEY" : "wrong API key",
                            code: "invalid_api_key")
                    }
                }
                let response = try await handler(request, context)
                status = Int(response.status.code)
                return response
            } catch let e as APIError {
                status = e.status
                return json(ErrorBody(e), status: .init(code: e.status))
            } catch let e where (e as? HTTPError)?.status == .contentTooLarge || e is NIOTooManyBytesError {
                status = 413
                return json(
                    ErrorBody(APIError(413, "the request body is larger than \(options.maxBodyBytes) bytes", code: "request_too_large")),
                    status: .contentTooLarge)
            } catch let e as TemplateError {
                status = 400
                return json(
                    ErrorBody(.invalid("the chat template rejected the messages: \(e.message)", param: "messages")), status: .badRequest)
            } catch let e as GenerationError {
                status = 400
                return json(ErrorBody(.invalid(e.description)), status: .badRequest)
            } catch {
                status = 500
                logger.error("internal error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
                return json(ErrorBody(APIError(500, "internal error: \(error)")), status: .internalServerError)
            }
        }
    }

    func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: jsonData(value))))
    }

    func readJSON(_ request: Request, allowEmpty: Bool = false) async throws -> JSONBody {
        var request = request
        let buffer = try await request.collectBody(upTo: options.maxBodyBytes)
        let data = Data(buffer.readableBytesView)
        if allowEmpty && data.isEmpty { return try JSONBody(Data("{}".utf8)) }
        return try JSONBody(data)
    }

    func checkModel(_ body: JSONBody, required: Bool) throws(APIError) {
        let name = try body.string("model")
        if required && name == nil { throw .invalid("model is required (GET /v1/models lists it)", param: "model") }
        if let name, name != host.modelID {
            throw APIError(
                404, "the model \(name) does not exist; this server serves \(host.modelID)", param: "model", code: "model_not_found")
        }
    }
}
