import LMKitTensor
import Testing

@testable import LMKitOptimization

/// llama.cpp's type mixes (`llama_tensor_get_type`), on the tensor lists of a 16-layer Llama-shaped
/// model (rows of 2048) and a Gemma-shaped one (rows of 640, which no 256-weight block fills):
/// where _M and _S put the extra bits, the output layer's type, the fallbacks, and the importance-
/// matrix rule for Q4_0. The whole files are compared with llama-quantize's in benchmarks/optimization.
@Suite struct QuantizationPresetTests {
    func tensors(layers: Int, width: Int, hidden: Int, tied: Bool) -> [(name: String, shape: [Int])] {
        var out: [(name: String, shape: [Int])] = [("token_embd.weight", [1000, width]), ("output_norm.weight", [width])]
        if !tied { out.append(("output.weight", [1000, width])) }
        // Layers listed last to first: llama.cpp counts them in layer order, whatever the file order.
        for i in (0..<layers).reversed() {
            out += [
                ("blk.\(i).attn_norm.weight", [width]), ("blk.\(i).attn_q.weight", [width, width]),
                ("blk.\(i).attn_k.weight", [width / 4, width]), ("blk.\(i).attn_v.weight", [width / 4, width]),
                ("blk.\(i).attn_output.weight", [width, width]), ("blk.\(i).ffn_gate.weight", [hidden, width]),
                ("blk.\(i).ffn_up.weight", [hidden, width]), ("blk.\(i).ffn_down.weight", [width, hidden]),
            ]
        }
        return out
    }

    func plan(_ name: String) -> TensorTypePlan { TensorTypePlan(preset: QuantizationPreset(name: name)!) }

    @Test func mediumMixesGiveSixBitsWhereLlamaCppDoes() {
        let list = tensors(layers: 16, width: 2048, hidden: 4096, tied: false)
        let (types, fallbacks) = plan("q4_k_m").types(for: list)
        // use_more_bits(i, 16): i < 2, i ≥ 14, or (i − 2) % 3 == 2.
        let more: Set = [0, 1, 4, 7, 10, 13, 14, 15]
        for i in 0..<16 {
            #expect(types["blk.\(i).attn_v.weight"] == (more.contains(i) ? .q6_K : .q4_K), "attn_v \(i)")
            #expect(types["blk.\(i).ffn_down.weight"] == (more.contains(i) ? .q6_K : .q4_K), "ffn_down \(i)")
            #expect(types["blk.\(i).attn_q.weight"] == .q4_K && types["blk.\(i).ffn_up.weight"] == .q4_K)
            #expect(types["blk.\(i).attn_norm.weight"] == .f32)
        }
        #expect(types["output.weight"] == .q6_K && types["token_embd.weight"] == .q4_K && fallbacks.isEmpty)
        #expect(QuantizationPreset(name: "q4_k") == QuantizationPreset(name: "Q4_K_M"))
        let q5 = plan("q5_k_m").types(for: list).types
        #expect(q5["blk.4.attn_v.weight"] == .q6_K && q5["blk.5.attn_v.weight"] == .q5_K && q5["output.weight"] == .q6_K)
    }

    @Test func smallMixesAndPureAndTiedEmbeddings() {
        let list = tensors(layers: 16, width: 2048, hidden: 4096, tied: true)
        let small = plan("q4_k_s").types(for: list).types
        for i in 0..<16 {
            #expect(small["blk.\(i).attn_v.weight"] == (i < 4 ? .q5_K : .q4_K), "attn_v \(i)")
            #expect(small["blk.\(i).ffn_down.weight"] == (i < 2 ? .q5_K : .q4_K), "ffn_down \(i)")
        }
        // Tied: the token embedding is the output layer, and is kept as it is.
        #expect(small["token_embd.weight"] == .q6_K)
        var pure = plan("q4_k_m")
        pure.pure = true
        let p = pure.types(for: list).types
        #expect(p["blk.0.attn_v.weight"] == .q4_K && p["token_embd.weight"] == .q4_K)
        #expect(plan("q8_0").types(for: list).types["token_embd.weight"] == .q8_0)
        #expect(plan("f16").types(for: list).types["token_embd.weight"] == .f16)
    }

    @Test func rowsThatDoNotFillBlocksFallBack() {
        let list = tensors(layers: 18, width: 640, hidden: 2048, tied: true)
        let (types, fallbacks) = plan("q4_k_m").types(for: list)
        #expect(types["blk.0.attn_q.weight"] == .q5_0 && types["blk.0.ffn_down.weight"] == .q6_K && types["blk.2.ffn_down.weight"] == .q4_K)
        #expect(types["blk.0.attn_v.weight"] == .q8_0 && types["token_embd.weight"] == .q8_0)
        #expect(fallbacks.count == 18 * 6)  // every matrix of 640 columns: all but ffn_down
        #expect(plan("q5_k_s").types(for: list).types["blk.3.ffn_up.weight"] == .q5_1)
        #expect(TensorTypePlan.fallback(.q4_0, columns: 40) == .f16)
    }

    @Test func importanceKeepsTheFirstFfnDownLayersOfQ4_0AtQ4_1() {
        let list = tensors(layers: 16, width: 2048, hidden: 4096, tied: false)
        var p = plan("q4_0")
        #expect(p.types(for: list).types["blk.1.ffn_down.weight"] == .q4_0)
        p.hasImportance = true
        let types = p.types(for: list).types
        #expect(types["blk.1.ffn_down.weight"] == .q4_1 && types["blk.2.ffn_down.weight"] == .q4_0 && types["output.weight"] == .q6_K)
    }
}
