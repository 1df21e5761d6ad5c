// Structured pruning: whole MLP neurons and attention heads removed, so the matrices shrink and the
// model is smaller and faster, not just sparser. Each neuron j of a layer is scored by the output
// weights it feeds, ‖W_down[:, j]‖₂, times (Wanda) the norm of its activation over the calibration
// text ‖a_j‖₂; each query head by the sum of that score over its columns of the output projection.
// Every layer loses the same number, so the result is a standard configuration (one
// intermediate_size, one num_attention_heads) that transformers and llama.cpp load.
import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor

/// Removes MLP neurons and query heads from every layer of a Llama-family or Gemma 3 decoder.
public struct StructuredPruner {
    /// How neurons and heads are scored: weight norms alone, or times their activations' norms.
    public var method: ModelPruner.Method
    /// The fraction of each layer's MLP neurons removed (0: none).
    public var neuronSparsity: Double
    /// The fraction of each layer's query heads removed, the same in every key/value group (0: none).
    public var headSparsity: Double

    public init(method: ModelPruner.Method, neuronSparsity: Double = 0, headSparsity: Double = 0) {
        (self.method, self.neuronSparsity, self.headSparsity) = (method, neuronSparsity, headSparsity)
    }

    /// What was removed.
    public struct Report: Codable, Sendable {
        public let method: String
        public let intermediateSize: [Int]
        public let heads: [Int]
        public let parameters: [Int]
        /// The neurons and query heads each layer kept (nil: all).
        public let keptNeurons: [[Int]]?, keptHeads: [[Int]]?
        public let seconds: Double
    }

    /// The pruned model (a new, smaller one) and what changed; `calibration` (token id sequences) is
    /// needed for Wanda's activation norms.
    public func prune<F: DecoderFamily>(_ model: CausalDecoder<F>, calibration: [[Int]]) throws -> (CausalDecoder<F>, Report) {
        let start = Date()
        guard (0..<1).contains(neuronSparsity), (0..<1).contains(headSparsity), neuronSparsity > 0 || headSparsity > 0 else {
            throw ModelError("structured pruning removes a fraction in [0, 1) of neurons or heads, at least one above 0")
        }
        let o = model.config.layer(0).attention
        let hidden = model.config.layer(0).hidden
        let group = o.heads / o.kvHeads
        let keptPerGroup = group - Int(Double(group) * headSparsity)
        let keptNeurons = hidden - Int(Double(hidden) * neuronSparsity)
        if headSparsity > 0 && keptPerGroup == group {
            throw ModelError("removing \(headSparsity) of \(group) query heads per key/value group removes none")
        }
        // Input norms of down_proj (the neurons' activations) and o_proj (the heads' outputs).
        var norms: [String: [Float]] = [:]
        if method == .wanda {
            guard !calibration.isEmpty else { throw ModelError("Wanda needs calibration tokens (--text)") }
            let layers = (0..<model.config.layers).flatMap { l in
                [("mlp.down_proj", model.layers[l].mlp.downProj), ("self_attn.o_proj", model.layers[l].attention.oProj)].compactMap {
                    name, linear in (linear as? any InputObservingLinear).map { (key: "model.layers.\(l).\(name)", layer: $0) }
                }
            }
            norms = Calibration.inputSquares(of: layers, model: model, chunks: calibration).mapValues(\.norms)
        }
        let weights = model.floatWeights()
        /// ‖W[:, j]‖₂ (times the input norm) for every column j of `key`.
        func columnScores(_ key: String) throws -> [Float] {
            guard let w = weights[key + ".weight"] else { throw ModelError("structured pruning: the model has no \(key).weight") }
            let (rows, columns) = (w.shape[0], w.shape[1])
            let x = w.scalars(as: Float.self)
            var s = [Float](repeating: 0, count: columns)
            for r in 0..<rows { for c in 0..<columns { s[c] += x[r * columns + c] * x[r * columns + c] } }
            let norm = norms[key]
            return s.enumerated().map { c, v in v.squareRoot() * (norm?[c] ?? 1) }
        }
        /// The `count` best of `scores` (ties: the earlier index stays).
        func best(_ scores: [Float], _ count: Int) -> [Int] {
            scores.indices.sorted { (scores[$0], -$0) > (scores[$1], -$1) }.prefix(count).sorted()
        }
        var neurons: [[Int]]? = nil, heads: [[Int]]? = nil
        if neuronSparsity > 0 {
            neurons = try (0..<model.config.layers).map { l in best(try columnScores("model.layers.\(l).mlp.down_proj"), keptNeurons) }
        }
        if headSparsity > 0 {
            heads = try (0..<model.config.layers).map { l in
                let s = try columnScores("model.layers.\(l).self_attn.o_proj")
                let perHead = (0..<o.heads).map { h in s[(h * o.headSize)..<((h + 1) * o.headSize)].reduce(0, +) }
                return (0..<o.kvHeads).flatMap { g in
                    best(Array(perHead[(g * group)..<((g + 1) * group)]), keptPerGroup).map { g * group + $0 }
                }
            }
        }
        let before = model.parameterCount
        let pruned = try model.shrunk(neurons: neurons, queryHeads: heads)
        let report = Report(
            method: method.rawValue, intermediateSize: [hidden, neurons?.first?.count ?? hidden],
            heads: [o.heads, heads?.first?.count ?? o.heads], parameters: [before, pruned.parameterCount], keptNeurons: neurons,
            keptHeads: heads, seconds: Date().timeIntervalSince(start))
        return (pruned, report)
    }
}

extension StructuredPruner {
    /// ``prune(_:calibration:)`` for a model of any decoder family (Llama family, Gemma 3).
    public func prune(model: any CausalLanguageModel, calibration: [[Int]]) throws -> (any CausalLanguageModel, Report) {
        guard let decoder = model as? any StructurallyPrunable else {
            throw ModelError("structured pruning works on the Llama family and Gemma 3 (one CausalDecoder), not this model")
        }
        return try decoder.pruned(by: self, calibration: calibration)
    }
}

/// A decoder ``StructuredPruner`` can shrink.
protocol StructurallyPrunable {
    func pruned(by pruner: StructuredPruner, calibration: [[Int]]) throws -> (any CausalLanguageModel, StructuredPruner.Report)
}

extension CausalDecoder: StructurallyPrunable {
    func pruned(by pruner: StructuredPruner, calibration: [[Int]]) throws -> (any CausalLanguageModel, StructuredPruner.Report) {
        let (model, report) = try pruner.prune(self, calibration: calibration)
        return (model, report)
    }
}
