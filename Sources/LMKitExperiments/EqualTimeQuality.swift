import Foundation
import LMKitAssets
import LMKitPlot
import LMKitTraining

/// Which model learns more in the same wall-clock time: an LSTM and a GPT of about the same size,
/// each trained on character-level Shakespeare for `minutes` with the same data, batch and schedule,
/// compared by validation loss.
public struct EqualTimeQualityExperiment: Sendable {
    /// Wall-clock training time of each model, in minutes.
    public var minutes = 5.0
    /// Path of the UTF-8 text both models train on (character-level Shakespeare).
    public var corpus: String
    /// Folder for the runs: each model trains in `<output>/lstm` or `<output>/gpt`.
    public var output: String
    /// Seed of both runs' initialization and batches.
    public var seed: UInt64 = 1337

    /// An experiment on the text at `corpus`, writing its runs under `output`.
    public init(corpus: String, output: String) {
        self.corpus = corpus
        self.output = output
    }

    /// One model's run.
    public struct Row: Codable, Sendable {
        /// Model name: "LSTM" or "GPT".
        public let model: String
        /// Number of parameters.
        public let parameters: Int
        /// Optimizer steps that fit in the time.
        public let steps: Int
        /// Wall-clock training time in seconds.
        public let seconds: Double
        /// Lowest validation loss reached (nats/char).
        public let bestValidationLoss: Double
        /// Each evaluation as `[elapsed seconds, validation loss]`.
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

    /// Trains the LSTM, then the GPT, for `minutes` each (after a 5-step timing probe); `progress` hears each evaluation.
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

    /// SVG line plot of validation loss against training seconds, one line per model.
    public func picture(_ rows: [Row]) -> String {
        LinePlot(
            title: "Validation loss against training time (character-level Shakespeare)", xLabel: "seconds",
            yLabel: "validation loss (nats/char)",
            series: rows.map { r in LinePlot.Series(name: r.model, points: r.curve.map { ($0[0], $0[1]) }) }
        ).svg()
    }
}
