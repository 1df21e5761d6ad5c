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
        let inputs = try Calibration.chunks(tokenizer: tokenizer, text: text, chunks: chunks, context: context, startingWithBOS: true)
        let layers = Calibration.linearLayers(module).compactMap { hf, layer -> (key: String, layer: any InputObservingLinear)? in
            guard let gguf = named.ggufName(of: hf), gguf.hasPrefix("blk.") else { return nil }
            return (gguf, layer)
        }
        let sums = Calibration.inputSquares(of: layers, model: model, chunks: inputs, progress: progress)
        let entries = sums.mapValues { Entry(sums: $0.sums.map { Float($0) }, count: Float($0.rows)) }
        return ImportanceMatrix(entries: entries, datasets: [dataset], chunkCount: inputs.count, chunkSize: context)
    }
}
