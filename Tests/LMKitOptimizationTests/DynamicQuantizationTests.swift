import CLMKitKernels
import Foundation
import LMKitModels
import LMKitNN
import LMKitOptimization
import LMKitTensor
import Testing
import TestSupport

/// Dynamic int8 quantization against PyTorch's quantize_dynamic (x86 / fbgemm) and, for LMKit's
/// per-token scheme, the same arithmetic in numpy (Tools/golden/int8_dynamic.py): quantized weights
/// and scales exactly, one layer's output and tiny-bert-cls's logits within float rounding, on every
/// instruction set this CPU has.
@Suite struct DynamicQuantizationTests {
    static let golden = Result { try SafetensorsFile(path: fixturePath("quant/int8_dynamic.safetensors")).tensors() }

    static var isas: [Int32] {
        [Int32(LMK_ISA_SCALAR), Int32(LMK_ISA_AVX2), Int32(LMK_ISA_AVX512_VNNI)].filter { $0 <= lmk_best_isa() }
    }

    @Test(arguments: Int8Matrix.Scheme.allCases)
    func weightsAndScalesEqualTheReference(scheme: Int8Matrix.Scheme) throws {
        let g = try Self.golden.get()
        let matrix = Int8Matrix(try #require(g["linear.weight"]), scheme: scheme)
        #expect(matrix.quantizedWeights().map(Float.init) == (try #require(g["linear.\(scheme).q"])).floats)
        #expect(matrix.scales == (try #require(g["linear.\(scheme).scales"])).floats)
    }

    @Test(arguments: Int8Matrix.Scheme.allCases)
    func layerOutputEqualsTheReference(scheme: Int8Matrix.Scheme) throws {
        let g = try Self.golden.get()
        let matrix = Int8Matrix(try #require(g["linear.weight"]), scheme: scheme)
        let x = try #require(g["linear.x"]), bias = try #require(g["linear.bias"])
        let expected = try #require(g["linear.\(scheme).y"])
        for isa in Self.isas {
            let y = matrix.linear(x, bias: bias, isa: isa)
            let c = compare(y, expected, rtol: 1e-6, atol: 1e-6)
            #expect(c.withinTolerance, "\(scheme), isa \(isa): \(c)")
        }
    }

    /// Every instruction set computes the same integers, so the same floats, on shapes that leave
    /// partial panels, odd row counts and inputs that are not a multiple of 4.
    @Test func instructionSetsAgreeExactly() {
        var generator = RandomGenerator(seed: 7)
        for (m, k, n) in [(1, 5, 3), (13, 37, 33), (6, 64, 32), (40, 384, 1536)] {
            let w = Tensor.randomNormal([n, k], generator: &generator)
            let x = Tensor.randomNormal([m, k], generator: &generator)
            let b = Tensor.randomNormal([n], generator: &generator)
            for scheme in Int8Matrix.Scheme.allCases {
                let matrix = Int8Matrix(w, scheme: scheme)
                let reference = matrix.linear(x, bias: b, isa: Int32(LMK_ISA_SCALAR)).floats
                for isa in Self.isas.dropFirst() {
                    #expect(matrix.linear(x, bias: b, isa: isa).floats == reference, "\(m)×\(k)×\(n) \(scheme) isa \(isa)")
                }
                // Close to the float product: per-token error stays small.
                if scheme == .token {
                    let exact = Tensor.linear(x, weight: w, bias: b)
                    let c = compare(matrix.linear(x, bias: b), exact, rtol: 0.05, atol: 0.05 * Double(k).squareRoot())
                    #expect(c.withinTolerance, "\(m)×\(k)×\(n): \(c)")
                }
            }
        }
    }

    @Test func activationParametersFollowFBGEMM() {
        // Symmetric range: zero point from the nearer end.
        let p = Int8Matrix.activationParameters(min: -1, max: 1, qmax: 127)
        #expect(p.scale == Float(2.0 / 127.0) && p.zeroPoint == 64)
        // All-positive input: the range still holds 0, zero point 0.
        #expect(Int8Matrix.activationParameters(min: 2, max: 4, qmax: 255) == .init(scale: Float(4.0 / 255.0), zeroPoint: 0))
        // All zeros: scale 0.1, as fbgemm.
        #expect(Int8Matrix.activationParameters(min: 0, max: 0) == .init(scale: 0.1, zeroPoint: 0))
        // A tiny range is stretched to the smallest scale.
        #expect(Int8Matrix.activationParameters(min: 0, max: 1e-6).scale == Float(6.1e-5))
    }

    @Test(arguments: [Int8Matrix.Scheme.tensor, .channel])
    func tinyBertLogitsEqualPyTorch(scheme: Int8Matrix.Scheme) throws {
        let g = try Self.golden.get()
        let inputs = try SafetensorsFile(path: fixturePath("encoders/goldens/tiny-bert-cls.safetensors")).tensors()
        let (model, _) = try SequenceClassificationModel.load(folder: fixturePath("encoders/tiny-bert-cls"))
        model.eval()
        let summary = DynamicQuantization.quantize(model, scheme: scheme)
        #expect(summary.layers == 2 * 6 + 2)  // q, k, v, attention output, FFN in, FFN out per layer; pooler; classifier
        // Hidden 32, FFN 64, 3 labels: 2 · (4·32·32 + 2·32·64) + 32·32 + 3·32 weights in 2 · (4·32 + 64 + 32) + 32 + 3 rows.
        #expect(summary.quantizedWeights == 17_504)
        let scales = scheme == .tensor ? 14 : 483
        #expect(summary.quantizedBytes == summary.floatBytes - 3 * 17_504 + 4 * scales)
        let ids = try #require(inputs["input_ids"]), mask = try #require(inputs["attention_mask"])
        let out = model.encoder(ids, typeIDs: inputs["token_type_ids"], attentionMask: mask)
        let c = compare(model.logits(out.lastHiddenState), try #require(g["bert.\(scheme).logits"]), rtol: 1e-4, atol: 1e-5)
        #expect(c.withinTolerance, "\(scheme): \(c)")
        // Back to float32: the float logits again.
        DynamicQuantization.dequantize(model)
        let float = model.logits(model.encoder(ids, typeIDs: inputs["token_type_ids"], attentionMask: mask).lastHiddenState)
        #expect(compare(float, try #require(inputs["logits"]), rtol: 1e-4, atol: 1e-5).withinTolerance)
    }
}
