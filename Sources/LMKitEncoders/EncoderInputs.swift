// From texts to the tensors an encoder reads: ids, token types and attention mask, padded to the
// longest text of the batch and truncated to the model's positions, as Hugging Face pipelines do.
import Foundation
import LMKitModels
import LMKitTensor
import LMKitTokenizers

/// A padded batch: `[B, T]` ids, token types and attention mask, with the encodings behind them.
public struct EncoderBatch {
    /// Token ids `[B, T]`, padded with the model's pad token.
    public let ids: Tensor
    /// Token type (segment) ids `[B, T]`: 0 for the first text, 1 for a pair's second.
    public let typeIDs: Tensor
    /// `[B, T]`: 1 for real tokens, 0 for padding.
    public let attentionMask: Tensor
    /// The tokenizer's encoding of each text (tokens, ids, offsets), padded to `T`.
    public let encodings: [Encoding]
    /// Tokens of each text before padding.
    public var lengths: [Int] { encodings.map { $0.attentionMask.reduce(0, +) } }
}

/// A model folder's tokenizer, set up for its encoder.
public struct EncoderTokenizer: Sendable {
    public private(set) var tokenizer: Tokenizer
    /// Most tokens per text, special tokens included; longer texts are truncated.
    public let maxLength: Int

    /// The tokenizer of `folder` (`tokenizer.json` or `vocab.txt`), truncating at `maxLength`
    /// (default and upper bound: the model's positions).
    public init(folder: String, config: EncoderConfig, maxLength: Int? = nil) throws {
        let t: Tokenizer
        do { t = try Tokenizer(contentsOf: folder) } catch { throw ModelError("\(folder): \(error.description)") }
        try self.init(tokenizer: t, config: config, maxLength: maxLength)
    }

    /// Sets up `tokenizer` for an encoder with `config`.
    public init(tokenizer: Tokenizer, config: EncoderConfig, maxLength: Int? = nil) throws {
        var t = tokenizer
        guard t.vocabSize <= config.vocabSize else {
            throw ModelError("the tokenizer has \(t.vocabSize) tokens but the model only \(config.vocabSize): they do not belong together")
        }
        let limit = Swift.min(maxLength ?? config.maxPositions, config.maxPositions)
        guard limit >= 2 else { throw ModelError("max length \(limit) leaves no room for text") }
        self.maxLength = limit
        t.truncation = Truncation(maxLength: limit)
        t.padding = Padding(padID: config.padTokenID, padToken: t.token(of: config.padTokenID) ?? "[PAD]")
        self.tokenizer = t
    }

    /// Encodes texts (or pairs: `pairs[i]` is the second text of text `i`, nil for a single text)
    /// into one padded batch. Special-token spellings in the text
    /// (`[MASK]`) are read as the special tokens, as Hugging Face tokenizers do.
    public func batch(_ texts: [String], pairs: [String?]? = nil) throws(TokenizerError) -> EncoderBatch {
        precondition(pairs == nil || pairs!.count == texts.count, "one pair entry per text")
        let inputs = texts.enumerated().map { ($0.element, pairs?[$0.offset] ?? nil) }
        let encodings = try tokenizer.encodeBatch(inputs, options: EncodeOptions(addSpecialTokens: true, specialTokens: .allow))
        let b = encodings.count, t = encodings.first?.count ?? 0
        return EncoderBatch(
            ids: Tensor(indices: encodings.flatMap(\.ids), shape: [b, t]),
            typeIDs: Tensor(indices: encodings.flatMap(\.typeIds), shape: [b, t]),
            attentionMask: Tensor(indices: encodings.flatMap(\.attentionMask), shape: [b, t]),
            encodings: encodings)
    }
}

/// Splits `count` items into batches of about `size`, longest texts first so each batch pads little
/// (sentence-transformers' order); returns index groups.
func lengthSortedBatches(_ texts: [String], size: Int) -> [[Int]] {
    let order = texts.indices.sorted { texts[$0].utf8.count > texts[$1].utf8.count }
    return stride(from: 0, to: order.count, by: Swift.max(1, size)).map { Array(order[$0..<Swift.min($0 + size, order.count)]) }
}
