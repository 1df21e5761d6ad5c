// Pruning a decoder's linear layers (every matrix inside its blocks; embeddings and the output layer
// stay dense, as in the Wanda paper). Wanda goes block by block, as its reference code does: the
// calibration text runs through the model with the blocks before already pruned, the inputs of this
// block's matrices are measured, and the block is pruned.
import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor
import LMKitTokenizers

/// Removes weights from a model's linear layers: magnitude or Wanda scores, unstructured or N:M.
public struct ModelPruner {
    /// How weights are scored.
    public enum Method: String, Sendable, CaseIterable {
        /// |W|, compared over the whole matrix.
        case magnitude
        /// |W|·‖X_j‖₂ over a calibration text, compared within each output row.
        case wanda
    }

    public var method: Method
    public var pattern: SparsityPattern
    /// Calibration chunks (Wanda) and their length in tokens.
    public var chunks = 8, context = 256

    /// What was pruned.
    public struct Report: Codable, Sendable {
        public struct Layer: Codable, Sendable {
            public let name: String
            public let weights: Int
            public let zeros: Int
        }
        public let method: String
        public let pattern: String
        /// Every pruned matrix, in order.
        public let layers: [Layer]
        /// Zeros over the pruned matrices' weights.
        public let sparsity: Double
        /// Zeros over all the model's parameters.
        public let modelSparsity: Double
        public let seconds: Double
    }

    public init(method: Method, pattern: SparsityPattern) { (self.method, self.pattern) = (method, pattern) }

    /// The linear layers inside the blocks, grouped by block in order (`model.layers.N.…`, `transformer.h.N.…`).
    static func blocks(_ module: Module) -> [[(name: String, layer: Linear)]] {
        var byBlock: [Int: [(name: String, layer: Linear)]] = [:]
        for (name, layer) in Calibration.linearLayers(module) {
            guard let linear = layer as? Linear else { continue }
            let parts = name.split(separator: ".")
            guard let i = parts.firstIndex(where: { $0 == "layers" || $0 == "h" }), i + 1 < parts.count, let n = Int(parts[i + 1]) else {
                continue
            }
            byBlock[n, default: []].append((name, linear))
        }
        return byBlock.keys.sorted().map { byBlock[$0]! }
    }

    /// Prunes `model` in place (float32 weights: a model loaded with `keepQuantized: false`). Wanda
    /// calibrates on `text`: `chunks` chunks of `context` tokens from the start of its tokens.
    /// `progress` receives the blocks done and their total.
    public func prune(
        _ model: any CausalLanguageModel, tokenizer: Tokenizer? = nil, text: String? = nil, progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> Report {
        var calibration: [[Int]] = []
        if method == .wanda {
            guard let tokenizer, let text else { throw ModelError("Wanda needs a calibration text (--text)") }
            calibration = try Calibration.chunks(tokenizer: tokenizer, text: text, chunks: chunks, context: context)
        }
        return try prune(model, calibration: calibration, progress: progress)
    }

    /// Prunes `model` in place; Wanda measures its inputs on the `calibration` sequences of token ids.
    public func prune(_ model: any CausalLanguageModel, calibration: [[Int]], progress: (Int, Int) -> Void = { _, _ in }) throws
        -> Report
    {
        let start = Date()
        guard let module = model as? Module else { throw ModelError("this model has no linear layers LMKit can prune") }
        let blocks = Self.blocks(module)
        guard !blocks.isEmpty else { throw ModelError("the model has no linear layers inside numbered blocks to prune") }
        if case .nOfM(let n, let m) = pattern {
            guard n > 0 && n < m else { throw ModelError("N:M sparsity needs 0 < N < M, got \(n):\(m)") }
            if let bad = blocks.joined().first(where: { $0.layer.inFeatures % m != 0 }) {
                throw ModelError("\(bad.name) has rows of \(bad.layer.inFeatures) weights, not a multiple of \(m) (\(n):\(m) sparsity)")
            }
        }
        if case .unstructured(let s) = pattern, !(s >= 0 && s < 1) { throw ModelError("sparsity \(s) must be at least 0 and below 1") }
        if method == .wanda {
            guard !calibration.isEmpty, calibration.allSatisfy({ !$0.isEmpty }) else { throw ModelError("Wanda needs calibration tokens") }
            if let long = calibration.first(where: { $0.count > model.contextLength }) {
                throw ModelError("a calibration chunk of \(long.count) tokens is longer than the model's context (\(model.contextLength))")
            }
            if let bad = calibration.joined().first(where: { $0 < 0 || $0 >= model.vocabSize }) {
                throw ModelError("calibration token \(bad) is outside the model's vocabulary")
            }
        }
        var layers: [Report.Layer] = []
        for (b, block) in blocks.enumerated() {
            var norms: [String: [Float]] = [:]
            if method == .wanda {
                let layers = block.map { (key: $0.name, layer: $0.layer as any InputObservingLinear) }
                norms = Calibration.inputSquares(of: layers, model: model, chunks: calibration).mapValues(\.norms)
            }
            for (name, layer) in block {
                let (rows, columns) = (layer.outFeatures, layer.inFeatures)
                var w = layer.weight.value.converted(to: .float32).scalars(as: Float.self)
                var scores = w.map { abs($0) }
                if let norm = norms[name] { for k in scores.indices { scores[k] *= norm[k % columns] } }
                let keep = PruningMask.keep(
                    scores: scores, rows: rows, columns: columns, pattern: pattern, group: method == .wanda ? .row : .layer)
                for k in w.indices where !keep[k] { w[k] = 0 }
                layer.weight.assign(Tensor(shape: [rows, columns], scalars: w).converted(to: layer.weight.value.dtype))
                layers.append(.init(name: name, weights: w.count, zeros: w.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }))
            }
            progress(b + 1, blocks.count)
        }
        let total = module.parameters.reduce(0) { $0 + $1.count }
        let zeros = module.parameters.reduce(0) { n, p in
            n + p.value.converted(to: .float32).scalars(as: Float.self).reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
        }
        let pruned = layers.reduce(0) { $0 + $1.weights }, prunedZeros = layers.reduce(0) { $0 + $1.zeros }
        return Report(
            method: method.rawValue, pattern: pattern.description, layers: layers, sparsity: Double(prunedZeros) / Double(max(1, pruned)),
            modelSparsity: Double(zeros) / Double(max(1, total)), seconds: Date().timeIntervalSince(start))
    }
}
