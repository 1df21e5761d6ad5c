// k-fold cross-validation of a fine-tuning recipe: on a small dataset one validation split is too
// noisy to compare recipes (frozen encoder vs full fine-tuning), so every text is held out once.
import Foundation
import LMKitModels

/// The outcome of k-fold cross-validation.
public struct CrossValidationResult: Codable, Sendable {
    /// The scores of one held-out fold.
    public struct Fold: Codable, Sendable {
        /// The fold's number, from 1.
        public var fold: Int
        /// Accuracy on the held-out fold (0…1).
        public var accuracy: Double
        /// Unweighted mean of the per-label F1 scores on the held-out fold.
        public var macroF1: Double
        /// Epochs trained: all of `options.epochs`, since cross-validation never stops early.
        public var epochs: Int
        /// Wall-clock time of the fold's fine-tuning run.
        public var seconds: Double
    }
    /// Each fold's scores, in fold order.
    public var folds: [Fold]
    /// Mean of the folds' accuracies.
    public var meanAccuracy: Double
    /// Sample standard deviation over the folds.
    public var accuracyStandardDeviation: Double
    /// Mean of the folds' macro F1 scores.
    public var meanMacroF1: Double
    /// Wall-clock time of the whole cross-validation, model loading included.
    public var seconds: Double
    /// The held-out predictions of every fold together.
    public var pooled: ClassificationMetrics
}

/// k-fold cross-validation of a fine-tuning recipe.
public enum CrossValidation {
    /// Runs `folds`-fold stratified cross-validation: for each fold, a fresh model from `makeModel`
    /// is fine-tuned on the other folds for `options.epochs` epochs (no early stopping, last epoch
    /// kept: the held-out fold is only measured) and scored on the held-out fold.
    public static func run(
        folds: Int, data: [LabeledText], options: FineTuneOptions,
        makeModel: () throws -> (SequenceClassificationModel, EncoderTokenizer),
        progress: (Int, EpochRecord) -> Void = { _, _ in }
    ) throws -> CrossValidationResult {
        guard folds >= 2, data.count >= folds else {
            throw DataError("cross-validation needs at least 2 folds and a text per fold (\(folds) folds, \(data.count) texts)")
        }
        let start = Date()
        var options = options
        options.patience = 0
        options.restoreBest = false
        var results: [CrossValidationResult.Fold] = []
        var truth: [Int] = [], predicted: [Int] = []
        var labels: [String] = []
        for (k, split) in ClassificationData.stratifiedFolds(data, count: folds, seed: options.seed).enumerated() {
            let (model, tokenizer) = try makeModel()
            labels = model.labels
            let tuner = ClassifierFineTuner(model: model, tokenizer: tokenizer, options: options)
            let r = try tuner.run(train: split.train, validation: split.validation) { progress(k + 1, $0) }
            results.append(
                .init(
                    fold: k + 1, accuracy: r.validation.accuracy, macroF1: r.validation.macroF1,
                    epochs: r.history.count, seconds: r.seconds))
            for (i, row) in r.validation.confusion.enumerated() {
                for (j, n) in row.enumerated() {
                    truth += Array(repeating: i, count: n); predicted += Array(repeating: j, count: n)
                }
            }
        }
        let acc = results.map(\.accuracy)
        let mean = acc.reduce(0, +) / Double(acc.count)
        let variance = acc.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, acc.count - 1))
        return CrossValidationResult(
            folds: results, meanAccuracy: mean, accuracyStandardDeviation: variance.squareRoot(),
            meanMacroF1: results.map(\.macroF1).reduce(0, +) / Double(results.count),
            seconds: Date().timeIntervalSince(start),
            pooled: ClassificationMetrics(labels: labels, truth: truth, predicted: predicted))
    }
}
