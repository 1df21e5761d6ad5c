// Dynamic int8 quantization of a model's linear layers, PyTorch's
// `torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)`: every float32
// `Linear` multiplies with an int8 copy of its weight and its input quantized on the fly; embeddings,
// layer norms and biases stay float32. For encoders (BERT, MiniLM) on CPUs this is the usual
// post-training speed-up: no calibration data, no retraining.
import LMKitNN
import LMKitTensor

public enum DynamicQuantization {
    /// What ``quantize(_:where:)`` did.
    public struct Summary: Codable, Sendable, Equatable {
        /// Linear layers now multiplying in int8.
        public let layers: Int
        /// Weights those layers hold.
        public let quantizedWeights: Int
        /// Bytes of every parameter in float32, before.
        public let floatBytes: Int
        /// Bytes after, as PyTorch saves a dynamically quantized model: one byte per quantized
        /// weight plus its scale; every other parameter (biases, embeddings, norms) in float32.
        public let quantizedBytes: Int
    }

    /// Quantizes every float32 ``Linear`` under `model` whose dotted path `include` accepts (all, by
    /// default, as PyTorch does: the classifier and pooler too) under `scheme` (``Int8Matrix/Scheme``:
    /// `.tensor` is PyTorch's default, `.channel` its per-channel qconfig, `.token` LMKit's default).
    /// Layers already quantized are requantized from their float weights.
    @discardableResult
    public static func quantize(
        _ model: Module, scheme: Int8Matrix.Scheme = .token, where include: (String) -> Bool = { _ in true }
    ) -> Summary {
        var layers = 0, weights = 0, scaleBytes = 0
        for (path, layer) in LoRAAdapters.linearLayers(in: model) {
            guard let linear = layer as? Linear, include(path), linear.weight.value.dtype == .float32 else { continue }
            let matrix = Int8Matrix(linear.weight.value, scheme: scheme)
            linear.int8 = matrix
            scaleBytes += matrix.byteCount - matrix.rows * matrix.columns
            layers += 1
            weights += linear.weight.value.count
        }
        let floatBytes = model.parameters.reduce(0) { $0 + 4 * $1.count }
        return Summary(
            layers: layers, quantizedWeights: weights, floatBytes: floatBytes,
            quantizedBytes: floatBytes - 4 * weights + weights + scaleBytes)
    }

    /// Puts every linear layer under `model` back on its float32 weights.
    public static func dequantize(_ model: Module) {
        for (_, layer) in LoRAAdapters.linearLayers(in: model) { (layer as? Linear)?.int8 = nil }
    }
}
