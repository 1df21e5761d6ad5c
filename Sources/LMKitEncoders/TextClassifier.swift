// Text classification with a fine-tuned encoder, as Hugging Face's "text-classification" pipeline
// does it: tokenize, run `*ForSequenceClassification`, softmax over the labels.
import Foundation
import LMKitModels
import LMKitTensor

/// A `*ForSequenceClassification` model folder with its tokenizer.
public final class TextClassifier {
    /// The best label of one text, with every label's probability.
    public struct Prediction: Codable, Sendable, Equatable {
        public var label: String
        public var score: Double
        /// Probability of each label, in label-id order.
        public var scores: [Double]
    }

    public let model: SequenceClassificationModel
    public let tokenizer: EncoderTokenizer
    public let folder: String

    /// Loads a classifier folder (its labels come from `id2label`).
    public init(folder: String, maxLength: Int? = nil) throws {
        let (model, _) = try SequenceClassificationModel.load(folder: folder)
        model.eval()
        self.model = model
        self.folder = folder
        tokenizer = try EncoderTokenizer(folder: folder, config: model.config, maxLength: maxLength)
    }

    /// A classifier from a model in memory (after fine-tuning).
    public init(model: SequenceClassificationModel, tokenizer: EncoderTokenizer, folder: String = "") {
        self.model = model
        self.tokenizer = tokenizer
        self.folder = folder
    }

    public var labels: [String] { model.labels }

    /// Classifies `texts`, `batchSize` at a time.
    public func classify(_ texts: [String], batchSize: Int = 32) throws -> [Prediction] {
        let probabilities = try self.probabilities(texts, batchSize: batchSize)
        return probabilities.map { p in
            let best = p.indices.max { p[$0] < p[$1] }!
            return Prediction(label: labels[best], score: p[best], scores: p)
        }
    }

    /// Softmax probabilities `[texts][labels]`.
    public func probabilities(_ texts: [String], batchSize: Int = 32) throws -> [[Double]] {
        var out = [[Double]](repeating: [], count: texts.count)
        let n = labels.count
        for group in lengthSortedBatches(texts, size: batchSize) {
            let batch = try tokenizer.batch(group.map { texts[$0] })
            let p = GradMode.withoutGradient {
                model(batch.ids, typeIDs: batch.typeIDs, attentionMask: batch.attentionMask).softmax().scalars(as: Float.self)
            }
            for (row, i) in group.enumerated() { out[i] = (0..<n).map { Double(p[row * n + $0]) } }
        }
        return out
    }
}
