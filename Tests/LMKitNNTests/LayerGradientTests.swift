import LMKitNN
import LMKitTensor
import Testing
import TestSupport

/// Every layer's gradients — with respect to its input and to each of its parameters — against
/// central finite differences, with the layer converted to Float64.
@Suite struct LayerGradientTests {
    /// Checks `layer` on input `x` (float64): L = Σ layer(x)·w for a fixed random w.
    func check(_ name: String, _ layer: Module, input x: Tensor, h: Double = 1e-6, _ forward: (Tensor) -> Tensor) {
        layer.convert(to: .float64)
        // Input gradient.
        for result in checkGradients([x], step: h) { forward($0[0]) } {
            #expect(result.passed, "\(name), input: \(result)")
        }
        // Parameter gradients.
        guard layer.namedParameters().contains(where: { $0.parameter.isTrainable }) else { return }
        var g = RandomGenerator(seed: 5)
        let probe = GradMode.withoutGradient { forward(x) }
        let w = Tensor.randomNormal(probe.shape, dtype: .float64, generator: &g)
        layer.zeroGradients()
        (forward(x) * w).sum().backward()
        for (pname, p) in layer.namedParameters() where p.isTrainable {
            let analytic = p.gradient ?? Tensor.zeros(p.value.shape, dtype: .float64)
            let base = p.value.doubles
            var numeric = [Double](repeating: 0, count: base.count)
            for j in 0..<base.count {
                var plus = base, minus = base
                plus[j] += h; minus[j] -= h
                p.assign(Tensor(shape: p.value.shape, scalars: plus))
                let lp = GradMode.withoutGradient { (forward(x) * w).sum().item() }
                p.assign(Tensor(shape: p.value.shape, scalars: minus))
                let lm = GradMode.withoutGradient { (forward(x) * w).sum().item() }
                numeric[j] = (lp - lm) / (2 * h)
            }
            p.assign(Tensor(shape: p.value.shape, scalars: base))
            let c = compare(analytic, Tensor(shape: p.value.shape, scalars: numeric), rtol: 1e-5, atol: 1e-7)
            #expect(c.withinTolerance, "\(name), parameter \(pname): \(c)")
        }
    }

    @Test func linear() {
        var g = RandomGenerator(seed: 1)
        let layer = Linear(4, 3, generator: &g)
        check("Linear", layer, input: randn([2, 5, 4], seed: 2)) { layer($0) }
    }

    @Test func embedding() {
        var g = RandomGenerator(seed: 1)
        let layer = Embedding(6, 3, generator: &g)
        let ids = Tensor(indices: [5, 0, 5, 2], shape: [2, 2])
        check("Embedding", layer, input: randn([1], seed: 3)) { x in layer(ids) * x }
    }

    @Test func norms() {
        let ln = LayerNorm(7)
        ln.weight!.assign(randn([7], seed: 4))
        ln.bias!.assign(randn([7], seed: 5))
        check("LayerNorm", ln, input: randn([3, 7], seed: 6)) { ln($0) }
        let rms = RMSNorm(7, weightOffset: 1)
        rms.weight.assign(randn([7], seed: 7))
        check("RMSNorm (+1)", rms, input: randn([3, 7], seed: 8)) { rms($0) }
    }

    @Test func attentionLayers() {
        var g = RandomGenerator(seed: 9)
        let gpt = CausalSelfAttention(width: 8, heads: 2, generator: &g)
        check("CausalSelfAttention", gpt, input: randn([2, 4, 8], seed: 10)) { gpt($0) }
        // The attention the decoder models run, with every option on: rotary positions, biases,
        // Gemma's query/key norms, a sliding window and a key-padding mask.
        var options = GroupedQueryAttention.Options(width: 8, heads: 4, kvHeads: 2, headSize: 4)
        options.bias = true
        options.rotary = RotaryEmbedding(headSize: 4, base: 100)
        options.headNorm = .init(eps: 1e-6, weightOffset: 1)
        options.window = 3
        let gqa = GroupedQueryAttention(options, WeightBuilder(.random(seed: 9)))
        for norm in [gqa.qNorm!, gqa.kNorm!] { norm.weight.assign(randn([4], seed: 18) * 0.3) }
        let mask = Tensor.attentionMask(padding: Tensor(indices: [1, 1, 1, 1, 1, 1, 0, 0], shape: [2, 4]), dtype: .float64)
        check("GroupedQueryAttention", gqa, input: randn([2, 4, 8], seed: 11)) { gqa($0, mask: mask) }
    }

    @Test func feedForwardLayers() {
        var g = RandomGenerator(seed: 12)
        let mlp = MLP(width: 5, hidden: 7, generator: &g)
        check("MLP (GELU tanh)", mlp, input: randn([2, 3, 5], seed: 13)) { mlp($0) }
        let erf = MLP(width: 5, hidden: 7, approximateGELU: false, generator: &g)
        check("MLP (GELU erf)", erf, input: randn([2, 3, 5], seed: 14)) { erf($0) }
        for activation in [GatedMLP.Activation.silu, .geluTanh] {
            let gated = GatedMLP(width: 5, hidden: 6, activation: activation, WeightBuilder(.random(seed: 15)))
            check("GatedMLP (\(activation))", gated, input: randn([2, 3, 5], seed: 15)) { gated($0) }
        }
    }

    @Test func dropoutIsIdentityInEvalAndMaskedInTraining() {
        let drop = Dropout(0.3, seed: 1)
        drop.eval()
        check("Dropout (eval)", drop, input: randn([4, 5], seed: 16)) { drop($0) }
        drop.train()
        // In training the mask is fixed per call: check against the same mask by reseeding.
        let x = randn([4, 5], seed: 17).requiringGradient()
        drop.generator = RandomGenerator(seed: 2)
        let y = drop(x)
        y.sum().backward()
        let kept = y.doubles.map { $0 != 0 }
        #expect(x.gradient!.doubles == kept.map { $0 ? 1 / 0.7 : 0 })
    }
}
