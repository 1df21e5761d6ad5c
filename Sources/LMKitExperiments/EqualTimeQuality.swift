import Foundation
import LMKitAssets
import LMKitPlot
import LMKitTraining

/// Which model learns more in the same wall-clock time: an LSTM and a GPT of about the same size,
/// each trained on character-level Shakespeare for `minutes` with the same data, batch and schedule,
/// compared by validation loss.
public struct EqualTimeQualityExperiment: Sendable {
    public var minutes = 5.0
    public var corpus: String
    public var output: String
    public var seed: UInt64 = 1337

    public init(corpus: String, output: String) {
        self.corpus = corpus
        self.output = output
    }

    public struct Row: Codable, Sendable {
        public let model: String
        public let parameters: Int
        public let steps: Int
        public let seconds: Double
        public let bestValidationLoss: Double
        public let curve: [[Double]]  // [elapsed seconds, validation loss]
    }

    func config(_ architecture: String) -> TrainingConfig {
        var c = TrainingConfig()
        c.architecture = architecture
        c.context = 128; c.batchSize = 32; c.dropout = 0
        c.learningRate = 2e-3; c.minLearningRate = 2e-4; c.warmupSteps = 50
        c.maxSteps = 100_000  // the time limit ends the run; the schedule decays over maxSteps
        c.maxMinutes = minutes
        c.evalInterval = 50; c.evalBatches = 8; c.patience = 0; c.seed = seed
        if architecture == "lstm" {
            c.layers = 2; c.width = 256; c.forgetBias = 1
        } else {
            c.layers = 4; c.width = 160; c.heads = 4
        }
        return c
    }

    public func run(progress: @escaping (String) -> Void = { _ in }) throws -> [Row] {
        var rows: [Row] = []
        for (name, arch) in [("LSTM", "lstm"), ("GPT", "gpt")] {
            var c = config(arch)
            // With a time limit, decay the learning rate over the steps that fit: measure them first.
            let probe = try LanguageModelTrainer(config: c, corpus: corpus, output: output + "/\(arch)-probe")
            let t0 = Date()
            _ = try probe.run(stopAfter: 5)
            let perStep = Date().timeIntervalSince(t0) / 5
            c.maxSteps = max(c.warmupSteps + 10, Int(minutes * 60 / (perStep * 1.08)))
            try? FileManager.default.removeItem(atPath: output + "/\(arch)-probe")
            let trainer = try LanguageModelTrainer(config: c, corpus: corpus, output: output + "/\(arch)")
            let summary = try trainer.run { p in
                if let r = p.evaluation {
                    progress("\(name) step \(r.step): validation \(String(format: "%.3f", r.validationLoss)) at \(Int(r.elapsedSeconds)) s")
                }
            }
            rows.append(
                Row(
                    model: name, parameters: trainer.model.parameterCount, steps: summary.steps, seconds: summary.seconds,
                    bestValidationLoss: summary.bestValidationLoss,
                    curve: summary.history.map { [$0.elapsedSeconds, $0.validationLoss] }))
        }
        return rows
    }

    public func picture(_ rows: [Row]) -> String {
        LinePlot(
            title: "Validation loss against training time (character-level Shakespeare)", xLabel: "seconds",
            yLabel: "validation loss (nats/char)",
            series: rows.map { r in LinePlot.Series(name: r.model, points: r.curve.map { ($0[0], $0[1]) }) }
        ).svg()
    }
}
