import Foundation
import Hummingbird
import LMKitTokenizers

/// `POST /v1/embeddings` (the sentence encoder), `POST /v1/classify` (the sentiment classifier),
/// `POST /tokenize` and `POST /detokenize` (the decoder's tokenizer).
extension Routes {
    func embeddings(_ request: Request) async throws -> Response {
        let body = try await readJSON(request)
        guard let inputs = try body.strings("input"), !inputs.isEmpty else {
            throw APIError.invalid("input is required: a string or a list of strings", param: "input")
        }
        guard inputs.count <= 256 else { throw APIError.invalid("input takes at most 256 texts", param: "input") }
        let format = try body.string("encoding_format") ?? "float"
        guard ["float", "base64"].contains(format) else {
            throw APIError.invalid("encoding_format must be float or base64", param: "encoding_format")
        }
        let encoder = ModelQueueOnly(try host.sentenceEncoder())
        let name = try body.string("model") ?? "all-MiniLM-L6-v2"
        let vectors = try await host.run { try encoder.value.encode(inputs) }
        let tokens = inputs.reduce(0) { $0 + $1.split(separator: " ").count }
        return json(
            EmbeddingList(
                model: name,
                data: vectors.enumerated().map { i, v in
                    .init(index: i, embedding: format == "base64" ? .base64(v) : .float(v))
                }, usage: .init(promptTokens: tokens, totalTokens: tokens)))
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
        return json(
            ClassificationList(
                data: predictions.enumerated().map { i, p in
                    .init(index: i, label: p.label, score: p.score, scores: zip(labels, p.scores).map { .init(label: $0, score: $1) })
                }))
    }

    func tokenize(_ request: Request) async throws -> Response {
        let body = try await readJSON(request)
        guard let text = try body.string("content") ?? body.string("text") else {
            throw APIError.invalid("content is required: the text to tokenize", param: "content")
        }
        let special = try body.bool("add_special") ?? false
        let ids = try host.tokenizer.encode(text, options: .init(addSpecialTokens: special, specialTokens: .text)).ids
        let pieces = ids.map { host.tokenizer.token(of: $0) ?? "" }
        return json(Tokenized(tokens: ids, pieces: pieces))
    }

    func detokenize(_ request: Request) async throws -> Response {
        let body = try await readJSON(request)
        guard let list = body.object["tokens"] as? [Any] else {
            throw APIError.invalid("tokens is required: a list of token ids", param: "tokens")
        }
        let vocabulary = host.tokenizer.vocabSize
        var ids: [Int] = []
        for (i, item) in list.enumerated() {
            guard let n = item as? NSNumber, !JSONBody.isBoolean(n), n.doubleValue == n.doubleValue.rounded(),
                (0..<vocabulary).contains(n.intValue)
            else {
                throw APIError.invalid("tokens[\(i)] is not a token id (0..<\(vocabulary))", param: "tokens[\(i)]")
            }
            ids.append(n.intValue)
        }
        return json(Detokenized(content: try host.tokenizer.decode(ids, skipSpecialTokens: false)))
    }
}

/// A model object used only by jobs on the model queue, which runs one at a time.
struct ModelQueueOnly<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
