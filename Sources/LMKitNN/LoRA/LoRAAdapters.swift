import Foundation
import LMKitTensor

/// The LoRA adapters of one model: a ``LowRankAdapter`` on each targeted linear layer, with the base
/// model's weights frozen (peft's `get_peft_model`).
///
/// The adapters are this module's parameters, under the keys peft saves
/// (`base_model.model.<layer path>.lora_A.weight`), so ``stateDict()`` is an `adapter_model.safetensors`
/// and an optimizer over ``namedParameters()`` trains the adapters alone. The base model keeps its own
/// keys: it still saves, loads and merges as a plain checkpoint.
///
/// ```swift
/// let lora = try LoRAAdapters(attachingTo: model, config: LoRAConfig(targets: .allLinear), seed: 1)
/// // train lora.namedParameters(); then
/// try lora.save(folder: "adapter")          // adapter_config.json + adapter_model.safetensors
/// try lora.merge()                          // or: W += scaling · B·A in every float layer
/// ```
public final class LoRAAdapters: Module {
    /// peft's prefix of every adapter key.
    public static let keyPrefix = "base_model.model."

    /// What the adapters were built from (and what `adapter_config.json` says).
    public let config: LoRAConfig
    /// Each adapted layer with its checkpoint path (`model.layers.0.self_attn.q_proj`) and adapter.
    public let layers: [(path: String, layer: any AdaptableLinear, adapter: LowRankAdapter)]

    /// Puts a new adapter on every layer of `model` that `config` targets (A random from `seed`, B
    /// zero) and freezes the model's own parameters. A config that matches no layer is an error.
    public init(attachingTo model: Module, config: LoRAConfig, seed: UInt64 = 0) throws(LoRAError) {
        try config.validate()
        let found = LoRAAdapters.linearLayers(in: model).filter { config.targets($0.path) }
        guard !found.isEmpty else {
            let names = Set(LoRAAdapters.linearLayers(in: model).map { $0.path.split(separator: ".").last.map(String.init) ?? $0.path })
            throw LoRAError(
                "the LoRA targets \(config.targets) match no linear layer of the model (its layers: \(names.sorted().joined(separator: ", ")))"
            )
        }
        if let taken = found.first(where: { $0.layer.adapter != nil }) {
            throw LoRAError("\(taken.path) already carries an adapter")
        }
        var generator = RandomGenerator(seed: seed)
        var made: [(String, any AdaptableLinear, LowRankAdapter)] = []
        for (path, layer) in found {
            let (rank, scaling) = config.shape(at: path)
            let adapter = LowRankAdapter(
                inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, rank: rank, scaling: scaling,
                dropout: config.dropout, generator: &generator)
            made.append((path, layer, adapter))
        }
        self.config = config
        layers = made
        super.init()
        model.freeze()
        for (path, layer, adapter) in made {
            layer.adapter = adapter
            register(adapter, atPath: LoRAAdapters.keyPrefix + path)
        }
    }

    /// Every linear layer that can carry an adapter, with its dotted path, depth first.
    public static func linearLayers(in module: Module, prefix: String = "") -> [(path: String, layer: any AdaptableLinear)] {
        var out: [(String, any AdaptableLinear)] = []
        for (name, child) in module.children {
            let path = prefix + name
            if let layer = child as? any AdaptableLinear {
                out.append((path, layer))
            } else {
                out += linearLayers(in: child, prefix: path + ".")
            }
        }
        return out
    }

    /// The layer names the adapters sit on (`q_proj`, `v_proj`, …), as `target_modules` lists them.
    public var targetNames: [String] {
        Array(Set(layers.map { $0.path.split(separator: ".").last.map(String.init) ?? $0.path })).sorted()
    }

    /// Takes the adapters off the model; the base layers compute as before attaching (still frozen).
    public func detach() {
        for (_, layer, adapter) in layers where layer.adapter === adapter { layer.adapter = nil }
    }

    /// Adds each adapter's update into its layer's weight (`W += scaling · B·A`) and takes the
    /// adapters off: the model then computes what it computed with them, at the base model's cost.
    /// Layers whose weights stay quantized cannot take the update: expand the model to float32
    /// first, or merge into its float weights with ``merged(into:)``.
    public func merge() throws(LoRAError) {
        if let q = layers.first(where: { !($0.layer is Linear) }) {
            throw LoRAError("\(q.path) keeps its weights quantized: merge into float weights (merged(into:)) instead")
        }
        for (_, layer, adapter) in layers {
            guard let linear = layer as? Linear else { continue }
            let w = linear.weight.value.detached()
            linear.weight.assign(GradMode.withoutGradient { w + adapter.delta().converted(to: w.dtype) })
        }
        detach()
    }

    /// `weights` (by checkpoint key, `[out, in]` matrices) with every adapter's update added to
    /// `<path>.weight`: the merged model's tensors, for a base whose weights are quantized.
    public func merged(into weights: [String: Tensor]) throws(LoRAError) -> [String: Tensor] {
        var out = weights
        for (path, _, adapter) in layers {
            let key = path + ".weight"
            guard let w = out[key] else { throw LoRAError("the merged weights have no \(key)") }
            let d = adapter.delta()
            guard w.shape == d.shape else { throw LoRAError("\(key) is \(w.shape), the adapter's update \(d.shape)") }
            out[key] = GradMode.withoutGradient { (w.converted(to: .float32) + d.converted(to: .float32)).contiguous() }
        }
        return out
    }
}
