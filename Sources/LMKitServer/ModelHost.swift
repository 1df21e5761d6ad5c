import Foundation
import LMKitChat
import LMKitEncoders
import LMKitGeneration
import LMKitModels
import LMKitTensor
import LMKitTokenizers
import Synchronization

/// The models the server answers with, and the one queue all model work goes through.
///
/// The decoder computes one request at a time on its own thread (its kernels use every core), in
/// arrival order: a fair FIFO queue. A request waiting in the queue or generating can be cancelled
/// (its client went away) and is then skipped or stopped at the next token. The queue holds at most
/// `maxQueue` requests; more are refused with 503 so that waiting time stays bounded.
public final class ModelHost: @unchecked Sendable {
    /// The model's name in `/v1/models` and in every response's `model` field.
    public let modelID: String
    /// The decoder with its KV cache, shared by every request (used only on the model queue).
    public let decoder: CachedDecoder
    /// The decoder's tokenizer (also what `/tokenize` and `/detokenize` use).
    public let tokenizer: Tokenizer
    /// Renders chat messages into the prompt; its `eos_token` also stops generation.
    public let template: ChatTemplate
    /// The model's context length in tokens: a prompt plus `max_tokens` must fit in it.
    public let contextLength: Int
    let created = Int(Date().timeIntervalSince1970)
    let encoderFolder: String?
    let classifierFolder: String?
    private let queue = DispatchQueue(label: "lmkit.inference")
    private let waiting = Atomic<Int>(0)
    let maxQueue: Int
    private let lock = NSLock()
    private var encoder: SentenceEncoder?
    private var classifier: TextClassifier?

    /// A host for `model`; the encoder and classifier in those folders load on first use, and `maxQueue` bounds the queue.
    public init(
        modelID: String, model: any CausalLanguageModel, tokenizer: Tokenizer, template: ChatTemplate,
        encoderFolder: String?, classifierFolder: String?, maxQueue: Int = 64
    ) {
        self.modelID = modelID
        self.tokenizer = tokenizer
        self.template = template
        decoder = CachedDecoder(model: model, tokenizer: tokenizer, moreStopTokens: [template.eosToken].compactMap { $0 })
        contextLength = model.contextLength
        self.encoderFolder = encoderFolder
        self.classifierFolder = classifierFolder
        self.maxQueue = maxQueue
    }

    /// Requests queued or running.
    public var queued: Int { waiting.load(ordering: .relaxed) }

    /// A flag a job checks to stop early.
    public final class Cancellation: @unchecked Sendable {
        private let flag = Atomic<Bool>(false)
        /// A flag not yet set.
        public init() {}
        /// Asks the job to stop: a queued one is skipped, a running one stops at its next check.
        public func cancel() { flag.store(true, ordering: .relaxed) }
        /// Whether ``cancel()`` has been called.
        public var isCancelled: Bool { flag.load(ordering: .relaxed) }
    }

    /// Runs `job` on the model thread after the requests queued before it.
    func run<T: Sendable>(_ cancellation: Cancellation? = nil, _ job: @escaping @Sendable () throws -> T) async throws -> T {
        guard waiting.add(1, ordering: .relaxed).newValue <= maxQueue else {
            waiting.subtract(1, ordering: .relaxed)
            throw APIError(
                503, "the server is busy: \(maxQueue) requests are already queued; retry later", type: "server_error", code: "queue_full")
        }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                defer { self.waiting.subtract(1, ordering: .relaxed) }
                if cancellation?.isCancelled == true {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                continuation.resume(with: Result { try job() })
            }
        }
    }

    /// The sentence encoder for `/v1/embeddings`, loaded on first use.
    func sentenceEncoder() throws -> SentenceEncoder {
        lock.lock()
        defer { lock.unlock() }
        if let encoder { return encoder }
        guard let encoderFolder else {
            throw APIError(
                503, "no embedding model: start the server with --embeddings FOLDER (the MiniLM asset is used when present)",
                code: "model_not_loaded")
        }
        let loaded = try SentenceEncoder(folder: encoderFolder)
        encoder = loaded
        return loaded
    }

    /// The sentiment classifier for `/v1/classify`, loaded on first use.
    func sentimentClassifier() throws -> TextClassifier {
        lock.lock()
        defer { lock.unlock() }
        if let classifier { return classifier }
        guard let classifierFolder, FileManager.default.fileExists(atPath: classifierFolder + "/config.json") else {
            throw APIError(
                503,
                "no sentiment classifier: run `lmkit classify \"some text\"` once to fine-tune the default one, or start the server with --classifier FOLDER",
                code: "model_not_loaded")
        }
        let loaded = try TextClassifier(folder: classifierFolder)
        classifier = loaded
        return loaded
    }
}
