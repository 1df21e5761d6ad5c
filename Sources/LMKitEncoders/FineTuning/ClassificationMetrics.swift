// Accuracy, per-label precision/recall/F1 and the confusion matrix, with scikit-learn's definitions
// (`classification_report`, `confusion_matrix`; a precision or recall with nothing to divide is 0).

/// How well predictions match the truth.
public struct ClassificationMetrics: Codable, Sendable, Equatable {
    /// Label names in class-id order; the per-label arrays and the confusion matrix follow it.
    public var labels: [String]
    /// Share of predictions that match the truth (0…1; 0 when there are none).
    public var accuracy: Double
    /// Per label, in label order.
    public var precision: [Double], recall: [Double], f1: [Double]
    /// Texts of each label in the truth.
    public var support: [Int]
    /// Unweighted mean of the per-label F1 scores.
    public var macroF1: Double
    /// `confusion[true][predicted]`.
    public var confusion: [[Int]]

    /// Metrics of `predicted` against `truth` (class ids into `labels`).
    public init(labels: [String], truth: [Int], predicted: [Int]) {
        precondition(truth.count == predicted.count, "\(truth.count) true labels for \(predicted.count) predictions")
        let n = labels.count
        var confusion = Array(repeating: Array(repeating: 0, count: n), count: n)
        for (t, p) in zip(truth, predicted) { confusion[t][p] += 1 }
        let correct = (0..<n).reduce(0) { $0 + confusion[$1][$1] }
        let support = (0..<n).map { i in confusion[i].reduce(0, +) }
        let predictedCount = (0..<n).map { j in (0..<n).reduce(0) { $0 + confusion[$1][j] } }
        let precision = (0..<n).map { predictedCount[$0] == 0 ? 0 : Double(confusion[$0][$0]) / Double(predictedCount[$0]) }
        let recall = (0..<n).map { support[$0] == 0 ? 0 : Double(confusion[$0][$0]) / Double(support[$0]) }
        let f1 = (0..<n).map { precision[$0] + recall[$0] == 0 ? 0 : 2 * precision[$0] * recall[$0] / (precision[$0] + recall[$0]) }
        self.labels = labels
        self.confusion = confusion
        self.support = support
        self.precision = precision
        self.recall = recall
        self.f1 = f1
        accuracy = truth.isEmpty ? 0 : Double(correct) / Double(truth.count)
        macroF1 = n == 0 ? 0 : f1.reduce(0, +) / Double(n)
    }

    /// A readable report: per-label precision, recall, F1 and support, then the confusion matrix.
    public func report() -> String {
        func f(_ x: Double) -> String { pad(String(Int((x * 1000).rounded())).leftPadded(4, "0").inserting(".", at: 1), 9) }
        let width = max(8, (labels.map(\.count).max() ?? 0) + 2)
        var lines = [pad("", width) + pad("precision", 10) + pad("recall", 9) + pad("f1", 9) + pad("support", 9)]
        for (i, label) in labels.enumerated() {
            lines.append(pad(label, width) + " " + f(precision[i]) + f(recall[i]) + f(f1[i]) + pad(String(support[i]), 9))
        }
        lines.append(pad("accuracy", width) + " " + pad("", 18) + f(accuracy) + pad(String(support.reduce(0, +)), 9))
        lines.append(pad("macro F1", width) + " " + pad("", 18) + f(macroF1))
        lines.append("")
        lines.append("confusion (rows: true, columns: predicted)")
        lines.append(pad("", width) + labels.map { pad($0, width) }.joined())
        for (i, label) in labels.enumerated() {
            lines.append(pad(label, width) + confusion[i].map { pad(String($0), width) }.joined())
        }
        return lines.joined(separator: "\n")
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : String(repeating: " ", count: n - s.count) + s }
}

private extension String {
    func leftPadded(_ n: Int, _ c: Character) -> String { count >= n ? self : String(repeating: c, count: n - count) + self }
    func inserting(_ c: Character, at offset: Int) -> String {
        var s = self
        s.insert(c, at: s.index(s.startIndex, offsetBy: offset))
        return s
    }
}
