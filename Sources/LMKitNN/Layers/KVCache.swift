import LMKitTensor

/// Keys and values of the positions a decoder has already seen, one pair per layer, so that
/// generating a token costs one position of attention per layer instead of the whole sequence again.
///
/// Each `append` returns the layer's keys and values so far: `[B, H, length, head size]`.
public final class KVCache {
    /// Per layer: buffers `[B, H, capacity, D]` whose first `length` positions are filled.
    private var keys: [Tensor?]
    private var values: [Tensor?]
    private var filled: [Int]
    /// Positions stored (the same in every layer once a forward pass is over).
    public private(set) var length = 0

    /// An empty cache for `layers` layers; buffers are allocated on the first append.
    public init(layers: Int) {
        keys = Array(repeating: nil, count: layers)
        values = Array(repeating: nil, count: layers)
        filled = Array(repeating: 0, count: layers)
    }

    /// Adds this step's `k, v: [B, H, T, D]` to layer `layer`; returns everything stored for it.
    ///
    /// Outside gradient recording the positions go into a preallocated buffer that doubles when
    /// full, and views of its filled part are returned: a generation step copies only its own keys
    /// and values instead of the whole cache. While gradients are recorded (training through a
    /// cache), the cache concatenates, so that backward reaches every step.
    public func append(layer: Int, key k: Tensor, value v: Tensor) -> (key: Tensor, value: Tensor) {
        let old = filled[layer], t = k.shape[2]
        if GradMode.isRecording {
            let newK = keys[layer].map { Tensor.concatenated([$0.sliced(axis: 2, range: 0..<old), k], axis: 2) } ?? k
            let newV = values[layer].map { Tensor.concatenated([$0.sliced(axis: 2, range: 0..<old), v], axis: 2) } ?? v
            keys[layer] = newK; values[layer] = newV
            return finish(layer: layer, count: old + t)
        }
        // No copy of the buffer may be alive during the write (`if let buffer = …` would hold one
        // through the branch): `write` would then copy the whole cache instead of writing in place.
        let fits = keys[layer].map {
            $0.shape[2] >= old + t && $0.shape[0] == k.shape[0] && $0.shape[1] == k.shape[1] && $0.isContiguous && !$0.requiresGradient
        }
        if fits == true {
            keys[layer]!.write(k, axis: 2, at: old)
            values[layer]!.write(v, axis: 2, at: old)
        } else {
            let capacity = max(64, 2 * (old + t))
            keys[layer] = grown(keys[layer], filled: old, with: k, capacity: capacity)
            values[layer] = grown(values[layer], filled: old, with: v, capacity: capacity)
        }
        return finish(layer: layer, count: old + t)
    }

    private func finish(layer: Int, count: Int) -> (key: Tensor, value: Tensor) {
        filled[layer] = count
        if layer == keys.count - 1 { length = count }
        return (keys[layer]!.sliced(axis: 2, range: 0..<count), values[layer]!.sliced(axis: 2, range: 0..<count))
    }

    /// A new buffer of `capacity` positions holding the first `filled` positions of `old` and then `new`.
    private func grown(_ old: Tensor?, filled: Int, with new: Tensor, capacity: Int) -> Tensor {
        var shape = new.shape
        shape[2] = capacity
        var buffer = Tensor.zeros(shape, dtype: new.dtype)
        if let old, filled > 0 { buffer.write(old.sliced(axis: 2, range: 0..<filled), axis: 2, at: 0) }
        buffer.write(new, axis: 2, at: filled)
        return buffer
    }

    /// Keeps only the first `count` positions (to rewind a shared prefix).
    public func truncate(to count: Int) {
        for l in filled.indices { filled[l] = min(filled[l], count) }
        length = min(length, count)
    }

    /// Forgets everything (the buffers are kept for reuse).
    public func reset() {
        for l in filled.indices { filled[l] = 0 }
        length = 0
    }
}
