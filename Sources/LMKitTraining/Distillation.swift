// Distilling a language model into a smaller one while pretraining on a text (`lmkit distill`):
// the student (a GPT) is trained on the teacher's next-token distributions at temperature T, mixed
// with the ordinary next-token cross-entropy, and optionally on the teacher's last hidden states.
// As DistilBERT, the student can start from the teacher: its embeddings, final norm and every k-th
// block copied, the layers in between dropped.
import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor

/// The teacher and the loss of a distillation run (`distillation` in a training config).
public struct DistillationConfig: Codable, Sendable, Equatable {
    /// How the student's weights start.
    public enum Initialization: String, Codable, Sendable, CaseIterable {
        /// Embeddings, final norm and evenly spaced blocks of the teacher (DistilBERT's recipe; the
        /// student must have the teacher's width and heads, and at most its layers).
        case teacher
        /// GPT-2's random initialization.
        case scratch
    }

    /// The teacher's model folder (a GPT-2 folder, or any decoder the registry loads with the same
    /// vocabulary); its tokenizer files are the student's.
    public var teacher: String
    /// Temperature, soft-target weight and hidden-state weight.
    public var loss = DistillationLoss()
    /// Where the student starts.
    public var initialization = Initialization.teacher

    public init(teacher: String, loss: DistillationLoss = DistillationLoss(), initialization: Initialization = .teacher) {
        (self.teacher, self.loss, self.initialization) = (teacher, loss, initialization)
    }

    enum CodingKeys: String, CodingKey {
        case teacher, temperature, alpha, hiddenWeight = "hidden_weight", initialization = "init"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        teacher = try c.decode(String.self, forKey: .teacher)
        let d = DistillationLoss()
        loss = DistillationLoss(
            temperature: try c.decodeIfPresent(Double.self, forKey: .temperature) ?? d.temperature,
            alpha: try c.decodeIfPresent(Double.self, forKey: .alpha) ?? d.alpha,
            hiddenWeight: try c.decodeIfPresent(Double.self, forKey: .hiddenWeight) ?? d.hiddenWeight)
        initialization = try c.decodeIfPresent(Initialization.self, forKey: .initialization) ?? .teacher
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(teacher, forKey: .teacher)
        try c.encode(loss.temperature, forKey: .temperature)
        try c.encode(loss.alpha, forKey: .alpha)
        try c.encode(loss.hiddenWeight, forKey: .hiddenWeight)
        try c.encode(initialization, forKey: .initialization)
    }
}

/// A loaded teacher and the loss that trains a student on it.
final class Distiller {
    let config: DistillationConfig
    let teacher: any TrainableLanguageModel

    /// Loads the teacher (evaluation mode, frozen) and checks that `student` can learn from it.
    init(_ config: DistillationConfig, student: any TrainableLanguageModel, studentContext: Int) throws {
        do { try config.loss.validate() } catch { throw TrainingError(error.description) }
        self.config = config
        let loaded: any CausalLanguageModel
        do { loaded = try ModelRegistry.load(folder: config.teacher) } catch { throw TrainingError("teacher: \(error)") }
        guard let teacher = loaded as? any TrainableLanguageModel else {
            throw TrainingError("teacher \(config.teacher): a \(type(of: loaded)) cannot be run as a teacher")
        }
        guard teacher.vocabSize == student.vocabSize else {
            throw TrainingError(
                "teacher \(config.teacher) predicts \(teacher.vocabSize) tokens, the student \(student.vocabSize): they must share a vocabulary"
            )
        }
        guard studentContext <= teacher.contextLength else {
            throw TrainingError("context \(studentContext) is longer than the teacher's \(teacher.contextLength)")
        }
        if config.loss.hiddenWeight > 0 {
            guard let s = student as? GPT2LMHeadModel, let t = teacher as? GPT2LMHeadModel, s.config.width == t.config.width else {
                throw TrainingError("the hidden-state loss needs a GPT-2 teacher and student of the same width")
            }
        }
        teacher.eval()
        teacher.freeze()
        self.teacher = teacher
    }

    /// Copies the teacher's embeddings, final norm and evenly spaced blocks into `student` (both GPT-2).
    func initialize(_ student: any TrainableLanguageModel) throws {
        guard let s = student as? GPT2LMHeadModel, let t = teacher as? GPT2LMHeadModel else {
            throw TrainingError("initializing the student from the teacher needs a GPT-2 teacher (use init scratch otherwise)")
        }
        guard s.config.width == t.config.width, s.config.heads == t.config.heads, s.config.layers <= t.config.layers,
            s.config.innerWidth == t.config.innerWidth, (s.lmHead == nil) == (t.lmHead == nil)
        else {
            throw TrainingError(
                "a student started from the teacher needs its width (\(t.config.width)), heads (\(t.config.heads)) and at most its \(t.config.layers) layers; this one has width \(s.config.width), \(s.config.heads) heads, \(s.config.layers) layers"
            )
        }
        let layers = DistillationLoss.teacherLayers(student: s.config.layers, teacher: t.config.layers)
        let teacherState = t.stateDict()
        var state: [String: Tensor] = [:]
        for (name, _) in s.namedParameters() {
            var source = name
            if name.hasPrefix("transformer.h.") {
                let rest = name.dropFirst("transformer.h.".count)
                let index = Int(rest.prefix { $0.isNumber })!
                source = "transformer.h.\(layers[index])" + rest.drop { $0.isNumber }
            }
            guard var value = teacherState[source] else { throw TrainingError("teacher has no \(source) for the student's \(name)") }
            if name == "transformer.wpe.weight" { value = value.sliced(axis: 0, range: 0..<s.config.contextLength) }
            state[name] = value.copied()  // the student's own storage: training it must not change the teacher
        }
        do { try s.load(state) } catch { throw TrainingError("initializing the student from the teacher: \(error)") }
    }

    /// The training loss of `student` on a batch.
    func loss(student: any TrainableLanguageModel, inputs: Tensor, targets: Tensor) -> Tensor {
        let loss = config.loss
        if loss.hiddenWeight > 0, let s = student as? GPT2LMHeadModel, let t = teacher as? GPT2LMHeadModel {
            let hidden = s.hiddenStates(inputs)
            let logits = s.head(hidden)
            let (teacherHidden, teacherLogits) = GradMode.withoutGradient { () -> (Tensor, Tensor) in
                let h = t.hiddenStates(inputs)
                return (h, t.head(h))
            }
            return loss.combine(
                student: logits, teacher: teacherLogits, hardLoss: logits.crossEntropy(targets: targets),
                hidden: (hidden, teacherHidden)
            ).total
        }
        let logits = student.logits(inputs, cache: nil)
        let teacherLogits = GradMode.withoutGradient { teacher.logits(inputs, cache: nil) }
        return loss.combine(student: logits, teacher: teacherLogits, hardLoss: logits.crossEntropy(targets: targets)).total
    }
}
