import LMKitTensor

/// Builds a model's layers under their checkpoint keys, so that the construction code is the weight
/// map (candle's `VarBuilder`, `vb.pp("self_attn")`): each key is written once, and the same path
/// registers the layer, names it in strict loading, and finds its quantized matrix.
///
/// A module takes a builder for its own key prefix, builds its parts through it, and registers what
/// was built once `super.init()` has run:
///
/// ```swift
/// final class Block: Module {
///     let norm: RMSNorm, proj: any Module & LinearMap
///     init(width: Int, _ b: WeightBuilder) {
///         norm = b.rmsNorm("input_layernorm", width)
///         proj = b.linear("self_attn.o_proj", width, width)     // key: <prefix>self_attn.o_proj.weight
///         super.init()
///         register(builtBy: b)
///     }
/// }
/// let block = Block(width: 8, WeightBuilder(.random(seed: 0)))          // keys: input_layernorm.weight, …
/// // In a model: `layers = (0..<n).map { i in b.module("layers.\(i)") { Block(width: 8, $0) } }`,
/// // and the model's keys are layers.0.input_layernorm.weight, …
/// ```
///
/// A linear layer or embedding whose `<key>.weight` is among `quantized` stays in its GGUF blocks
/// (``QuantizedLinear``, ``QuantizedEmbedding``); every other weight is a float parameter, random
/// (a new model) or zero (a checkpoint loads right after). ``problems`` then lists the quantized
/// matrices of the wrong shape and those no layer took: a file that does not fit the model.
public final class WeightBuilder {
    /// How float parameters start.
    public enum Initialization: Sendable {
        /// PyTorch's default initialization, drawn from a stream seeded here.
        case random(seed: UInt64)
        /// Zeros: a checkpoint is loaded right after.
        case zeros
    }

    /// What every builder of one model shares: the random stream and the quantized matrices.
    final class Shared {
        var generator: RandomGenerator
        let random: Bool
        let quantized: [String: QuantizedMatrix]
        var usedQuantized: Set<String> = []
        var problems: [String] = []

        init(_ initialization: Initialization, quantized: [String: QuantizedMatrix]) {
            switch initialization {
            case .random(let seed): (generator, random) = (RandomGenerator(seed: seed), true)
            case .zeros: (generator, random) = (RandomGenerator(seed: 0), false)
            }
            self.quantized = quantized
        }
    }

    /// The key prefix of what this builder makes, with its trailing dot (`model.layers.3.`), or "".
    public let keyPrefix: String
    let shared: Shared
    /// Where this builder's parts are registered, relative to the module that owns them.
    private let relativePrefix: String
    /// Parts built for the owning module, by path relative to it (shared with `prefixed` builders).
    private let built: Built

    final class Built { var parts: [(path: String, module: Module)] = [] }

    /// A builder for a new model; `quantized` holds the matrices that stay quantized, by full key.
    public convenience init(_ initialization: Initialization, quantized: [String: QuantizedMatrix] = [:]) {
        self.init(keyPrefix: "", relativePrefix: "", shared: Shared(initialization, quantized: quantized), built: Built())
    }

    private init(keyPrefix: String, relativePrefix: String, shared: Shared, built: Built) {
        self.keyPrefix = keyPrefix
        self.relativePrefix = relativePrefix
        self.shared = shared
        self.built = built
    }

    /// The builder for keys under `name` (dotted paths allowed), whose parts the same module owns.
    public func prefixed(_ name: String) -> WeightBuilder {
        WeightBuilder(keyPrefix: keyPrefix + name + ".", relativePrefix: relativePrefix + name + ".", shared: shared, built: built)
    }

    /// Whether float parameters start random (else zero).
    public var isRandom: Bool { shared.random }

    /// The random stream for parameters a layer draws itself.
    public func withGenerator<R>(_ body: (inout RandomGenerator) -> R) -> R { body(&shared.generator) }

    /// Builds a child module under `name` with a builder of its own (the child registers its parts),
    /// and records it for the owning module.
    public func module<M: Module>(_ name: String, _ make: (WeightBuilder) -> M) -> M {
        let child = WeightBuilder(keyPrefix: keyPrefix + name + ".", relativePrefix: "", shared: shared, built: Built())
        return record(name, make(child))
    }

    /// Records `module`, built by the caller, under `name`.
    @discardableResult
    public func record<M: Module>(_ name: String, _ module: M) -> M {
        built.parts.append((relativePrefix + name, module))
        return module
    }

    /// The quantized matrix stored as `<prefix><name>.weight`, marked as used, when it has `rows` ×
    /// `columns`. One of another shape (a malformed file) is recorded in ``problems`` and not used.
    public func quantizedMatrix(_ name: String, rows: Int, columns: Int) -> QuantizedMatrix? {
        let key = keyPrefix + name + ".weight"
        guard let m = shared.quantized[key] else { return nil }
        shared.usedQuantized.insert(key)
        guard m.rows == rows && m.columns == columns else {
            shared.problems.append("\(key) is \(m.rows)×\(m.columns), the model needs \(rows)×\(columns)")
            return nil
        }
        return m
    }

    /// `name`: a linear map `[…, inputs] → […, outputs]` (`<name>.weight: [outputs, inputs]`, and
    /// `<name>.bias` with `bias`), quantized when the checkpoint keeps its weight quantized.
    public func linear(_ name: String, _ inputs: Int, _ outputs: Int, bias: Bool = false) -> any Module & LinearMap {
        if let m = quantizedMatrix(name, rows: outputs, columns: inputs) { return record(name, QuantizedLinear(m, bias: bias)) }
        let layer =
            shared.random
            ? Linear(inputs, outputs, bias: bias, generator: &shared.generator)
            : Linear(weight: .zeros([outputs, inputs]), bias: bias ? .zeros([outputs]) : nil)
        return record(name, layer)
    }

    /// `name`: a token embedding of `count` rows of `dimension` (quantized when the checkpoint keeps it so).
    public func embedding(_ name: String, _ count: Int, _ dimension: Int) -> any TokenEmbedding {
        if let m = quantizedMatrix(name, rows: count, columns: dimension) { return record(name, QuantizedEmbedding(m)) }
        let table =
            shared.random ? Embedding(count, dimension, generator: &shared.generator) : Embedding(weight: .zeros([count, dimension]))
        return record(name, table)
    }

    /// `name`: an RMS norm over `dimension` (see ``RMSNorm`` for `weightOffset`).
    public func rmsNorm(_ name: String, _ dimension: Int, eps: Double, weightOffset: Double = 0) -> RMSNorm {
        record(name, RMSNorm(dimension, eps: eps, weightOffset: weightOffset))
    }

    /// What does not fit so far: quantized matrices of the wrong shape, and those no layer has taken
    /// (a file with tensors the model has no place for). Empty when the checkpoint fits.
    public var problems: [String] {
        shared.problems
            + shared.quantized.keys.filter { !shared.usedQuantized.contains($0) }.sorted().map { "no place in the model for \($0)" }
    }

    /// Parts built for the owning module, by path relative to it, in build order.
    var parts: [(path: String, module: Module)] { built.parts }
}

extension Module {
    /// Registers every part `builder` (and the builders `prefixed` from it) made for this module,
    /// under its key.
    public func register(builtBy builder: WeightBuilder) {
        for (path, module) in builder.parts { register(module, atPath: path) }
    }
}
