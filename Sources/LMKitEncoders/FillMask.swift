// Masked-token prediction, BERT's pre-training task (Devlin et al. 2019, §3.1), as Hugging Face's
// "fill-mask" pipeline reports it: for each `[MASK]`, the most likely tokens with their
// probabilities and the text with the token filled in.
import Foundation
import LMKitModels
import LMKitTensor
import LMKitTokenizers

/// A `*ForMaskedLM` model folder with its tokenizer.
public final class FillMask {
    /// One candidate for a masked position.
    public struct Candidate: Codable, Sendable, Equatable {
        /// The candidate as the vocabulary spells it (e.g. `##ing` for a WordPiece continuation).
        public var token: String
        /// The candidate's vocabulary id.
        public var id: Int
        /// Softmax probability of the candidate at the masked position, over the whole vocabulary (0…1).
        public var score: Double
        /// The input with this candidate in place of the mask, decoded without special tokens
        /// (so other masks drop out, as in Hugging Face's pipeline).
        public var sequence: String
    }

    /// The masked-language model, in evaluation mode.
    public let model: MaskedLanguageModel
    /// The folder's tokenizer, truncating at the model's positions.
    public let tokenizer: EncoderTokenizer
    /// The mask's spelling, `[MASK]`: write it in a text where a token should be predicted.
    public let maskToken: String
    let maskID: Int

    /// Loads a `*ForMaskedLM` folder; throws when its tokenizer has no `[MASK]` token.
    public init(folder: String) throws {
        let (model, _) = try MaskedLanguageModel.load(folder: folder)
        model.eval()
        self.model = model
        tokenizer = try EncoderTokenizer(folder: folder, config: model.config)
        guard let id = tokenizer.tokenizer.id(of: "[MASK]") else {
            throw ModelError("\(folder): the tokenizer has no [MASK] token")
        }
        maskToken = "[MASK]"
        maskID = id
    }

    /// The `topK` candidates for each mask in `text`, mask by mask from left to right.
    public func predict(_ text: String, topK: Int = 5) throws -> [[Candidate]] {
        let batch = try tokenizer.batch([text])
        let ids = batch.encodings[0].ids
        let positions = ids.indices.filter { ids[$0] == maskID }
        guard !positions.isEmpty else { throw ModelError("the text has no \(maskToken) token: \"\(text)\"") }
        let logits = GradMode.withoutGradient { model(batch.ids, typeIDs: batch.typeIDs, attentionMask: batch.attentionMask) }
        let v = model.config.vocabSize
        let values = logits.scalars(as: Float.self)
        return try positions.map { position throws -> [Candidate] in
            let row = Array(values[position * v..<(position + 1) * v])
            let top = row.max() ?? 0
            let exps = row.map { Foundation.exp(Double($0 - top)) }
            let total = exps.reduce(0, +)
            let best = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(Swift.max(1, topK))
            return try best.map { id throws -> Candidate in
                var filled = ids
                filled[position] = id
                let sequence = try tokenizer.tokenizer.decode(filled, skipSpecialTokens: true)
                return Candidate(token: tokenizer.tokenizer.token(of: id) ?? "", id: id, score: exps[id] / total, sequence: sequence)
            }
        }
    }
}
