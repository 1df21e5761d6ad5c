import Foundation
import LMKitNN
import LMKitTensor
import Testing
import TestSupport

/// A two-layer model with PyTorch-style names, for attaching adapters.
final class TwoLayers: Module {
    let first: Linear, head: Linear
    init(seed: UInt64) {
        var g = RandomGenerator(seed: seed)
        first = Linear(6, 5, generator: &g)
        head = Linear(5, 4, generator: &g)
        super.init()
        register(first, atPath: "model.layers.0.mlp.up_proj")
        register("lm_head", head)
    }
    func callAsFunction(_ x: Tensor) -> Tensor { head(first(x).silu()) }
}

@Suite struct LoRATests {
    /// Fills every lora_B with random values (they start at zero, which leaves lora_A's gradient zero).
    func randomizeB(_ lora: LoRAAdapters, seed: UInt64) {
        var g = RandomGenerator(seed: seed)
        for (_, _, adapter) in lora.layers {
            let w = adapter.b.weight.value
            adapter.b.weight.assign(Tensor.randomNormal(w.shape, dtype: w.dtype, generator: &g))
        }
    }

    /// The adapters' gradients (lora_A, lora_B) and the input's, through a frozen float base, against
    /// central finite differences in Float64.
    @Test func adapterGradientsMatchFiniteDifferences() throws {
        let model = TwoLayers(seed: 3)
        model.convert(to: .float64)
        var config = LoRAConfig(targets: .allLinear)
        (config.rank, config.alpha, config.dropout) = (3, 6, 0)
        let lora = try LoRAAdapters(attachingTo: model, config: config, seed: 4)
        lora.convert(to: .float64)
        randomizeB(lora, seed: 5)
        #expect(lora.layers.map(\.path) == ["model.layers.0.mlp.up_proj"], "all-linear leaves lm_head out")
        let x = randn([2, 3, 6], seed: 6)
        for result in checkGradients([x]) { model($0[0]) } { #expect(result.passed, "input: \(result)") }
        var g = RandomGenerator(seed: 7)
        let w = Tensor.randomNormal([2, 3, 4], dtype: .float64, generator: &g)
        func loss() -> Double { GradMode.withoutGradient { (model(x) * w).sum().item() } }
        lora.zeroGradients()  // checkGradients' own backward reached the adapters too
        (model(x) * w).sum().backward()
        #expect(model.namedParameters().allSatisfy { $0.parameter.gradient == nil }, "the base takes no gradient")
        for (name, p) in lora.namedParameters() {
            let analytic = try #require(p.gradient, "no gradient for \(name)")
            let base = p.value.doubles
            var numeric = [Double](repeating: 0, count: base.count)
            for j in 0..<base.count {
                var plus = base, minus = base
                plus[j] += 1e-6; minus[j] -= 1e-6
                p.assign(Tensor(shape: p.value.shape, scalars: plus)); let lp = loss()
                p.assign(Tensor(shape: p.value.shape, scalars: minus)); let lm = loss()
                numeric[j] = (lp - lm) / 2e-6
            }
            p.assign(Tensor(shape: p.value.shape, scalars: base))
            let c = compare(analytic, Tensor(shape: p.value.shape, scalars: numeric), rtol: 1e-5, atol: 1e-7)
            #expect(c.withinTolerance, "\(name): \(c)")
        }
    }

    /// Random blocks of a type whose block is a float16 scale and then `payload` bytes (Q8_0, Q4_0).
    func randomBlocks(_ type: GGMLType, rows: Int, columns: Int, payload: Int, seed: UInt64) -> QuantizedMatrix {
        var g = RandomGenerator(seed: seed)
        var bytes: [UInt8] = []
        for _ in 0..<(rows * columns / 32) {
            let scale = Float16(Float(g.next() % 1000) / 20_000 + 0.01).bitPattern
            bytes += [UInt8(scale & 0xFF), UInt8(scale >> 8)]
            bytes += (0..<payload).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        }
        return QuantizedMatrix(type: type, rows: rows, columns: columns, bytes: bytes)
    }

    /// QLoRA's backward: the gradient reaching the input of a quantized layer is the one the float
    /// layer of the dequantized weights gives (whose rule is checked against finite differences),
    /// for row counts around the backward's 256-row tile.
    @Test(arguments: [(GGMLType.q8_0, 32), (.q4_0, 16)])
    func quantizedInputGradientMatchesDequantizedLinear(_ type: GGMLType, _ payload: Int) throws {
        for rows in [7, 256, 300] {
            let matrix = randomBlocks(type, rows: rows, columns: 64, payload: payload, seed: UInt64(rows))
            matrix.activations = .float32
            let float = Linear(weight: matrix.dequantized(), bias: nil)
            float.freeze()
            let quantized = QuantizedLinear(matrix)
            var g = RandomGenerator(seed: 9)
            let x = Tensor.randomNormal([3, 5, 64], generator: &g)
            let w = Tensor.randomNormal([3, 5, rows], generator: &g)
            let xq = x.requiringGradient(), xf = x.requiringGradient()
            (quantized(xq) * w).sum().backward()
            (float(xf) * w).sum().backward()
            let dq = try #require(xq.gradient), df = try #require(xf.gradient)
            let c = compare(dq, df, rtol: 1e-5, atol: 1e-5)
            #expect(c.withinTolerance, "\(type.name), \(rows) rows: \(c)")
        }
    }

    /// A QLoRA adapter's gradients through a quantized base, against finite differences (float32:
    /// the quantized products are float32 only, so the step and tolerance are float32's).
    @Test func qloraAdapterGradientsMatchFiniteDifferences() throws {
        final class Quantized: Module {
            let proj: QuantizedLinear
            init(_ m: QuantizedMatrix) { proj = QuantizedLinear(m); super.init(); register("q_proj", proj) }
        }
        let matrix = randomBlocks(.q4_0, rows: 8, columns: 32, payload: 16, seed: 2)
        matrix.activations = .float32
        let model = Quantized(matrix)
        var config = LoRAConfig(targets: .names(["q_proj"]))
        (config.rank, config.dropout) = (2, 0)
        let lora = try LoRAAdapters(attachingTo: model, config: config, seed: 1)
        randomizeB(lora, seed: 3)
        var g = RandomGenerator(seed: 4)
        let x = Tensor.randomNormal([4, 32], generator: &g), w = Tensor.randomNormal([4, 8], generator: &g)
        let xl = x.requiringGradient()
        (model.proj(xl) * w).sum().backward()
        func loss(_ input: Tensor) -> Double { GradMode.withoutGradient { (model.proj(input) * w).sum().item() } }
        let h: Float = 1e-2
        let xs = x.scalars(as: Float.self)
        var numeric: [Double] = []
        for j in 0..<xs.count {
            var plus = xs, minus = xs
            plus[j] += h; minus[j] -= h
            numeric.append((loss(Tensor(shape: x.shape, scalars: plus)) - loss(Tensor(shape: x.shape, scalars: minus))) / Double(2 * h))
        }
        let c = compare(try #require(xl.gradient), Tensor(shape: x.shape, doubles: numeric), rtol: 1e-2, atol: 1e-3)
        #expect(c.withinTolerance, "input: \(c)")
        let a = lora.layers[0].adapter.a.weight
        #expect(a.gradient != nil && a.gradient!.abs().max().item() > 0, "lora_A trains through the quantized base")
    }

    /// Which layers a config targets: peft's list (name or `.name` suffix), regex (whole path),
    /// all-linear (not `lm_head`), and `exclude_modules`.
    @Test func targetsMatchAsPeftDoes() throws {
        var c = LoRAConfig(targets: .names(["q_proj", "mlp.down_proj"]))
        #expect(c.targets("model.layers.0.self_attn.q_proj"))
        #expect(c.targets("model.layers.3.mlp.down_proj"))
        #expect(!c.targets("model.layers.0.self_attn.q_proj_extra"))
        #expect(!c.targets("model.layers.0.self_attn.k_proj"))
        c.targets = .regex(#".*layers\.1\..*(q|v)_proj"#)
        #expect(c.targets("model.layers.1.self_attn.v_proj") && !c.targets("model.layers.0.self_attn.v_proj"))
        c.targets = .allLinear
        #expect(c.targets("transformer.h.0.attn.c_attn") && !c.targets("lm_head"))
        c.excluded = .names(["c_attn"])
        #expect(!c.targets("transformer.h.0.attn.c_attn") && c.targets("transformer.h.0.attn.c_proj"))
        c.rankPattern = ["c_proj": 16]
        c.alphaPattern = ["mlp.c_proj": 4]
        #expect(c.shape(at: "transformer.h.0.mlp.c_proj") == (16, 0.25))
        #expect(c.shape(at: "transformer.h.0.attn.c_proj") == (16, 1))
        c.useRSLoRA = true
        #expect(c.shape(at: "transformer.h.0.attn.q") == (8, 16 / 8.0.squareRoot()))
    }

    /// peft's options that change the computation and that LMKit does not implement are refused by name.
    @Test func unsupportedPeftOptionsAreRefused() throws {
        let accepted =
            #"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj"], "use_dora": false, "layers_to_transform": null, "lora_bias": false, "trainable_token_indices": null}"#
        let c = try JSONDecoder().decode(LoRAConfig.self, from: Data(accepted.utf8))
        #expect(c.rank == 4 && c.alpha == 8 && c.targets == .names(["q_proj"]))
        for (key, value) in [
            ("use_dora", "true"), ("bias", "\"all\""), ("peft_type", "\"IA3\""), ("layers_to_transform", "[0, 1]"),
            ("lora_bias", "true"), ("modules_to_save", "[\"lm_head\"]"),
        ] {
            let json = #"{"r": 4, "target_modules": "all-linear", "\#(key)": \#(value)}"#
            #expect(throws: DecodingError.self, "\(key)") { try JSONDecoder().decode(LoRAConfig.self, from: Data(json.utf8)) }
        }
    }

    /// An adapter saved in peft's layout loads back onto a fresh model with the same outputs; one
    /// that does not fit is an error naming the key; merging gives the adapted outputs.
    @Test func savedAdapterLoadsBackAndMerges() throws {
        let folder = TemporaryFolder(prefix: "lmkit-lora")
        let model = TwoLayers(seed: 1)
        var config = LoRAConfig(targets: .names(["up_proj", "lm_head"]))
        config.rank = 2
        let lora = try LoRAAdapters(attachingTo: model, config: config, seed: 2)
        randomizeB(lora, seed: 3)
        model.eval(); lora.eval()
        let x = randn([2, 6], seed: 4).converted(to: .float32)
        let adapted = model(x)
        try lora.save(folder: folder.path)
        let keys = try SafetensorsFile(path: folder.path + "/adapter_model.safetensors").names.sorted()
        #expect(
            keys == [
                "base_model.model.lm_head.lora_A.weight", "base_model.model.lm_head.lora_B.weight",
                "base_model.model.model.layers.0.mlp.up_proj.lora_A.weight", "base_model.model.model.layers.0.mlp.up_proj.lora_B.weight",
            ])
        let fresh = TwoLayers(seed: 1)
        let loaded = try LoRAAdapters(folder: folder.path, attachingTo: fresh)
        loaded.eval()
        #expect(compare(fresh(x), adapted, rtol: 0, atol: 0).withinTolerance)
        try loaded.merge()
        #expect(fresh.first.adapter == nil)
        #expect(compare(fresh(x), adapted, rtol: 1e-5, atol: 1e-6).withinTolerance)

        // A rank that differs from the tensors: strict loading names the key.
        var wrong = config
        wrong.rank = 3
        try JSONEncoder().encode(wrong).write(to: URL(fileURLWithPath: folder.path + "/adapter_config.json"))
        let other = TwoLayers(seed: 1)
        let error = #expect(throws: LoRAError.self) { try LoRAAdapters(folder: folder.path, attachingTo: other) }
        #expect(error?.description.contains("lm_head.lora_A.weight") == true, "\(error?.description ?? "")")
        #expect(other.first.adapter == nil, "a failed load leaves no adapter behind")
    }
}
