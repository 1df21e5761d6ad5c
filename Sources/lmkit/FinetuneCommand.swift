import ArgumentParser
import Foundation
import LMKitEncoders
import LMKitModels
import LMKitTour

/// `lmkit finetune`: transfer learning on a pre-trained encoder.
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a pre-trained model: a language model (full, LoRA, QLoRA) or an encoder classifier.",
        subcommands: [LanguageModel.self, Classifier.self]
    )

    struct Classifier: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a text classifier: a classification head on a BERT/DistilBERT encoder.",
            discussion: """
                DATA is one of:
                  FILE.csv / FILE.tsv   a header row naming the text and label columns (--text-column, --label-column)
                  FILE.jsonl            one {"text": …, "label": …} object per line (same column options)
                  fastText file         lines "__label__pos some text" (e.g. gensim's pang_lee_polarity.cor)
                  FOLDER                one subfolder of .txt files per label, or the aclImdb layout
                                        aclImdb/{train,test}/{pos,neg}/*.txt (train/ trains, test/ is the test set;
                                        unsup/ is skipped)

                The model starts from --model (default: the all-MiniLM-L6-v2 asset). A folder that already holds a
                classification head for the same labels continues from it; otherwise a new head is initialized.
                Full fine-tuning trains every weight; --freeze-encoder trains only the head (BERT's pooler and
                classifier, DistilBERT's pre-classifier and classifier) on the frozen encoder's [CLS] vectors,
                which are computed once: the cheap transfer-learning baseline.

                Training: AdamW (weight decay on matrices), linear warm-up then linear decay, gradient clipping
                at 1, validation loss and accuracy each epoch, early stopping after --patience epochs without a
                better validation loss; the best epoch's weights are saved. Validation texts come from
                --validation FILE or a stratified --validation-fraction of DATA. The saved folder (--out) is a
                Hugging Face *ForSequenceClassification folder with id2label and the tokenizer files:
                `lmkit classify --model OUT` and transformers' AutoModelForSequenceClassification both load it.

                --folds K runs K-fold stratified cross-validation instead (each text held out once, a fresh model
                per fold, --epochs epochs, no early stopping) and reports mean ± std accuracy; nothing is saved.

                --json prints {"labels": [String], "train": Int, "validation": Int, "history": [{"epoch", "trainLoss",
                "validationLoss", "validationAccuracy", "seconds"}], "bestEpoch": Int, "validationMetrics": M,
                "test": M|null, "out": String, "seconds": Double}, where M is {"labels", "accuracy", "precision",
                "recall", "f1", "support", "macroF1", "confusion"} (confusion[true][predicted]); with --folds:
                {"labels", "folds": [{"fold", "accuracy", "macroF1", "epochs", "seconds"}], "meanAccuracy",
                "accuracyStandardDeviation", "meanMacroF1", "pooled": M, "seconds"}.
                """)

        @Option(help: "The pre-trained model folder, or `minilm` (default).") var model: String?
        @Flag(help: "Train only the head on the frozen encoder.") var freezeEncoder = false
        @Option(help: "Cross-validate with this many folds instead of training one model.") var folds: Int?
        @OptionGroup var training: ClassifierTraining

        func validate() throws {
            try training.validate()
            if let folds {
                guard folds >= 2 else { throw ValidationError("--folds must be at least 2") }
            } else if training.out == nil {
                throw ValidationError("give --out FOLDER to save the fine-tuned model (or --folds K to cross-validate)")
            }
        }

        struct CrossValidationOutput: Encodable {
            let labels: [String]; let folds: [CrossValidationResult.Fold]; let meanAccuracy: Double
            let accuracyStandardDeviation: Double; let meanMacroF1: Double; let pooled: ClassificationMetrics; let seconds: Double
        }

        func run() throws {
            let folder = try EncoderFolder.resolve(model)
            try training.checkOut(differsFrom: folder)
            let data = try training.load()
            var options = training.options
            options.freezeEncoder = freezeEncoder
            let (epochs, json, seed) = (training.epochs, training.json, training.seed)
            func say(_ s: String) { if !json { printError(s) } }

            func makeModel() throws -> (SequenceClassificationModel, EncoderTokenizer) {
                let (m, report) = try SequenceClassificationModel.load(folder: folder, labels: data.labels, seed: seed)
                if !report.newlyInitialized.isEmpty {
                    say("new weights (not in \(folder)): \(report.newlyInitialized.joined(separator: ", "))")
                }
                return (m, try EncoderTokenizer(folder: folder, config: m.config, maxLength: training.maxLength))
            }

            if let folds {
                say(
                    "\(folds)-fold cross-validation, \(freezeEncoder ? "frozen encoder (head only)" : "full fine-tuning"), \(epochs) epochs per fold"
                )
                let r = try CrossValidation.run(folds: folds, data: data.all, options: options, makeModel: makeModel) { fold, e in
                    say(
                        "fold \(fold) epoch \(e.epoch): train loss \(Format.fixed(e.trainLoss, 4)), held-out loss \(Format.fixed(e.validationLoss, 4)), accuracy \(Format.fixed(e.validationAccuracy, 3)) (\(Format.fixed(e.seconds, 1)) s)"
                    )
                }
                if json {
                    return try printJSON(
                        CrossValidationOutput(
                            labels: data.labels, folds: r.folds, meanAccuracy: r.meanAccuracy,
                            accuracyStandardDeviation: r.accuracyStandardDeviation,
                            meanMacroF1: r.meanMacroF1, pooled: r.pooled, seconds: r.seconds))
                }
                for f in r.folds {
                    print("fold \(f.fold): accuracy \(Format.fixed(f.accuracy, 3)), macro F1 \(Format.fixed(f.macroF1, 3))")
                }
                print(
                    "accuracy \(Format.fixed(r.meanAccuracy, 3)) ± \(Format.fixed(r.accuracyStandardDeviation, 3)) over \(folds) folds, macro F1 \(Format.fixed(r.meanMacroF1, 3)), \(Format.fixed(r.seconds, 1)) s\n"
                )
                print(r.pooled.report())
                return
            }

            let (model, tokenizer) = try makeModel()
            say(
                "\(freezeEncoder ? "frozen encoder, training the head" : "full fine-tuning") of \(folder): \(data.train.count) training and \(data.validation.count) validation texts, up to \(epochs) epochs"
            )
            try training.train(ClassifierFineTuner(model: model, tokenizer: tokenizer, options: options), data: data, tokenizerFrom: folder)
        }
    }
}

/// The data, schedule and output flags of `lmkit finetune classifier` and `lmkit distill classifier`.
struct ClassifierTraining: ParsableArguments {
    @Argument(help: "The labelled texts (see below).") var data: String
    @Option(help: "Column or key holding the text (CSV/TSV/JSONL).") var textColumn = "text"
    @Option(help: "Column or key holding the label (CSV/TSV/JSONL).") var labelColumn = "label"
    @Option(help: "Encoding of the data files: utf-8, latin-1 or cp1252.") var encoding = "utf-8"
    @Option(help: "Validation texts (same formats); default: a share of DATA.") var validation: String?
    @Option(help: "Share of DATA held out for validation when --validation is not given.") var validationFraction = 0.2
    @Option(help: "Test texts, scored once at the end (an aclImdb folder brings its own test/).") var test: String?
    @Option(help: "Passes over the training texts.") var epochs = 4
    @Option(help: "Texts per step.") var batchSize = 16
    @Option(help: "Peak learning rate (default 5e-5, or 1e-3 with --freeze-encoder).") var learningRate: Double?
    @Option(help: "AdamW weight decay.") var weightDecay = 0.01
    @Option(help: "Share of the steps spent warming up.") var warmup = 0.1
    @Option(help: "Stop after this many epochs without a better validation loss (0: never).") var patience = 2
    @Option(help: "Truncate texts to this many tokens.") var maxLength = 128
    @Option(help: "Seed for the head, the split and the shuffles.") var seed: UInt64 = 42
    @Option(help: "Save the trained model folder here.") var out: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard epochs > 0, batchSize > 0, maxLength >= 2 else {
            throw ValidationError("--epochs, --batch-size and --max-length must be positive")
        }
        guard validationFraction > 0 && validationFraction < 1 else {
            throw ValidationError("--validation-fraction must be between 0 and 1")
        }
        guard weightDecay >= 0, warmup >= 0 && warmup < 1, patience >= 0 else {
            throw ValidationError("--weight-decay, --warmup and --patience must be ≥ 0 (warm-up below 1)")
        }
        if let learningRate, !(learningRate > 0) { throw ValidationError("--learning-rate must be positive") }
    }

    var options: FineTuneOptions {
        var o = FineTuneOptions()
        o.epochs = epochs; o.batchSize = batchSize; o.learningRate = learningRate; o.weightDecay = weightDecay
        o.warmupFraction = warmup; o.patience = patience; o.seed = seed
        return o
    }

    /// Refuses an --out that is the model folder itself, or an existing folder that is not a model's.
    func checkOut(differsFrom folder: String) throws {
        guard let out else { return }
        if URL(fileURLWithPath: out).standardizedFileURL.path == URL(fileURLWithPath: folder).standardizedFileURL.path {
            throw ValidationError("--out \(out) is the model folder itself; choose a new folder")
        }
        if FileManager.default.fileExists(atPath: out) && !FileManager.default.fileExists(atPath: out + "/config.json") {
            throw ValidationError("--out \(out) exists and is not a model folder; choose a new folder")
        }
    }

    /// The texts: training (all of DATA, and without the validation share), validation, test, labels.
    struct Data {
        let all: [LabeledText], train: [LabeledText], validation: [LabeledText], test: [LabeledText]?, labels: [String]
    }

    func load() throws -> Data {
        guard let textEncoding = TextEncoding(rawValue: encoding) else {
            throw ValidationError("--encoding must be one of \(TextEncoding.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        func load(_ path: String) throws -> ClassificationDataset {
            try ClassificationData.load(path, textColumn: textColumn, labelColumn: labelColumn, encoding: textEncoding)
        }
        let dataset = try load(data)
        let extraValidation = try validation.map { try load($0).train }
        let testSet = try test.map { try load($0).train } ?? dataset.test
        let labels = ClassificationData.orderedLabels(
            dataset.train.map(\.label) + (extraValidation ?? []).map(\.label) + (testSet ?? []).map(\.label))
        guard labels.count >= 2 else {
            throw DataError("\(data): only one label (\(labels.first ?? "")); a classifier needs at least two")
        }
        if !json { printError("data: \(dataset.train.count) texts from \(data), labels \(labels.joined(separator: ", "))") }
        let train: [LabeledText], held: [LabeledText]
        if let extraValidation {
            (train, held) = (dataset.train, extraValidation)
        } else {
            (train, held) = ClassificationData.split(dataset.train, validationFraction: validationFraction, seed: seed)
        }
        return Data(all: dataset.train, train: train, validation: held, test: testSet, labels: labels)
    }

    struct Output: Encodable {
        let labels: [String]; let train: Int; let validation: Int; let history: [EpochRecord]; let bestEpoch: Int
        let validationMetrics: ClassificationMetrics; let test: ClassificationMetrics?; let out: String; let seconds: Double
    }

    /// Runs `tuner` on the data, scores the test texts, saves the model with the tokenizer files of
    /// `tokenizerFrom` into --out, and reports.
    func train(_ tuner: ClassifierFineTuner, data: Data, tokenizerFrom folder: String) throws {
        let result = try tuner.run(train: data.train, validation: data.validation) { e in
            if !json {
                printError(
                    "epoch \(e.epoch): train loss \(Format.fixed(e.trainLoss, 4)), validation loss \(Format.fixed(e.validationLoss, 4)), accuracy \(Format.fixed(e.validationAccuracy, 3)) (\(Format.fixed(e.seconds, 1)) s)"
                )
            }
        }
        let testMetrics = try data.test.map { try tuner.evaluate($0).metrics }
        let out = self.out!
        try saveClassifierFolder(tuner.model, tokenizerFrom: folder, to: out)
        if json {
            return try printJSON(
                Output(
                    labels: data.labels, train: data.train.count, validation: data.validation.count, history: result.history,
                    bestEpoch: result.bestEpoch, validationMetrics: result.validation, test: testMetrics, out: out, seconds: result.seconds)
            )
        }
        print("kept epoch \(result.bestEpoch)\(result.stoppedEarly ? " (stopped early)" : ""); \(Format.fixed(result.seconds, 1)) s")
        print("\nvalidation (\(data.validation.count) texts)\n" + result.validation.report())
        if let testMetrics, let test = data.test { print("\ntest (\(test.count) texts)\n" + testMetrics.report()) }
        print("\nsaved \(out)  (lmkit classify --model \(out) \"some text\")")
    }
}
