import Foundation
import LMKitModels
import LMKitNN
import LMKitPlot
import LMKitTensor

/// Delayed recall: after reading k + 1 random symbols, name the first one. The answer depends only
/// on a token k steps back, so a model must carry it through k updates of its state (recurrent) or
/// attend back to it (transformer). Each model trains from scratch for every k on fresh random
/// sequences, then answers 512 new ones; chance is 1 / `symbols`.
public struct LongRangeMemoryExperiment: Sendable {
    /// Vocabulary size of the random sequences; chance accuracy is 1 / `symbols`.
    public var symbols = 8
    /// The distances k tried (each sequence is k + 1 symbols).
    public var distances = [5, 10, 20, 40, 80]
    /// Training steps per model and distance.
    public var steps = 300
    /// Sequences per training step.
    public var batchSize = 32
    /// AdamW learning rate (constant, no weight decay).
    public var learningRate = 3e-3
    /// Sizes giving each model about 21,000 parameters (the same budget).
    public var hiddenSizes: [RecurrentCell: Int] = [.rnn: 128, .lstm: 64, .gru: 74]
    /// Width of the 2-layer, 4-head transformer.
    public var transformerWidth = 28
    /// Seed of the initializations and of the random sequences.
    public var seed: UInt64 = 11

    /// The default setup: 8 symbols, k from 5 to 80, 300 steps of 32 sequences.
    public init() {}

    /// One model's accuracy at one distance.
    public struct Row: Codable, Sendable {
        /// Model name: "RNN", "LSTM", "GRU" or "transformer".
        public let model: String
        /// Number of parameters.
        public let parameters: Int
        /// Steps k between the symbol to recall and the position that names it.
        public let distance: Int
        /// Share of 512 new sequences answered correctly (0…1).
        public let accuracy: Double
        /// Wall-clock seconds of training and testing.
        public let seconds: Double
    }

    func makeModels(length: Int) throws -> [(String, any TrainableLanguageModel)] {
        var out: [(String, any TrainableLanguageModel)] = []
        for cell in RecurrentCell.allCases {
            out.append(
                (
                    cell.rawValue.uppercased(),
                    try RecurrentLanguageModel(
                        RecurrentLMConfig(
                            cell: cell, vocabSize: symbols, embeddingSize: 16, hiddenSize: hiddenSizes[cell] ?? 64, layers: 1,
                            contextLength: length,
                            forgetBias: cell == .lstm ? 1 : nil), seed: seed)
                ))
        }
        out.append(
            (
                "transformer",
                try GPT2LMHeadModel(
                    GPT2Config(
                        vocabSize: symbols, contextLength: length, width: transformerWidth,
                        layers: 2, heads: 4, dropout: 0), seed: seed)
            ))
        return out
    }

    /// A batch: random symbols `[B, k + 1]`; the target is the first symbol at the last position only.
    func batch(_ k: Int, _ size: Int, _ g: inout RandomGenerator) -> (ids: Tensor, targets: Tensor, answers: [Int]) {
        let t = k + 1
        var ids: [Int] = [], targets: [Int] = [], answers: [Int] = []
        for _ in 0..<size {
            let row = (0..<t).map { _ in Int(g.next() % UInt64(symbols)) }
            ids += row
            targets += Array(repeating: -100, count: t - 1) + [row[0]]
            answers.append(row[0])
        }
        return (Tensor(indices: ids, shape: [size, t]), Tensor(indices: targets, shape: [size, t]), answers)
    }

    /// Trains and tests every model at every distance; `progress` hears each accuracy.
    public func run(progress: (String) -> Void = { _ in }) throws -> [Row] {
        var rows: [Row] = []
        for k in distances {
            for (name, model) in try makeModels(length: k + 1) {
                let start = Date()
                var g = RandomGenerator(seed: seed &+ UInt64(k))
                let optimizer = Adam.adamW(model.namedParameters(), learningRate: learningRate, weightDecay: 0)
                model.train()
                for _ in 0..<steps {
                    let (ids, targets, _) = batch(k, batchSize, &g)
                    model.zeroGradients()
                    model.loss(ids, targets: targets).backward()
                    _ = clipGradientNorm(model.parameters, maxNorm: 1)
                    optimizer.step()
                }
                model.eval()
                let (ids, _, answers) = batch(k, 512, &g)
                let logits = GradMode.withoutGradient { model.logits(ids, cache: nil) }  // (512, k+1, symbols)
                let last = logits.selected(axis: 1, index: k).contiguous().doubles
                var correct = 0
                for (i, answer) in answers.enumerated() {
                    let row = last[(i * symbols)..<((i + 1) * symbols)]
                    if row.firstIndex(of: row.max()!)! - i * symbols == answer { correct += 1 }
                }
                rows.append(
                    Row(
                        model: name, parameters: model.parameterCount, distance: k,
                        accuracy: Double(correct) / Double(answers.count), seconds: Date().timeIntervalSince(start)))
                progress("k=\(k) \(name): accuracy \(String(format: "%.3f", rows.last!.accuracy))")
            }
        }
        return rows
    }

    /// SVG line plot of accuracy against k, one line per model, with chance marked.
    public func picture(_ rows: [Row]) -> String {
        let names = ["RNN", "LSTM", "GRU", "transformer"]
        let series = names.map { n in
            LinePlot.Series(name: n, points: rows.filter { $0.model == n }.map { (Double($0.distance), $0.accuracy) })
        }
        return LinePlot(
            title: "Delayed recall: name the symbol k steps back", xLabel: "k", yLabel: "accuracy",
            series: series, references: [(1 / Double(symbols), "chance")]
        ).svg()
    }
}
