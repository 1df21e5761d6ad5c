import ArgumentParser
import Foundation
import LMKitModels
import LMKitNN
import LMKitTraining

/// `lmkit distill`: train a small student on a larger teacher's outputs.
struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill",
        abstract: "Distill a teacher into a smaller student: a GPT on a text (default), or an encoder classifier on labelled texts.",
        subcommands: [LanguageModel.self],
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
                embeddings, final norm and evenly spaced blocks, e.g. 6 → 2 layers: blocks 0 and 5); width, heads
                and context then default to the teacher's. --init scratch trains from GPT-2's initialization.

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
            if loss.initialization == .teacher, let data = FileManager.default.contents(atPath: teacher + "/config.json"),
                let t = try? JSONDecoder().decode(GPT2Config.self, from: data), t.modelType == "gpt2"
            {
                // The student keeps the teacher's shape unless told otherwise.
                let fromFile =
                    try options.config.map {
                        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: $0))) as? [String: Any] ?? [:]
                    } ?? [:]
                if options.width == nil && fromFile["width"] == nil { c.width = t.width }
                if options.heads == nil && fromFile["heads"] == nil { c.heads = t.heads }
                if options.context == nil && fromFile["context"] == nil { c.context = t.contextLength }
            }
            if !options.resume {
                c.distillation = DistillationConfig(teacher: teacher, loss: loss.loss, initialization: loss.initialization)
            }
            try options.train(c)
        }
    }
}

extension DistillationConfig.Initialization: ExpressibleByArgument {}
