// Text classification with a fine-tuned encoder, as Hugging Face's "text-classification" pipeline
// does it: tokenize, run `*ForSequenceClassification`, softmax over the labels.
import Foundation
import LMKitModels
import LMKitTensor

/// A `*ForSequenceClassification` model folder with its tokenizer.
public final class TextClassifier {
    /// The best label of one text, with every label's probability.
    public struct Prediction: Codable, Sendable, Equatable {
        /// The most probable label.
        public var label: String
        /// Its probability (0…1).
        public var score: Double
        /// Probability of each label, in label-id order.
        public var scores: [Double]
    }

    /// The classification model (in evaluation mode when loaded from a folder).
    public let model: SequenceClassificationModel
    /// The model's tokenizer, truncating at `maxLength` or the model's positions.
    public let tokenizer: EncoderTokenizer
    /// The folder the model came from ("" for a model built in memory).
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

    /// Label names in class-id order (the model's `id2label`).
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
