// Structured pruning's last step: a decoder rebuilt with fewer MLP neurons and query heads in every
// layer, its matrices cut down to the rows and columns that remain. The result is an ordinary,
// smaller model of the same family: its config.json says the new sizes, and transformers, llama.cpp
// and LMKit load it as they load any other.
import LMKitNN
import LMKitTensor

extension CausalDecoder {
    /// The model keeping, in layer `l`, the MLP neurons `neurons[l]` (rows of gate/up, columns of
    /// down) and the query heads `queryHeads[l]` (rows of q, columns of o); nil keeps them all. Every
    /// layer keeps as many of each; query heads must stay as many per key/value group.
    public func shrunk(neurons: [[Int]]?, queryHeads: [[Int]]?) throws(ModelError) -> CausalDecoder<Family> {
        let o = config.layer(0)
        let (heads, kvHeads, headSize) = (o.attention.heads, o.attention.kvHeads, o.attention.headSize)
        let group = heads / kvHeads
        if let neurons {
            guard neurons.count == config.layers, let n = neurons.first?.count, n > 0, neurons.allSatisfy({ $0.count == n }),
                neurons.allSatisfy({ $0.allSatisfy { (0..<o.hidden).contains($0) } && Set($0).count == $0.count })
            else { throw ModelError("structured pruning: every layer must keep the same number (≥ 1) of distinct MLP neurons") }
        }
        if let queryHeads {
            guard queryHeads.count == config.layers, let n = queryHeads.first?.count, n > 0, n % kvHeads == 0,
                queryHeads.allSatisfy({ $0.count == n && Set($0).count == n && $0.allSatisfy { (0..<heads).contains($0) } }),
                queryHeads.allSatisfy({ kept in (0..<kvHeads).allSatisfy { g in kept.filter { $0 / group == g }.count == n / kvHeads } })
            else {
                throw ModelError(
                    "structured pruning: every layer must keep the same number of query heads in each of its \(kvHeads) key/value groups")
            }
        }
        var weights = floatWeights()
        func rows(_ key: String, _ keep: [Int]) {
            guard let t = weights[key] else { return }
            weights[key] = GradMode.withoutGradient { t.contiguous().gatheringRows(Tensor(indices: keep, shape: [keep.count])) }
        }
        func columns(_ key: String, _ keep: [Int]) {
            guard let t = weights[key] else { return }
            weights[key] = GradMode.withoutGradient {
                t.transposed().contiguous().gatheringRows(Tensor(indices: keep, shape: [keep.count])).transposed().contiguous()
            }
        }
        for l in 0..<config.layers {
            let p = "model.layers.\(l)."
            if let keep = neurons?[l].sorted() {
                for name in ["mlp.gate_proj.weight", "mlp.gate_proj.bias", "mlp.up_proj.weight", "mlp.up_proj.bias"] {
                    rows(p + name, keep)
                }
                columns(p + "mlp.down_proj.weight", keep)
            }
            if let kept = queryHeads?[l].sorted() {
                let dims = kept.flatMap { h in (h * headSize)..<((h + 1) * headSize) }
                rows(p + "self_attn.q_proj.weight", dims)
                rows(p + "self_attn.q_proj.bias", dims)
                columns(p + "self_attn.o_proj.weight", dims)
            }
        }
        let resized = config.resized(heads: queryHeads?.first?.count ?? heads, intermediateSize: neurons?.first?.count ?? o.hidden)
        let model = try CausalDecoder(resized, randomInit: false)
        do { try model.load(weights) } catch { throw ModelError("structured pruning: \(error.description)") }
        model.eval()
        return model
    }
}
