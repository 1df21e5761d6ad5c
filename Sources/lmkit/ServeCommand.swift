import ArgumentParser
import Foundation
import LMKitAssets
import LMKitChat
import LMKitEncoders
import LMKitModels
import LMKitServer
import LMKitTensor
import LMKitTokenizers
import Logging

/// `lmkit serve`: the OpenAI-compatible server and the chat page.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over an OpenAI-compatible HTTP API, with a chat web page at /.",
        discussion: """
            Routes: GET / (chat page), GET /health, GET /metrics (Prometheus), GET /v1/models,
            POST /v1/chat/completions and /v1/completions ("stream": true sends server-sent events),
            POST /v1/embeddings (sentence embeddings: the MiniLM asset or --embeddings),
            POST /v1/classify (sentiment: the classifier `lmkit classify` fine-tunes, or --classifier),
            POST /tokenize {"content"} → {"tokens", "pieces"}, POST /detokenize {"tokens"} → {"content"},
            conversations kept in SQLite (--database): GET|POST /v1/conversations,
            GET|DELETE /v1/conversations/ID, POST /v1/conversations/ID/messages {"content", "stream", …}.

            Errors have OpenAI's shape {"error": {"message", "type", "param", "code"}}: 400 for malformed
            JSON, wrong types, max_tokens outside 1…--max-tokens or a prompt over the context, 401 for a
            missing or wrong key (--api-key, or LMKIT_API_KEY), 404 for an unknown model or conversation,
            413 for a body over --max-body-bytes, 503 when --max-queue requests are waiting. Requests
            run one at a time on the model in arrival order; a client that disconnects stops its
            generation. Logs go to standard error, one line per request.
            """
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port, printed at start).") var port = 8080
    @Option(help: "`gemma`, a GGUF file or a model folder.") var model = "gemma"
    @Option(help: "Name the API gives the model (default: from the file).") var modelName: String?
    @Option(help: "Chat format: a built-in family or a .jinja file (default: the model's own, or a built-in).") var template: String?
    @Option(help: "Sentence-transformers folder for /v1/embeddings (default: the MiniLM asset).") var embeddings: String?
    @Option(help: "Classifier folder for /v1/classify (default: the one `lmkit classify` fine-tunes).") var classifier: String?
    @Option(help: "SQLite file for conversations.") var database = "lmkit-conversations.sqlite"
    @Option(help: "Bearer token clients must send (default: LMKIT_API_KEY, else none).") var apiKey: String?
    @Option(help: "Allowed browser origin for CORS (`*` for any).") var corsOrigin: String?
    @Option(help: "Largest request body in bytes.") var maxBodyBytes = 1 << 20
    @Option(help: "Largest max_tokens a request may ask for.") var maxTokens = 1024
    @Option(help: "Longest prompt in tokens.") var maxPromptTokens = 4096
    @Option(help: "Most requests waiting for the model.") var maxQueue = 64
    @Option(help: "Activations in products with quantized weights: int8 or float32.") var activations: QuantizedMatrix.Activations = .int8
    @Option(help: "A LoRA adapter folder (adapter_config.json + adapter_model.safetensors, as peft saves) to put on the model.")
    var adapter: String?
    @Option(help: "Log level: debug, info, warning, error.") var logLevel = "info"

    func run() async throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard maxBodyBytes >= 1024, maxTokens >= 1, maxPromptTokens >= 16, maxQueue >= 1 else {
            throw ValidationError("--max-body-bytes ≥ 1024, --max-tokens ≥ 1, --max-prompt-tokens ≥ 16 and --max-queue ≥ 1")
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        let store = AssetStore()
        let loaded = try ModelLoader.withTemplate(try ModelLoader.load(model, activations: activations, adapter: adapter), template)
        let (lm, tokenizer, chatTemplate, name) = (loaded.model, loaded.tokenizer, loaded.template, loaded.name)
        let encoder = embeddings ?? (store.isPresent(.minilm) ? store.folder(.minilm) : nil)
        let modelHost = ModelHost(
            modelID: modelName ?? name, model: lm, tokenizer: tokenizer, template: chatTemplate,
            encoderFolder: encoder, classifierFolder: classifier ?? DefaultSentimentClassifier.folder(store: store), maxQueue: maxQueue)
        var options = ServerOptions()
        options.host = host
        options.port = port
        options.apiKey = apiKey ?? ProcessInfo.processInfo.environment["LMKIT_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        options.corsOrigin = corsOrigin
        options.maxBodyBytes = maxBodyBytes
        options.maxTokens = maxTokens
        options.maxPromptTokens = maxPromptTokens
        options.databasePath = database
        var logger = Logger(label: "lmkit.serve")
        logger.logLevel = level
        let address = self.host
        let template = chatTemplate.origin
        let keyNote = options.apiKey == nil ? "no API key" : "API key required"
        let modelID = modelHost.modelID
        try await LMKitServer.run(host: modelHost, options: options, logger: logger) { bound in
            printError(
                "lmkit serve: \(modelID) (chat format: \(template)) on http://\(address):\(bound)/ — \(keyNote); conversations in \(database)"
            )
        }
    }
}
