import LMKitTensor

/// Keys and values of the positions a decoder has already seen, one pair per layer, so that
/// generating a token costs one position of attention per layer instead of the whole sequence again.
///
/// Each `append` returns the layer's keys and values so far: `[B, H, length, head size]`.
public final class KVCache {
    private var keys: [Tensor?]
    private var values: [Tensor?]
    /// Positions stored (the same in every layer once a forward pass is over).
    public private(set) var length = 0

    public init(layers: Int) {
        keys = Array(repeating: nil, count: layers)
        values = Array(repeating: nil, count: layers)
    }

    /// Adds this step's `k, v: [B, H, T, D]` to layer `layer`; returns everything stored for it.
    public func append(layer: Int, key k: Tensor, value v: Tensor) -> (key: Tensor, value: Tensor) {
        let newK = keys[layer].map { Tensor.concatenated([$0, k], axis: 2) } ?? k
        let newV = values[layer].map { Tensor.concatenated([$0, v], axis: 2) } ?? v
        keys[layer] = newK
        values[layer] = newV
        if layer == keys.count - 1 { length = newK.shape[2] }
        return (newK, newV)
    }

    /// Keeps only the first `count` positions (to rewind a shared prefix).
    public func truncate(to count: Int) {
        for l in keys.indices {
            keys[l] = keys[l].map { $0.sliced(axis: 2, range: 0..<min(count, $0.shape[2])).contiguous() }
            values[l] = values[l].map { $0.sliced(axis: 2, range: 0..<min(count, $0.shape[2])).contiguous() }
        }
        length = min(length, count)
    }

    /// Forgets everything.
    public func reset() {
        for l in keys.indices { keys[l] = nil; values[l] = nil }
        length = 0
    }
}
