import Foundation
import LMKitEncoders
import LMKitModels
import LMKitNN
import LMKitTensor
import Testing
import TestSupport

@testable import LMKitTraining

/// Knowledge distillation: the losses against PyTorch's (Tools/golden/distillation_losses.py), the
/// student started from the teacher's layers, and a distillation run's files and checks.
@Suite(.serialized) struct DistillationTests {
    let folder = TemporaryFolder(prefix: "lmkit-distill")

    @Test func lossesAndGradientsEqualPyTorch() throws {
        let g = try SafetensorsFile(path: fixturePath("engine/distillation_losses.safetensors")).tensors()
        let student = Parameter(try #require(g["student"])), hidden = Parameter(try #require(g["student_hidden"]))
        let soft = DistillationLoss.softTargets(student: student.value, teacher: try #require(g["teacher"]), temperature: 2.5)
        soft.backward()
        #expect(abs(soft.item() - (try #require(g["soft"])).item()) < 1e-5)
        #expect(compare(try #require(student.gradient), try #require(g["soft_grad"]), rtol: 1e-4, atol: 1e-6).withinTolerance)
        let cosine = DistillationLoss.hiddenCosine(student: hidden.value, teacher: try #require(g["teacher_hidden"]))
        cosine.backward()
        #expect(abs(cosine.item() - (try #require(g["cosine"])).item()) < 1e-5)
        #expect(compare(try #require(hidden.gradient), try #require(g["cosine_grad"]), rtol: 1e-4, atol: 1e-6).withinTolerance)
        // Identical distributions and hidden states cost nothing.
        let same = try #require(g["teacher"])
        #expect(abs(DistillationLoss.softTargets(student: same, teacher: same, temperature: 3).item()) < 1e-6)
        #expect(abs(DistillationLoss.hiddenCosine(student: same, teacher: same).item()) < 1e-6)
        #expect(throws: DistillationError.self) { try DistillationLoss(temperature: 0).validate() }
        #expect(throws: DistillationError.self) { try DistillationLoss(alpha: 1.5).validate() }
    }

    @Test func studentLayersAreEvenlySpaced() {
        #expect(DistillationLoss.teacherLayers(student: 2, teacher: 6) == [0, 5])
        #expect(DistillationLoss.teacherLayers(student: 3, teacher: 6) == [0, 2, 5])
        #expect(DistillationLoss.teacherLayers(student: 6, teacher: 12) == [0, 2, 4, 7, 9, 11])
        #expect(DistillationLoss.teacherLayers(student: 1, teacher: 4) == [0])
        #expect(DistillationLoss.teacherLayers(student: 4, teacher: 4) == [0, 1, 2, 3])
    }

    /// A classifier student starts from the teacher's layers (2 → 1: layer 0) on storage of its own.
    @Test func classifierStudentCopiesTheTeacher() throws {
        let (teacher, _) = try SequenceClassificationModel.load(folder: fixturePath("encoders/tiny-bert-cls"))
        let student = try teacher.student(layers: 1)
        #expect(student.config.layers == 1 && student.labels == teacher.labels)
        let t = teacher.stateDict(), s = student.stateDict()
        #expect(
            s["bert.encoder.layer.0.attention.self.query.weight"]!.floats == t["bert.encoder.layer.0.attention.self.query.weight"]!.floats)
        #expect(s["classifier.weight"]!.floats == t["classifier.weight"]!.floats && s.count < t.count)
        let p = try #require(student.namedParameters().first { $0.name == "bert.encoder.layer.0.attention.self.query.weight" }).parameter
        p.value.withUnsafeMutableScalars(Float.self) { $0[0] += 1 }
        #expect(
            teacher.stateDict()["bert.encoder.layer.0.attention.self.query.weight"]!.floats
                == t["bert.encoder.layer.0.attention.self.query.weight"]!.floats)
        #expect(throws: ModelError.self) { try teacher.student(layers: 3) }
    }

    /// About 20 KB of text from the tokenizer goldens' corpus.
    func corpus() throws -> String {
        let data = try #require(FileManager.default.contents(atPath: fixturePath("tokenizers/texts.json")))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let texts = (root["texts"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        let path = folder.path + "/corpus.txt"
        try Data(texts.prefix(30).joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func config(layers: Int, steps: Int) -> TrainingConfig {
        var c = TrainingConfig()
        c.layers = layers; c.width = 32; c.heads = 4; c.context = 32; c.batchSize = 8; c.dropout = 0
        c.maxSteps = steps; c.warmupSteps = 2; c.evalInterval = steps; c.evalBatches = 2; c.learningRate = 3e-3; c.minLearningRate = 3e-4
        return c
    }

    @Test func studentStartsFromTheTeacherAndTrains() throws {
        let corpus = try corpus()
        let teacherRun = try LanguageModelTrainer(config: config(layers: 3, steps: 20), corpus: corpus, output: folder.path + "/teacher")
        _ = try teacherRun.run()
        let teacherFolder = folder.path + "/teacher/model"
        let teacher = try GPT2LMHeadModel(folder: teacherFolder)

        var c = config(layers: 2, steps: 6)
        c.context = 16
        c.distillation = DistillationConfig(teacher: teacherFolder, loss: DistillationLoss(temperature: 2, alpha: 0.7, hiddenWeight: 0.5))
        let run = try LanguageModelTrainer(config: c, corpus: corpus, output: folder.path + "/student")
        // Before training: the teacher's embeddings (positions cut to the student's context), blocks 0 and 2, final norm.
        let s = try #require(run.model as? GPT2LMHeadModel)
        let student = s.stateDict(), t = teacher.stateDict()
        #expect(student["transformer.h.0.attn.c_attn.weight"]!.floats == t["transformer.h.0.attn.c_attn.weight"]!.floats)
        #expect(student["transformer.h.1.mlp.c_fc.weight"]!.floats == t["transformer.h.2.mlp.c_fc.weight"]!.floats)
        #expect(student["transformer.wpe.weight"]!.floats == Array(t["transformer.wpe.weight"]!.floats.prefix(16 * 32)))
        #expect(student["transformer.ln_f.weight"]!.floats == t["transformer.ln_f.weight"]!.floats)
        let summary = try run.run()
        #expect(summary.steps == 6 && summary.bestValidationLoss.isFinite)
        // The student trained on storage of its own: the teacher it learned from is the teacher on disk.
        let teacherAfter = try #require(run.distiller?.teacher as? GPT2LMHeadModel).stateDict()
        for (name, value) in t { #expect(teacherAfter[name]!.floats == value.floats, "teacher's \(name) changed") }
        #expect(s.stateDict()["transformer.h.0.attn.c_attn.weight"]!.floats != t["transformer.h.0.attn.c_attn.weight"]!.floats)
        // The student folder loads alone, with the teacher's tokenizer; the checkpoint resumes with the teacher.
        let saved = try GPT2LMHeadModel(folder: folder.path + "/student/model")
        #expect(saved.config.layers == 2 && saved.config.contextLength == 16)
        #expect(FileManager.default.fileExists(atPath: folder.path + "/student/model/tokenizer.json"))
        let resumed = try LanguageModelTrainer(config: TrainingConfig(), corpus: corpus, output: folder.path + "/student", resume: true)
        #expect(resumed.config.distillation == c.distillation && resumed.distiller != nil)

        // What cannot work is refused by name.
        var wide = c
        wide.width = 64
        #expect(throws: TrainingError.self) { try LanguageModelTrainer(config: wide, corpus: corpus, output: folder.path + "/wide") }
        var long = c
        long.context = 64
        #expect(throws: TrainingError.self) { try LanguageModelTrainer(config: long, corpus: corpus, output: folder.path + "/long") }
        var scratch = c
        scratch.width = 64
        scratch.distillation?.initialization = .scratch
        scratch.distillation?.loss.hiddenWeight = 0
        #expect(throws: Never.self) { try LanguageModelTrainer(config: scratch, corpus: corpus, output: folder.path + "/scratch") }
        var gpt2Teacher = c
        gpt2Teacher.distillation?.teacher = fixturePath("gpt/tiny-gpt2")  // no tokenizer there
        #expect(throws: (any Error).self) { try LanguageModelTrainer(config: gpt2Teacher, corpus: corpus, output: folder.path + "/x") }
    }
}
