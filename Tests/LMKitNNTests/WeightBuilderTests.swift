import LMKitNN
import LMKitTensor
import Testing

/// The weight builder: keys written once give the module tree its checkpoint names, quantized
/// matrices replace float layers by key, and a checkpoint that does not fit is reported, not a crash.
@Suite struct WeightBuilderTests {
    final class Block: Module {
        let norm: RMSNorm, attention: GroupedQueryAttention, head: any Module & LinearMap
        init(_ b: WeightBuilder) {
            norm = b.rmsNorm("input_layernorm", 8, eps: 1e-6)
            attention = b.module("self_attn") { GroupedQueryAttention(.init(width: 8, heads: 2, kvHeads: 1, headSize: 4), $0) }
            head = b.prefixed("out").linear("proj", 8, 32)
            super.init()
            register(builtBy: b)
        }
    }

    static func q8(rows: Int, columns: Int) -> QuantizedMatrix {
        QuantizedMatrix(type: .q8_0, rows: rows, columns: columns, bytes: [UInt8](repeating: 0, count: rows * columns / 32 * 34))
    }

    @Test func keysComeFromTheBuilderPaths() {
        let block = Block(WeightBuilder(.random(seed: 1)))
        #expect(
            block.namedParameters().map(\.name) == [
                "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                "self_attn.o_proj.weight", "out.proj.weight",
            ])
    }

    @Test func aChildModuleTakesItsKeysFromItsPath() {
        final class Model: Module {
            let block: Block
            init(_ b: WeightBuilder) {
                block = b.prefixed("model").module("layers.0") { Block($0) }
                super.init()
                register(builtBy: b)
            }
        }
        let model = Model(WeightBuilder(.zeros))
        #expect(model.namedParameters().first?.name == "model.layers.0.input_layernorm.weight")
        #expect(model.block.namedParameters().first?.name == "input_layernorm.weight")
    }

    @Test func quantizedMatricesAreFoundByFullKey() {
        let b = WeightBuilder(.zeros, quantized: ["m.out.proj.weight": Self.q8(rows: 32, columns: 32)])
        let layer = b.prefixed("m").prefixed("out").linear("proj", 32, 32)
        #expect(layer is QuantizedLinear && b.problems.isEmpty)
        #expect(!(b.prefixed("m").linear("other", 32, 32) is QuantizedLinear))
    }

    @Test func aCheckpointThatDoesNotFitIsReported() {
        let b = WeightBuilder(
            .zeros, quantized: ["out.proj.weight": Self.q8(rows: 32, columns: 32), "stray.weight": Self.q8(rows: 1, columns: 32)])
        let block = Block(b)
        #expect(!(block.head is QuantizedLinear))
        #expect(b.problems == ["out.proj.weight is 32×32, the model needs 32×8", "no place in the model for stray.weight"])
    }
}
