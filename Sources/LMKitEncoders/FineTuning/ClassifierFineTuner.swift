// Transfer learning for text classification (Howard & Ruder 2018; Devlin et al. 2019, §4): a
// classification head on a pre-trained encoder, trained either with the whole encoder (full
// fine-tuning) or on its frozen features (the cheap baseline: only the head learns, so the encoder
// runs once per text instead of once per step). AdamW, linear warm-up and decay, gradient clipping,
// validation each epoch, early stopping on validation loss, and the best epoch's weights kept.
import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor

/// Settings of a fine-tuning run.
public struct FineTuneOptions: Sendable, Codable {
    /// Passes over the training texts (at most: early stopping may end the run sooner).
    public var epochs = 4
    /// Texts per optimizer step.
    public var batchSize = 16
    /// Peak learning rate; nil: 5e-5 for full fine-tuning, 1e-3 for a frozen encoder.
    public var learningRate: Double?
    /// AdamW's decoupled weight decay.
    public var weightDecay = 0.01
    /// Share of the steps spent warming up.
    public var warmupFraction = 0.1
    /// Train only the head on the frozen encoder's features.
    public var freezeEncoder = false
    /// Epochs without a better validation loss before stopping; 0: never stop early.
    public var patience = 2
    /// Largest global gradient norm (0: no clipping).
    public var gradientClip = 1.0
    /// Seeds the per-epoch shuffle of the training texts (and cross-validation's fold assignment).
    public var seed: UInt64 = 42
    /// End with the weights of the epoch with the lowest validation loss (else: the last epoch's,
    /// which cross-validation needs so that the held-out fold chooses nothing).
    public var restoreBest = true
    /// Distill the fine-tuner's teacher into the model (``ClassifierFineTuner/teacher``): the loss
    /// mixes the teacher's soft targets (and hidden states) with the labels (nil: labels only).
    public var distillation: DistillationLoss?

    /// The default recipe: full fine-tuning, 4 epochs, batches of 16.
    public init() {}

    /// The learning rate the schedule peaks at: `learningRate`, or the default for the mode.
    public var peakLearningRate: Double { learningRate ?? (freezeEncoder ? 1e-3 : 5e-5) }
}

/// One epoch of a run.
public struct EpochRecord: Codable, Sendable {
    /// The epoch's number, from 1.
    public var epoch: Int
    /// Mean cross-entropy over the epoch's training texts (nats), measured while the weights changed.
    public var trainLoss: Double
    /// Mean cross-entropy on the validation texts after the epoch (nats).
    public var validationLoss: Double
    /// Share of validation texts classified correctly after the epoch (0…1).
    public var validationAccuracy: Double
    /// Wall-clock time of the epoch, validation included.
    public var seconds: Double
}

/// What a run did.
public struct FineTuneResult: Codable, Sendable {
    /// Every epoch run, in order.
    public var history: [EpochRecord]
    /// The epoch whose weights the model holds (lowest validation loss, or the last one).
    public var bestEpoch: Int
    /// Metrics of that epoch on the validation texts.
    public var validation: ClassificationMetrics
    /// Whether early stopping ended the run before `options.epochs`.
    public var stoppedEarly: Bool
    /// Wall-clock time of the whole run, feature extraction included.
    public var seconds: Double
    /// Number of training and validation texts.
    public var trainTexts: Int, validationTexts: Int
}

/// Trains a ``SequenceClassificationModel`` on labelled texts.
public final class ClassifierFineTuner {
    /// The model being trained; it ends in evaluation mode with the chosen epoch's weights.
    public let model: SequenceClassificationModel
    /// Turns the texts into the model's input batches.
    public let tokenizer: EncoderTokenizer
    /// The run's settings: epochs, batch size, learning rate, early stopping.
    public let options: FineTuneOptions
    /// The classifier distilled into `model` when `options.distillation` is set (frozen, evaluation
    /// mode; same tokenizer and labels).
    public let teacher: SequenceClassificationModel?

    /// A fine-tuner for `model`; nothing trains until ``run(train:validation:progress:)``.
    public init(
        model: SequenceClassificationModel, tokenizer: EncoderTokenizer, options: FineTuneOptions,
        teacher: SequenceClassificationModel? = nil
    ) {
        self.model = model
        self.tokenizer = tokenizer
        self.options = options
        self.teacher = teacher
    }

    /// The distillation loss of a batch, given the student's logits, last hidden states and label
    /// loss (nil without a teacher); checks the teacher fits the student.
    func distillationSetup() throws -> ((EncoderBatch, Tensor, Tensor, Tensor) -> Tensor)? {
        guard let loss = options.distillation else { return nil }
        guard let teacher else { throw DataError("distillation needs a teacher classifier") }
        do { try loss.validate() } catch { throw DataError(error.description) }
        guard teacher.labels == model.labels else {
            throw DataError("the teacher's labels \(teacher.labels) differ from the student's \(model.labels)")
        }
        guard teacher.config.vocabSize == model.config.vocabSize else {
            throw DataError(
                "the teacher and the student must share a vocabulary (\(teacher.config.vocabSize) vs \(model.config.vocabSize) tokens)")
        }
        if loss.hiddenWeight > 0 && teacher.config.width != model.config.width {
            throw DataError(
                "the hidden-state loss needs the teacher's width (\(teacher.config.width)); the student has \(model.config.width)")
        }
        teacher.eval()
        teacher.freeze()
        return { batch, logits, hidden, labelLoss in
            let (teacherLogits, teacherHidden) = GradMode.withoutGradient { () -> (Tensor, Tensor) in
                let h = teacher.encoder(batch.ids, typeIDs: batch.typeIDs, attentionMask: batch.attentionMask).lastHiddenState
                return (teacher.logits(h), h)
            }
            var pair: (Tensor, Tensor)?
            if loss.hiddenWeight > 0 {
                // The real tokens' hidden states (DistilBERT leaves padding out of its cosine loss).
                let mask = batch.attentionMask.floats
                let real = Tensor(indices: mask.indices.filter { mask[$0] != 0 }, shape: [mask.filter { $0 != 0 }.count])
                let width = hidden.size(-1)
                pair = (
                    hidden.reshaped([-1, width]).gatheringRows(real),
                    teacherHidden.reshaped([-1, width]).gatheringRows(real)
                )
            }
            return loss.combine(student: logits, teacher: teacherLogits, hardLoss: labelLoss, hidden: pair).total
        }
    }

    /// Class ids of `data`'s labels; a label the model does not know is an error.
    func classIDs(_ data: [LabeledText]) throws -> [Int] {
        let index = Dictionary(uniqueKeysWithValues: model.labels.enumerated().map { ($0.element, $0.offset) })
        return try data.map { d in
            guard let id = index[d.label] else {
                throw DataError("label \"\(d.label)\" is not one of the model's labels \(model.labels)")
            }
            return id
        }
    }

    /// Trains on `train`, validating on `validation` after each epoch; the model ends with the
    /// weights of the epoch with the lowest validation loss. `progress` sees each epoch.
    public func run(train: [LabeledText], validation: [LabeledText], progress: (EpochRecord) -> Void = { _ in }) throws -> FineTuneResult {
        guard !train.isEmpty, !validation.isEmpty else {
            throw DataError("fine-tuning needs training and validation texts (got \(train.count) and \(validation.count))")
        }
        guard options.epochs > 0, options.batchSize > 0 else { throw DataError("epochs and batch size must be positive") }
        let start = Date()
        let trainIDs = try classIDs(train), validationIDs = try classIDs(validation)
        let distiller = try distillationSetup()

        // What learns: everything, or the head on frozen features.
        model.unfreeze()
        var trainable = model.namedParameters()
        var trainFeatures: Tensor?, validationFeatures: Tensor?
        if options.freezeEncoder {
            model.encoder.freeze()
            for p in model.headParameters { p.setTrainable(true) }
            trainable = trainable.filter { $0.parameter.isTrainable }
            trainFeatures = try clsFeatures(train.map(\.text))
            validationFeatures = try clsFeatures(validation.map(\.text))
        }
        let optimizer = Adam.adamW(trainable, learningRate: options.peakLearningRate, weightDecay: options.weightDecay)
        let stepsPerEpoch = (train.count + options.batchSize - 1) / options.batchSize
        let totalSteps = stepsPerEpoch * options.epochs
        let schedule = WarmupLinearSchedule(
            peak: options.peakLearningRate,
            warmupSteps: Int((Double(totalSteps) * options.warmupFraction).rounded()),
            totalSteps: totalSteps)
        var rng = RandomGenerator(seed: options.seed)
        var history: [EpochRecord] = []
        var best: (loss: Double, epoch: Int, weights: [String: Tensor], metrics: ClassificationMetrics)?
        var stale = 0, step = 0, stoppedEarly = false

        for epoch in 1...options.epochs {
            let epochStart = Date()
            model.train()
            var order = Array(train.indices)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            var lossSum = 0.0
            for s in 0..<stepsPerEpoch {
                let rows = Array(order[(s * options.batchSize)..<min(order.count, (s + 1) * options.batchSize)])
                let targets = Tensor(indices: rows.map { trainIDs[$0] }, shape: [rows.count])
                optimizer.learningRate = schedule.learningRate(at: step)
                model.zeroGradients()
                let loss: Tensor
                if let features = trainFeatures {
                    loss = model.head(features.gatheringRows(Tensor(indices: rows, shape: [rows.count]))).crossEntropy(targets: targets)
                } else {
                    let batch = try tokenizer.batch(rows.map { train[$0].text })
                    let hidden = model.encoder(batch.ids, typeIDs: batch.typeIDs, attentionMask: batch.attentionMask).lastHiddenState
                    let logits = model.logits(hidden)
                    let labelLoss = logits.crossEntropy(targets: targets)
                    loss = distiller.map { $0(batch, logits, hidden, labelLoss) } ?? labelLoss
                }
                loss.backward()
                if options.gradientClip > 0 { clipGradientNorm(trainable.map(\.parameter), maxNorm: options.gradientClip) }
                optimizer.step()
                lossSum += loss.item() * Double(rows.count)
                step += 1
            }
            let (validationLoss, metrics) = try evaluate(validation.map(\.text), ids: validationIDs, features: validationFeatures)
            let record = EpochRecord(
                epoch: epoch, trainLoss: lossSum / Double(train.count), validationLoss: validationLoss,
                validationAccuracy: metrics.accuracy, seconds: Date().timeIntervalSince(epochStart))
            history.append(record)
            progress(record)
            if best == nil || validationLoss < best!.loss {
                best = (validationLoss, epoch, options.restoreBest ? copyWeights(trainable) : [:], metrics)
                stale = 0
            } else {
                stale += 1
                if options.patience > 0 && stale >= options.patience && epoch < options.epochs { stoppedEarly = true; break }
            }
        }
        var chosen = best!
        if options.restoreBest {
            for (name, p) in trainable { p.assign(chosen.weights[name]!) }
        } else {
            let (loss, metrics) = try evaluate(validation.map(\.text), ids: validationIDs, features: validationFeatures)
            chosen = (loss, history.count, [:], metrics)
        }
        model.unfreeze()
        model.eval()
        return FineTuneResult(
            history: history, bestEpoch: chosen.epoch, validation: chosen.metrics, stoppedEarly: stoppedEarly,
            seconds: Date().timeIntervalSince(start), trainTexts: train.count, validationTexts: validation.count)
    }

    /// Mean cross-entropy and metrics of the model on labelled texts (evaluation mode, no gradients).
    public func evaluate(_ data: [LabeledText]) throws -> (loss: Double, metrics: ClassificationMetrics) {
        try evaluate(data.map(\.text), ids: try classIDs(data), features: nil)
    }

    func evaluate(_ texts: [String], ids: [Int], features: Tensor?) throws -> (loss: Double, metrics: ClassificationMetrics) {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }  // back to the mode the caller had (dropout stays off after `run`)
        var predicted = [Int](repeating: 0, count: texts.count)
        var lossSum = 0.0
        for group in lengthSortedBatches(texts, size: 64) {
            let logits: Tensor = try GradMode.withoutGradient {
                if let features { return model.head(features.gatheringRows(Tensor(indices: group, shape: [group.count]))) }
                let batch = try tokenizer.batch(group.map { texts[$0] })
                return model(batch.ids, typeIDs: batch.typeIDs, attentionMask: batch.attentionMask)
            }
            lossSum +=
                logits.crossEntropy(targets: Tensor(indices: group.map { ids[$0] }, shape: [group.count])).item() * Double(group.count)
            for (row, best) in logits.argmax(axis: 1).indexValues.enumerated() { predicted[group[row]] = best }
        }
        return (lossSum / Double(texts.count), ClassificationMetrics(labels: model.labels, truth: ids, predicted: predicted))
    }

    /// The frozen encoder's `[CLS]` hidden states `[N, C]` (evaluation mode: no dropout).
    func clsFeatures(_ texts: [String]) throws -> Tensor {
        model.encoder.eval()
        var rows = [[Float]](repeating: [], count: texts.count)
        for group in lengthSortedBatches(texts, size: 32) {
            let batch = try tokenizer.batch(group.map { texts[$0] })
            let cls = GradMode.withoutGradient {
                model.encoder(batch.ids, typeIDs: batch.typeIDs, attentionMask: batch.attentionMask).lastHiddenState.selected(
                    axis: 1, index: 0
                ).contiguous()
            }
            let v = cls.scalars(as: Float.self), c = cls.shape[1]
            for (r, i) in group.enumerated() { rows[i] = Array(v[r * c..<(r + 1) * c]) }
        }
        return Tensor(shape: [texts.count, model.config.width], scalars: rows.flatMap { $0 })
    }

    /// Independent copies of the trainable weights (the optimizer updates them in place).
    func copyWeights(_ named: [(name: String, parameter: Parameter)]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, p) in named { out[name] = Tensor(shape: p.value.shape, scalars: p.value.scalars(as: Float.self)) }
        return out
    }
}
