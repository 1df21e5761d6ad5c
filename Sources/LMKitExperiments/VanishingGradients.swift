import Foundation
import LMKitNN
import LMKitPlot
import LMKitTensor

/// How much a loss at the last step of a sequence still depends on the hidden state k steps
/// earlier: ‖∂L/∂h_{T−k}‖ for k = 1…T, for an RNN, an LSTM and a GRU (Bengio et al. 1994; Pascanu et
/// al. 2013, "On the difficulty of training recurrent neural networks").
///
/// Method: run the sequence without gradients up to step T − k; make that state a leaf of the
/// autograd graph; run the last k steps; L = Σ h_T · w for a fixed random w; backpropagate and
/// take the norm of the leaf's gradient (mean over the batch). Every network starts from PyTorch's
/// initialization on the same random inputs; the LSTM's forget-gate bias is set to `forgetBias`.
public struct VanishingGradientsExperiment: Sendable {
    /// Width of each cell's hidden state.
    public var hiddenSize = 64
    /// Width of each random input vector.
    public var inputSize = 16
    /// Steps T in the sequence; distances beyond it are skipped.
    public var sequenceLength = 100
    /// Sequences the gradient norm is averaged over.
    public var batchSize = 16
    /// The LSTM's forget-gate bias at initialization.
    public var forgetBias = 1.0
    /// The distances k at which the gradient is measured.
    public var distances = [1, 2, 5, 10, 20, 30, 50, 75, 100]
    /// Seed of the inputs, of w and of the weights.
    public var seed: UInt64 = 7

    /// The default setup: 64 hidden units, 100 steps, k from 1 to 100.
    public init() {}

    /// The gradient norm of one cell at one distance.
    public struct Row: Codable, Sendable {
        /// The cell: "rnn", "lstm" or "gru".
        public let cell: String
        /// Steps k between the hidden state and the loss.
        public let distance: Int
        /// ‖∂L/∂h_{T−k}‖, averaged over the batch.
        public let gradientNorm: Double
        /// The norm relative to distance 1.
        public let relative: Double
    }

    /// Measures every cell at every distance; `progress` hears each norm.
    public func run(progress: (String) -> Void = { _ in }) -> [Row] {
        var g = RandomGenerator(seed: seed)
        let x = Tensor.randomNormal([batchSize, sequenceLength, inputSize], generator: &g)  // (B, T, I)
        let w = Tensor.randomNormal([batchSize, hiddenSize], generator: &g)
        var rows: [Row] = []
        for cell in RecurrentCell.allCases {
            var mg = RandomGenerator(seed: seed &+ 1)
            let layer = Recurrent(
                cell, inputSize: inputSize, hiddenSize: hiddenSize, forgetBias: cell == .lstm ? forgetBias : nil, generator: &mg)
            var norms: [Double] = []
            for k in distances where k <= sequenceLength {
                let split = sequenceLength - k
                // The state at step T − k, without gradients.
                var state: Recurrent.State? = nil
                if split > 0 {
                    state = GradMode.withoutGradient { layer(x.sliced(axis: 1, range: 0..<split), state: nil).state }
                }
                let h = (state?.h ?? Tensor.zeros([1, batchSize, hiddenSize])).detached().requiringGradient()
                let c = cell == .lstm ? (state?.c ?? Tensor.zeros([1, batchSize, hiddenSize])).detached() : nil
                let (_, final) = layer(x.sliced(axis: 1, range: split..<sequenceLength), state: .init(h: h, c: c))
                (final.h.selected(axis: 0, index: 0) * w).sum().backward()
                let grad = h.gradient?.selected(axis: 0, index: 0).doubles ?? []
                var total = 0.0
                for b in 0..<batchSize {
                    total += (0..<hiddenSize).reduce(0) { $0 + grad[b * hiddenSize + $1] * grad[b * hiddenSize + $1] }.squareRoot()
                }
                norms.append(total / Double(batchSize))
                layer.zeroGradients()
                progress("\(cell.rawValue) k=\(k): \(norms.last!)")
            }
            for (i, k) in distances.filter({ $0 <= sequenceLength }).enumerated() {
                rows.append(
                    Row(
                        cell: cell.rawValue, distance: k, gradientNorm: norms[i], relative: norms[i] / max(norms[0], .leastNonzeroMagnitude)
                    ))
            }
        }
        return rows
    }

    /// log₁₀ of the gradient norm against k, one line per cell.
    public func picture(_ rows: [Row]) -> String {
        let series = RecurrentCell.allCases.map { cell in
            LinePlot.Series(
                name: cell.rawValue.uppercased(),
                points: rows.filter { $0.cell == cell.rawValue }.map { (Double($0.distance), log10(max($0.gradientNorm, 1e-300))) })
        }
        return LinePlot(
            title: "Gradient reaching the hidden state k steps back (at initialization)", xLabel: "k (steps back)",
            yLabel: "log10 ‖∂L/∂h(T−k)‖", series: series
        ).svg()
    }
}
