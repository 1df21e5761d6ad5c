// The student side of distilling a text classifier (DistilBERT's recipe, Sanh et al. 2019): a
// classifier with fewer layers, started from the teacher's embeddings, head and evenly spaced
// layers (or from scratch), then trained by ``ClassifierFineTuner`` with the teacher's soft targets.
import LMKitModels
import LMKitNN
import LMKitTensor

extension SequenceClassificationModel {
    /// A classifier like this one with `layers` encoder layers: with `fromTeacher`, this model's
    /// embeddings, head and layers ``DistillationLoss/teacherLayers(student:teacher:)`` (6 → 3:
    /// 0, 2, 5) copied; otherwise every weight newly initialized (`seed`).
    public func student(layers: Int, fromTeacher: Bool = true, seed: UInt64 = 0) throws -> SequenceClassificationModel {
        guard layers >= 1 && layers <= config.layers else {
            throw ModelError("a student needs 1 to \(config.layers) layers (the teacher's), not \(layers)")
        }
        var c = config
        c.layers = layers
        let student = try SequenceClassificationModel(c, labels: labels, seed: seed)
        guard fromTeacher else { return student }
        let chosen = DistillationLoss.teacherLayers(student: layers, teacher: config.layers)
        let teacher = stateDict()
        var state: [String: Tensor] = [:]
        for (name, _) in student.namedParameters() {
            var source = name
            if let range = name.range(of: "layer.") {
                let rest = name[range.upperBound...]
                if let index = Int(rest.prefix { $0.isNumber }) {
                    source = name[..<range.upperBound] + "\(chosen[index])" + rest.drop { $0.isNumber }
                }
            }
            guard let value = teacher[source] else { throw ModelError("the teacher has no \(source) for the student's \(name)") }
            state[name] = value.copied()  // the student's own storage: training it must not change the teacher
        }
        do { try student.load(state) } catch { throw ModelError("starting the student from the teacher: \(error)") }
        return student
    }
}
