// Knowledge distillation's losses (Hinton, Vinyals & Dean 2015; DistilBERT, Sanh et al. 2019): a
// student learns the teacher's whole output distribution ("soft targets", softened by a temperature)
// next to, or instead of, the one-hot labels, and may also align its hidden states with the
// teacher's. Shared by the decoder trainer (`lmkit distill` on a text) and the classifier trainer.
import LMKitTensor

/// How a student learns from a teacher.
public struct DistillationLoss: Sendable, Codable, Equatable {
    /// Softens both distributions (`softmax(logits / T)`); higher T exposes more of the teacher's
    /// "dark knowledge" about wrong answers. Hinton et al. use 2–20; DistilBERT 2.
    public var temperature = 2.0
    /// Weight of the soft-target loss; the hard-label cross-entropy gets `1 − alpha`.
    public var alpha = 0.5
    /// Weight of the hidden-state cosine loss (DistilBERT's `cos` term, 0: off); needs the student's
    /// and teacher's last hidden states to have the same width.
    public var hiddenWeight = 0.0

    public init(temperature: Double = 2.0, alpha: Double = 0.5, hiddenWeight: Double = 0.0) {
        (self.temperature, self.alpha, self.hiddenWeight) = (temperature, alpha, hiddenWeight)
    }

    enum CodingKeys: String, CodingKey {
        case temperature, alpha, hiddenWeight = "hidden_weight"
    }

    /// Checks the weights and temperature.
    public func validate() throws(DistillationError) {
        guard temperature > 0, temperature.isFinite else { throw DistillationError("temperature \(temperature) must be positive") }
        guard alpha >= 0 && alpha <= 1 else { throw DistillationError("alpha \(alpha) must be in [0, 1]") }
        guard hiddenWeight >= 0, hiddenWeight.isFinite else { throw DistillationError("hidden weight \(hiddenWeight) must be ≥ 0") }
    }

    /// T² · KL(softmax(teacher / T) ‖ softmax(student / T)), averaged over the rows of `[..., classes]`
    /// logits (PyTorch's `KLDivLoss(reduction="batchmean")` on the flattened rows, times T² so that
    /// the gradients keep their size as T changes). `teacher` takes no gradient.
    public static func softTargets(student: Tensor, teacher: Tensor, temperature: Double) -> Tensor {
        precondition(student.shape == teacher.shape, "distillation: student logits \(student.shape), teacher's \(teacher.shape)")
        let classes = student.size(-1)
        let s = student.reshaped([-1, classes]), t = teacher.detached().reshaped([-1, classes])
        let logStudent = (s / temperature).logSoftmax()
        let logTeacher = GradMode.withoutGradient { (t / temperature).logSoftmax() }
        let probabilities = GradMode.withoutGradient { logTeacher.exp() }
        let kl = (probabilities * (logTeacher - logStudent)).sum(axis: -1).mean()
        return kl * (temperature * temperature)
    }

    /// Mean over positions of 1 − cos(student_i, teacher_i) for hidden states `[..., width]`
    /// (PyTorch's `CosineEmbeddingLoss` with target 1, as DistilBERT). `teacher` takes no gradient.
    public static func hiddenCosine(student: Tensor, teacher: Tensor) -> Tensor {
        precondition(student.shape == teacher.shape, "distillation: student hidden states \(student.shape), teacher's \(teacher.shape)")
        let width = student.size(-1)
        let s = student.reshaped([-1, width]), t = teacher.detached().reshaped([-1, width])
        let dot = (s * t).sum(axis: -1)
        let norms = (s.squared().sum(axis: -1) * t.squared().sum(axis: -1) + 1e-16).sqrt()
        return 1.0 - (dot / norms).mean()
    }

    /// The teacher layers a student of `studentLayers` layers starts from (DistilBERT's
    /// initialization): evenly spaced from the first to the last (6 → 2: 0 and 5; 6 → 3: 0, 2, 5;
    /// 12 → 6: 0, 2, 4, 7, 9, 11).
    public static func teacherLayers(student studentLayers: Int, teacher teacherLayers: Int) -> [Int] {
        precondition(studentLayers >= 1 && studentLayers <= teacherLayers, "a student of \(studentLayers) layers from \(teacherLayers)")
        if studentLayers == 1 { return [0] }
        return (0..<studentLayers).map {
            Int((Double($0 * (teacherLayers - 1)) / Double(studentLayers - 1)).rounded(.toNearestOrEven))
        }
    }

    /// The whole loss: `alpha`·soft targets + (1 − `alpha`)·`hardLoss` (+ `hiddenWeight`·cosine when
    /// hidden states are given), with its parts for the log.
    public func combine(student: Tensor, teacher: Tensor, hardLoss: Tensor, hidden: (student: Tensor, teacher: Tensor)? = nil)
        -> (total: Tensor, soft: Double, hard: Double, cosine: Double?)
    {
        let soft = Self.softTargets(student: student, teacher: teacher, temperature: temperature)
        var total = soft * alpha + hardLoss * (1 - alpha)
        var cosine: Double?
        if hiddenWeight > 0, let hidden {
            let c = Self.hiddenCosine(student: hidden.student, teacher: hidden.teacher)
            total = total + c * hiddenWeight
            cosine = c.item()
        }
        return (total, soft.item(), hardLoss.item(), cosine)
    }
}

/// A distillation setting or pairing that cannot work, said in words.
public struct DistillationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
