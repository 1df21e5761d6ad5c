// Calibration: a text cut into chunks of tokens and run through a model while chosen linear layers
// record Σ x_j² of the inputs they multiply, per input column. Importance matrices (llama-imatrix's
// E[x²]) and pruning (Wanda's ‖X_j‖₂, structured pruning's activation norms) all measure this.
import LMKitModels
import LMKitNN
import LMKitTensor
import LMKitTokenizers

public enum Calibration {
    /// Sums of squares of one layer's inputs, as they arrive.
    final class Accumulator {
        var sums: [Double]
        var rows = 0
        init(columns: Int) { sums = [Double](repeating: 0, count: columns) }

        func add(_ x: Tensor) {
            let columns = sums.count
            x.withUnsafeScalars(Float.self) { p in
                sums.withUnsafeMutableBufferPointer { s in
                    for r in 0..<p.count / columns {
                        let row = p.baseAddress! + r * columns
                        for j in 0..<columns { s[j] += Double(row[j] * row[j]) }
                    }
                }
                rows += p.count / columns
            }
        }

        /// ‖X_j‖₂ of every column.
        var norms: [Float] { sums.map { Float($0.squareRoot()) } }
    }

    /// The first `chunks` (nil: all that fit) chunks of `context` tokens of `text`, tokenized with the
    /// tokenizer's special tokens as the model reads a document; `startingWithBOS`: each chunk's first
    /// token replaced by the BOS token (when the tokenizer adds one), as llama.cpp's tools do.
    public static func chunks(tokenizer: Tokenizer, text: String, chunks: Int?, context: Int, startingWithBOS: Bool = false) throws
        -> [[Int]]
    {
        let ids = try tokenizer.encode(text, options: .init(addSpecialTokens: true, specialTokens: .text)).ids
        var count = ids.count / max(1, context)
        if let chunks { count = min(count, chunks) }
        guard count > 0 else { throw ModelError("the calibration text has \(ids.count) tokens: one chunk needs \(context)") }
        let bos = startingWithBOS ? try tokenizer.encode("", options: .init(addSpecialTokens: true, specialTokens: .text)).ids.first : nil
        return (0..<count).map { c in
            var chunk = Array(ids[(c * context)..<((c + 1) * context)])
            if let bos { chunk[0] = bos }
            return chunk
        }
    }

    /// Runs every chunk through `model` (without gradient, no output layer beyond the last position)
    /// while each of `layers` records its inputs; `progress` receives the chunks done and their total.
    static func inputSquares<Key: Hashable>(
        of layers: [(key: Key, layer: any InputObservingLinear)], model: any CausalLanguageModel, chunks: [[Int]],
        progress: (Int, Int) -> Void = { _, _ in }
    ) -> [Key: Accumulator] {
        var accumulators: [Key: Accumulator] = [:]
        for (key, layer) in layers {
            let acc = Accumulator(columns: layer.inFeatures)
            accumulators[key] = acc
            layer.inputObserver = { acc.add($0) }
        }
        defer { for (_, layer) in layers { layer.inputObserver = nil } }
        for (c, chunk) in chunks.enumerated() {
            _ = GradMode.withoutGradient { model.lastLogits(Tensor(indices: chunk, shape: [1, chunk.count]), cache: nil) }
            progress(c + 1, chunks.count)
        }
        return accumulators
    }

    /// The linear layers of `module` that report their inputs, under their weights' names
    /// (`model.layers.0.self_attn.q_proj.weight`).
    static func linearLayers(_ module: Module) -> [(name: String, layer: any InputObservingLinear)] {
        LoRAAdapters.linearLayers(in: module).compactMap { path, layer in
            (layer as? any InputObservingLinear).map { (path + ".weight", $0) }
        }
    }
}
