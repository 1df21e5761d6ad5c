import LMKitNN
import LMKitTensor

/// A decoder that predicts the next token: what generation and perplexity evaluation need from a
/// model (GPT-2 here; the Llama family and Gemma in the same shape).
public protocol CausalLanguageModel: AnyObject {
    /// Longest sequence the model can attend over.
    var contextLength: Int { get }
    var vocabularySize: Int { get }
    /// Logits `[B, T, vocab]` for ids `[B, T]` that continue what `cache` holds.
    func logits(_ ids: Tensor, cache: KVCache?) -> Tensor
    func makeCache() -> KVCache
}

extension GPT2LMHeadModel: CausalLanguageModel {
    public var contextLength: Int { config.contextLength }
    public var vocabularySize: Int { config.vocabSize }
    public func logits(_ ids: Tensor, cache: KVCache?) -> Tensor { self(ids, cache: cache) }
}
