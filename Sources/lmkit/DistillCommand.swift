import ArgumentParser
import Foundation
import LMKitEncoders
import LMKitModels
import LMKitNN
import LMKitTraining

/// `lmkit distill`: train a small student on a larger teacher's outputs.
struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Distill a teacher into a smaller student: a GPT on a text (default), or an encoder classifier on labelled texts.",
        subcommands: [LanguageModel.self, Classifier.self],
        defaultSubcommand: LanguageModel.self
    )

    /// The distillation flags both students share.
    struct LossOptions: ParsableArguments {
        @Option(help: "Softmax temperature T of the soft targets (their loss is scaled by T²).") var temperature = 2.0
        @Option(help: "Weight of the soft-target loss; the labels' cross-entropy gets 1 − alpha.") var alpha = 0.5
        @Option(help: "Weight of the cosine loss between the student's and teacher's last hidden states (0: off).")
        var hiddenWeight = 0.0
        @Option(name: .customLong("init"), help: "teacher (embeddings and evenly spaced layers copied, DistilBERT's recipe) or scratch.")
        var initialization: DistillationConfig.Initialization = .teacher

        var loss: DistillationLoss { DistillationLoss(temperature: temperature, alpha: alpha, hiddenWeight: hiddenWeight) }
    }

    struct LanguageModel: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "lm",
            abstract: "Pretrain a small GPT on a text with a teacher's next-token distributions (soft targets).",
            discussion: """
                The teacher is a model folder whose tokenizer the student uses (a GPT from `lmkit train gpt`,
                OUT/model, or any decoder LMKit loads with the same vocabulary). Each step's loss is
                  alpha · T² · KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − alpha) · cross-entropy
                  (+ --hidden-weight · (1 − cos) of the last hidden states, GPT-2 teacher of the same width),
                the teacher frozen. --init teacher starts the student from the teacher (a GPT-2 teacher: its
                embeddings, final norm and evenly spaced blocks, e.g. 6 → 2 layers: blocks 0 and 5); width and heads
                then default to the teacher's. --init scratch trains from GPT-2's initialization. The context
                defaults to the teacher's (a GPT-2 teacher) and cannot exceed it.

                Everything else is `lmkit train gpt`: the student's shape and schedule from the flags or
                --student-config (a training config JSON; "distillation" may be in it too), the validation loss
                (the student's plain cross-entropy, comparable with an undistilled run's), checkpoints, --resume,
                OUT/model as a Hugging Face GPT-2 folder. The logged train loss is the combined loss.

                """ + TrainingOptions.discussion
        )

        @Option(help: "The teacher's model folder.") var teacher: String
        @Option(help: "JSON file of the student's hyperparameters (the keys of `lmkit train gpt --config`).") var studentConfig: String?
        @OptionGroup var loss: LossOptions
        @OptionGroup var options: TrainingOptions

        func run() throws {
            var options = self.options
            if let studentConfig {
                if options.config != nil { throw ValidationError("give --student-config or --config, not both") }
                options.config = studentConfig
            }
            var c = try options.makeConfig(architecture: "gpt", forgetBias: nil)
            if let data = FileManager.default.contents(atPath: teacher + "/config.json"),
                let t = try? JSONDecoder().decode(GPT2Config.self, from: data), t.modelType == "gpt2"
            {
                // The student keeps the teacher's context (at most), and its shape when started from it.
                let fromFile =
                    try options.config.map {
                        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: $0))) as? [String: Any] ?? [:]
                    } ?? [:]
                if options.context == nil && fromFile["context"] == nil { c.context = t.contextLength }
                if loss.initialization == .teacher {
                    if options.width == nil && fromFile["width"] == nil { c.width = t.width }
                    if options.heads == nil && fromFile["heads"] == nil { c.heads = t.heads }
                }
            }
            if !options.resume {
                c.distillation = DistillationConfig(teacher: teacher, loss: loss.loss, initialization: loss.initialization)
            }
            try options.train(c)
        }
    }

    struct Classifier: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Distill a fine-tuned BERT/DistilBERT classifier into one with fewer layers (DistilBERT's recipe).",
            discussion: """
                The teacher is a *ForSequenceClassification folder (e.g. one `lmkit finetune classifier` saved). The
                student has --layers encoder layers and the teacher's width, tokenizer and labels; --init teacher
                (default) copies the teacher's embeddings, head and evenly spaced layers (6 → 3: layers 0, 2, 5),
                --init scratch initializes it anew. It trains on DATA (the formats of `lmkit finetune classifier`)
                with the loss
                  alpha · T² · KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − alpha) · cross-entropy
                  (+ --hidden-weight · (1 − cos) of the last hidden states of the real tokens),
                the teacher frozen; --alpha 0 trains the same student on the labels alone (the baseline). The
                schedule, validation, early stopping, saved folder and --json output are `lmkit finetune
                classifier`'s (train loss: the combined loss; validation loss: the labels' cross-entropy).
                """)

        @Option(help: "The teacher classifier's folder.") var teacher: String
        @Option(help: "Encoder layers of the student (default: half the teacher's).") var layers: Int?
        @OptionGroup var loss: LossOptions
        @OptionGroup var training: ClassifierTraining

        func validate() throws {
            try training.validate()
            if training.out == nil { throw ValidationError("give --out FOLDER to save the student") }
        }

        func run() throws {
            let folder = try EncoderFolder.resolve(teacher)
            try training.checkOut(differsFrom: folder)
            let (teacherModel, _) = try SequenceClassificationModel.load(folder: folder)
            guard teacherModel.labels.count >= 2 else { throw ValidationError("--teacher \(teacher): not a classifier (no id2label)") }
            let data = try training.load()
            guard Set(data.labels).isSubset(of: teacherModel.labels) else {
                throw ValidationError("the data's labels \(data.labels) are not the teacher's \(teacherModel.labels)")
            }
            let studentLayers = layers ?? max(1, teacherModel.config.layers / 2)
            let student = try teacherModel.student(layers: studentLayers, fromTeacher: loss.initialization == .teacher, seed: training.seed)
            let tokenizer = try EncoderTokenizer(folder: folder, config: student.config, maxLength: training.maxLength)
            var options = training.options
            options.distillation = loss.alpha > 0 || loss.hiddenWeight > 0 ? loss.loss : nil
            if !training.json {
                printError(
                    "student: \(studentLayers) of the teacher's \(teacherModel.config.layers) layers, \(student.parameterCount) parameters (teacher \(teacherModel.parameterCount)), started \(loss.initialization == .teacher ? "from the teacher" : "from scratch"); \(options.distillation == nil ? "labels only (alpha 0)" : "temperature \(loss.temperature), soft-target weight \(loss.alpha)\(loss.hiddenWeight > 0 ? ", hidden-state weight \(loss.hiddenWeight)" : "")")"
                )
            }
            try training.train(
                ClassifierFineTuner(model: student, tokenizer: tokenizer, options: options, teacher: teacherModel), data: data,
                tokenizerFrom: folder)
        }
    }
}

extension DistillationConfig.Initialization: ExpressibleByArgument {}
