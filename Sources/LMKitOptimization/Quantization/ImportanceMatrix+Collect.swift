// Collecting an importance matrix as llama-imatrix does: the calibration text is tokenized once and
// cut into chunks of `context` tokens, each starting with the BOS token; every chunk runs through
// the model, and every linear layer inside the layers (`blk.*`) adds Σ x_j² of the inputs it
// multiplies, per input column, and the number of input rows (tokens).
import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor
import LMKitTokenizers

extension ImportanceMatrix {
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
    }

    /// The linear layers of `module` under their parameter paths (`model.layers.0.self_attn.q_proj.weight`).
    static func linearLayers(_ module: Module, prefix: String = "") -> [(name: String, layer: any InputObservingLinear)] {
        var out: [(name: String, layer: any InputObservingLinear)] = []
        for (name, child) in module.children {
            let path = prefix.isEmpty ? name : prefix + "." + name
            if let linear = child as? any InputObservingLinear { out.append((path + ".weight", linear)) }
            out += linearLayers(child, prefix: path)
        }
        return out
    }

    /// Collects the importance matrix of `model` (a decoder a GGUF file can hold) over `text`, in
    /// chunks of `context` tokens (at most `chunks` of them); `dataset` names the text in the file.
    /// `progress` receives the chunks done and their total.
    public static func collect(
        model: any CausalLanguageModel, tokenizer: Tokenizer, text: String, dataset: String, context: Int = 512, chunks: Int? = nil,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> ImportanceMatrix {
        guard let module = model as? Module, let named = model as? any GGUFWritableModel else {
            throw ModelError("an importance matrix is collected for the decoders LMKit writes as GGUF (GPT-2, Llama family, Gemma 3)")
        }
        guard context >= 16 else { throw ModelError("a chunk of \(context) tokens is too short (llama.cpp skips products under 16 rows)") }
        guard context <= model.contextLength else {
            throw ModelError("a chunk of \(context) tokens is longer than the model's context (\(model.contextLength))")
        }
        let ids = try tokenizer.encode(text, options: .init(addSpecialTokens: true, specialTokens: .text)).ids
        var total = ids.count / context
        if let chunks { total = min(total, chunks) }
        guard total > 0 else { throw ModelError("the text has \(ids.count) tokens: one chunk needs \(context)") }
        let bos = try tokenizer.encode("", options: .init(addSpecialTokens: true, specialTokens: .text)).ids.first

        var accumulators: [String: Accumulator] = [:]
        let layers = linearLayers(module).compactMap { hf, layer -> (String, any InputObservingLinear)? in
            guard let gguf = named.ggufName(of: hf), gguf.hasPrefix("blk.") else { return nil }
            return (gguf, layer)
        }
        for (name, layer) in layers {
            let acc = Accumulator(columns: layer.inFeatures)
            accumulators[name] = acc
            layer.inputObserver = { acc.add($0) }
        }
        defer { for (_, layer) in layers { layer.inputObserver = nil } }
        for c in 0..<total {
            var input = Array(ids[(c * context)..<((c + 1) * context)])
            if let bos { input[0] = bos }
            _ = GradMode.withoutGradient { model.lastLogits(Tensor(indices: input, shape: [1, context]), cache: nil) }
            progress(c + 1, total)
        }
        let entries = accumulators.mapValues { Entry(sums: $0.sums.map { Float($0) }, count: Float($0.rows)) }
        return ImportanceMatrix(entries: entries, datasets: [dataset], chunkCount: total, chunkSize: context)
    }
}
