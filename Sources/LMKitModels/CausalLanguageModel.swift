import LMKitNN
import LMKitTensor

/// What a decoder keeps between generation steps: a transformer's keys and values, a recurrent
/// network's hidden state.
public protocol DecodingCache: AnyObject {
    /// Positions seen so far.
    var length: Int { get }
    /// Forgets everything.
    func reset()
}

extension KVCache: DecodingCache {}

extension DecodingCache {
    /// `cache` as the kind of cache `model` decodes with: nil stays nil, and another kind is a
    /// programmer error that stops here rather than decoding without a cache.
    public static func required(_ cache: (any DecodingCache)?, by model: AnyObject) -> Self? {
        guard let cache else { return nil }
        guard let typed = cache as? Self else {
            preconditionFailure("\(type(of: model)) decodes with a \(Self.self), not a \(type(of: cache)): use its makeDecodingCache()")
        }
        return typed
    }
}

/// A model that predicts the next token: what generation, perplexity and the training loop need
/// (GPT-2, the recurrent language models, and the ``CausalDecoder`` families: Llama, Gemma 3).
public protocol CausalLanguageModel: AnyObject {
    /// Longest sequence the model attends over (for a recurrent model: the length it was trained on).
    var contextLength: Int { get }
    var vocabSize: Int { get }
    /// Logits `[B, T, vocab]` for ids `[B, T]` that continue what `cache` holds.
    func logits(_ ids: Tensor, cache: (any DecodingCache)?) -> Tensor
    /// Logits `[B, vocab]` of the last position only (what generation needs: a model with a large
    /// vocabulary skips the output layer for every other position of a prompt).
    func lastLogits(_ ids: Tensor, cache: (any DecodingCache)?) -> Tensor
    func makeDecodingCache() -> any DecodingCache
    /// Mean next-token cross-entropy of `ids` `[B, T]` against `targets` `[B, T]`.
    func loss(_ ids: Tensor, targets: Tensor) -> Tensor
    /// The summed negative log-likelihood of `targets` (one per position of `ids`; −100: not scored)
    /// and how many were scored, without gradient (perplexity).
    func summedNLL(_ ids: [Int], targets: [Int]) -> (sum: Double, count: Int)
    /// Writes a model folder (`config.json`, `model.safetensors`) that loads back.
    func save(folder: String) throws
    /// Next-token log-probabilities of `ids` (a batch of one), without gradient: one pass through the
    /// model, then a function giving those of any range of positions, `[range.count, vocab]` (a few
    /// positions at a time keeps a large vocabulary's logits out of memory).
    func logProbabilities(_ ids: [Int]) -> (Range<Int>) -> Tensor
}

extension CausalLanguageModel {
    /// One forward pass over `ids` as a batch of one: the mean cross-entropy times the number of scored positions.
    public func summedNLL(_ ids: [Int], targets: [Int]) -> (sum: Double, count: Int) {
        let count = targets.filter { $0 != -100 }.count
        guard count > 0 else { return (0, 0) }
        let loss = GradMode.withoutGradient {
            logits(Tensor(indices: ids, shape: [1, ids.count]), cache: nil).crossEntropy(
                targets: Tensor(indices: targets, shape: [1, targets.count]))
        }
        return (loss.item() * Double(count), count)
    }

    /// All the logits at once, then sliced; models with a large vocabulary override this.
    public func logProbabilities(_ ids: [Int]) -> (Range<Int>) -> Tensor {
        let all: Tensor = GradMode.withoutGradient { self.logits(Tensor(indices: ids, shape: [1, ids.count]), cache: nil) }
        let logits = all.reshaped([ids.count, -1])
        return { range in GradMode.withoutGradient { logits.sliced(axis: 0, range: range).contiguous().logSoftmax() } }
    }

    /// Every position's logits, then the last one kept; models with a large vocabulary override this.
    public func lastLogits(_ ids: Tensor, cache: (any DecodingCache)?) -> Tensor {
        let l = logits(ids, cache: cache)
        return l.selected(axis: 1, index: l.shape[1] - 1)
    }
}

/// A decoder whose matrices may stay quantized in their GGUF blocks (Gemma 3, the Llama family).
public protocol QuantizedDecoder: CausalLanguageModel {
    /// The weights kept quantized, by Hugging Face name (empty for a float32 model).
    var quantized: [String: QuantizedMatrix] { get }
}

extension QuantizedDecoder {
    /// How activations meet the quantized matrices in decoding (``QuantizedMatrix/Activations``:
    /// 8-bit integers by default, as llama.cpp; `.float32` for results exact up to float rounding).
    public var quantizedActivations: QuantizedMatrix.Activations {
        get { quantized.values.first?.activations ?? .float32 }
        set { for matrix in quantized.values { matrix.activations = newValue } }
    }
}

/// A language model that is also a module (parameters, train/eval mode): what the trainer trains.
public typealias TrainableLanguageModel = Module & CausalLanguageModel

/// A model that can recompute its blocks' activations in backward instead of keeping them
/// (transformers' `gradient_checkpointing_enable()`): training memory falls from every block's
/// intermediates to one block's, for one more forward pass of compute. GPT-2 and ``CausalDecoder``.
public protocol GradientCheckpointing: AnyObject {
    /// Whether training passes (recording, no cache) run each block through ``Module/checkpointed(_:_:)``.
    var gradientCheckpointing: Bool { get set }
}

extension GPT2LMHeadModel: GradientCheckpointing {}

extension GPT2LMHeadModel: CausalLanguageModel {
    /// Longest sequence, in positions (`n_positions`).
    public var contextLength: Int { config.contextLength }
    /// Number of token ids the model predicts (`vocab_size`).
    public var vocabSize: Int { config.vocabSize }
    /// Logits `[B, T, vocab]` for ids `[B, T]`; `cache` must be the ``KVCache`` of ``makeDecodingCache()``.
    public func logits(_ ids: Tensor, cache: (any DecodingCache)?) -> Tensor { self(ids, cache: KVCache.required(cache, by: self)) }
    /// A new, empty ``KVCache`` with a slot for every block.
    public func makeDecodingCache() -> any DecodingCache { makeCache() }
}

/// Tokens per step when a long prompt fills a KV cache: the activations of one step (~60 KB per
/// token for Gemma 3 270M, on top of the cache) are then bounded, at the cost of smaller products.
public let promptChunkTokens = 256

/// The hidden states of `ids` continuing `cache`, computed `promptChunkTokens` positions at a time
/// when there is a cache and no gradient is recorded (the result's last position is what generation
/// needs; earlier chunks are dropped). Without a cache the whole sequence goes at once.
func promptHiddenStates(_ ids: Tensor, cache: KVCache?, _ forward: (Tensor, KVCache?) -> Tensor) -> Tensor {
    let t = ids.shape[1]
    guard let cache, t > promptChunkTokens, !GradMode.isRecording else { return forward(ids, cache) }
    var h: Tensor?
    for start in stride(from: 0, to: t, by: promptChunkTokens) {
        h = forward(ids.sliced(axis: 1, range: start..<min(start + promptChunkTokens, t)).contiguous(), cache)
    }
    return h!
}

/// ``CausalLanguageModel/summedNLL(_:targets:)`` for models with a large vocabulary: the output layer
/// runs on `rows` positions at a time, so the logits of a long text (Gemma 3: 262,144 per position,
/// 1 MB) are never all in memory.
func chunkedNLL(hidden h: Tensor, targets: [Int], rows: Int = 32, output: (Tensor) -> Tensor) -> (sum: Double, count: Int) {
    let t = h.shape[1]
    let flat = h.reshaped([t, h.shape[2]])
    var sum = 0.0, count = 0
    for start in stride(from: 0, to: t, by: rows) {
        let end = min(start + rows, t)
        guard targets[start..<end].contains(where: { $0 != -100 }) else { continue }
        let logProbabilities = output(flat.sliced(axis: 0, range: start..<end).contiguous()).logSoftmax()
        let v = logProbabilities.shape[1]
        let p = logProbabilities.scalars(as: Float.self)
        for i in start..<end where targets[i] != -100 {
            sum -= Double(p[(i - start) * v + targets[i]]); count += 1
        }
    }
    return (sum, count)
}
