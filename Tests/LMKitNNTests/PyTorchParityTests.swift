import LMKitNN
import LMKitTensor
import Testing
import TestSupport

/// Parity with PyTorch 2.13 (golden file from `Tools/golden/engine_parity.py`): two one-block
/// transformers with stored initial weights must give PyTorch's logits, loss, every parameter's
/// gradient, and the same losses, gradient norms and final weights over 10 clipped AdamW steps.
/// Tolerance: |Δ| ≤ 1e-4·|expected| + atol, atol = 1e-5·max|expected| (values near zero).
@Suite struct PyTorchParityTests {
    static let golden = Result { try SafetensorsFile(path: fixturePath("engine/engine_parity.safetensors")) }

    /// A GPT-2 block LM (the golden's "gpt" model), built from LMKit's layers.
    final class TinyGPT: Module {
        let wte: Embedding, wpe: Embedding, ln1: LayerNorm, attn: CausalSelfAttention, ln2: LayerNorm, mlp: MLP, lnF: LayerNorm, lmHead: Linear
        init(vocab: Int, context: Int, width: Int, heads: Int) {
            var g = RandomGenerator(seed: 0)
            wte = Embedding(vocab, width, generator: &g)
            wpe = Embedding(context, width, generator: &g)
            ln1 = LayerNorm(width); ln2 = LayerNorm(width); lnF = LayerNorm(width)
            attn = CausalSelfAttention(width: width, heads: heads, generator: &g)
            mlp = MLP(width: width, hidden: 4 * width, generator: &g)
            lmHead = Linear(width, vocab, bias: false, generator: &g)
            super.init()
            register("wte", wte); register("wpe", wpe)
            let block = Module()
            block.register("ln_1", ln1); block.register("attn", attn); block.register("ln_2", ln2); block.register("mlp", mlp)
            register("h", list: [block])
            register("ln_f", lnF); register("lm_head", lmHead)
        }
        func callAsFunction(_ idx: Tensor) -> Tensor {
            let t = idx.shape[1]
            var x = wte(idx) + wpe(Tensor(indices: Array(0..<t), shape: [t]))  // (B, T, C)
            x = x + attn(ln1(x))
            x = x + mlp(ln2(x))
            return lmHead(lnF(x))                                                 // (B, T, V)
        }
    }

    /// A Llama block LM with grouped-query attention and a key-padding mask (the "llama" model).
    final class TinyLlama: Module {
        let embed: Embedding, inNorm: RMSNorm, attn: GroupedQueryAttention, postNorm: RMSNorm, mlp: GatedMLP, norm: RMSNorm, lmHead: Linear
        init(vocab: Int, width: Int, heads: Int, kvHeads: Int, hidden: Int) {
            var g = RandomGenerator(seed: 0)
            embed = Embedding(vocab, width, generator: &g)
            inNorm = RMSNorm(width); postNorm = RMSNorm(width); norm = RMSNorm(width)
            attn = GroupedQueryAttention(width: width, heads: heads, kvHeads: kvHeads, generator: &g)
            mlp = GatedMLP(width: width, hidden: hidden, generator: &g)
            lmHead = Linear(width, vocab, bias: false, generator: &g)
            super.init()
            register("embed_tokens", embed)
            let layer = Module()
            layer.register("input_layernorm", inNorm); layer.register("self_attn", attn)
            layer.register("post_attention_layernorm", postNorm); layer.register("mlp", mlp)
            register("layers", list: [layer])
            register("norm", norm); register("lm_head", lmHead)
        }
        func callAsFunction(_ idx: Tensor, padding: Tensor) -> Tensor {
            var x = embed(idx)
            x = x + attn(inNorm(x), causal: true, mask: Tensor.attentionMask(padding: padding))
            x = x + mlp(postNorm(x))
            return lmHead(norm(x))
        }
    }

    func expectMatches(_ actual: Tensor, _ expected: Tensor, _ what: String) {
        let atol = 1e-5 * max(expected.abs().max().item(), 1e-3)
        let c = compare(actual, expected, rtol: 1e-4, atol: atol)
        #expect(c.withinTolerance, "\(what): \(c)")
    }

    func params(_ file: SafetensorsFile, _ prefix: String) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in file.names where name.hasPrefix(prefix) { out[String(name.dropFirst(prefix.count))] = try file.tensor(name) }
        return out
    }

    /// Checks forward, gradients and 10 AdamW steps of `model` against golden prefix `p`.
    ///
    /// `zeroGradient` names parameter slices whose true gradient is exactly zero. GPT-2's key bias is
    /// one: adding b to every key adds q·b to a whole row of scores, which softmax ignores. Both
    /// implementations hold only rounding noise there (PyTorch: ≤ 2e-8), and Adam divides by √v, so
    /// it turns noise into steps of up to lr: those final values are noise, not a result to match.
    /// For them the test checks that the gradient is ~0 and that each step stayed within Adam's bound.
    func checkTraining(_ model: Module, _ p: String, zeroGradient: [String: Range<Int>] = [:], forward: () -> Tensor) throws {
        let file = try Self.golden.get()
        try model.load(params(file, p + ".param."))
        let targets = try file.tensor(p + ".targets")
        let logits = forward()
        expectMatches(logits, try file.tensor(p + ".logits"), "\(p) logits")
        let vocab = logits.size(-1)
        let loss = logits.reshaped([-1, vocab]).crossEntropy(targets: targets.reshaped([-1]), ignoreIndex: -1)
        expectMatches(loss.reshaped([1]), try file.tensor(p + ".loss"), "\(p) loss")
        loss.backward()
        for (name, parameter) in model.namedParameters() {
            let g = try #require(parameter.gradient, "\(p): no gradient for \(name)")
            expectMatches(g, try file.tensor(p + ".grad." + name), "\(p) gradient of \(name)")
            if let slice = zeroGradient[name] {
                #expect(g.sliced(axis: 0, range: slice).abs().max().item() < 1e-6, "\(p) \(name)[\(slice)] should have a zero gradient")
            }
        }
        model.zeroGradients()

        let optimizer = Adam.adamW(model.namedParameters(), learningRate: 1e-2, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1)
        var losses: [Double] = [], norms: [Double] = []
        for _ in 0..<10 {
            model.zeroGradients()
            let l = forward().reshaped([-1, vocab]).crossEntropy(targets: targets.reshaped([-1]), ignoreIndex: -1)
            l.backward()
            norms.append(clipGradientNorm(model.parameters, maxNorm: 1.0))
            optimizer.step()
            losses.append(l.item())
        }
        expectMatches(Tensor(shape: [10], doubles: losses), try file.tensor(p + ".losses"), "\(p) losses over 10 AdamW steps")
        expectMatches(Tensor(shape: [10], doubles: norms), try file.tensor(p + ".grad_norms"), "\(p) gradient norms")
        for (name, parameter) in model.namedParameters() {
            let expected = try file.tensor(p + ".final." + name)
            guard let slice = zeroGradient[name] else {
                expectMatches(parameter.value, expected, "\(p) \(name) after 10 steps")
                continue
            }
            let n = expected.shape[0]
            for part in [0..<slice.lowerBound, slice.upperBound..<n] where !part.isEmpty {
                expectMatches(parameter.value.sliced(axis: 0, range: part), expected.sliced(axis: 0, range: part), "\(p) \(name)[\(part)] after 10 steps")
            }
            let initial = try file.tensor(p + ".param." + name).sliced(axis: 0, range: slice)
            let moved = (parameter.value.sliced(axis: 0, range: slice) - initial).abs().max().item()
            #expect(moved <= 10 * 1e-2 * 1.01, "\(p) \(name)[\(slice)] moved \(moved), more than 10 Adam steps of lr 1e-2 allow")
        }
    }

    @Test func gptBlockMatchesPyTorch() throws {
        let model = TinyGPT(vocab: 13, context: 6, width: 16, heads: 4)
        let idx = try Self.golden.get().tensor("gpt.idx")
        try checkTraining(model, "gpt", zeroGradient: ["h.0.attn.c_attn.bias": 16..<32]) { model(idx) }
    }

    @Test func llamaBlockWithGQAAndPaddingMatchesPyTorch() throws {
        let model = TinyLlama(vocab: 13, width: 16, heads: 4, kvHeads: 2, hidden: 24)
        let file = try Self.golden.get()
        let idx = try file.tensor("llama.idx"), padding = try file.tensor("llama.attention_mask")
        try checkTraining(model, "llama") { model(idx, padding: padding) }
    }

    @Test func fusedOpsMatchPyTorchInFloat32() throws {
        let file = try Self.golden.get()
        let x = try file.tensor("ops.x"), up = try file.tensor("ops.upstream")
        let lnW = try file.tensor("ops.ln_w"), lnB = try file.tensor("ops.ln_b"), rmsW = try file.tensor("ops.rms_w")
        let ops: [(String, (Tensor) -> Tensor)] = [
            ("softmax", { $0.softmax() }),
            ("log_softmax", { $0.logSoftmax() }),
            ("gelu_tanh", { $0.gelu(approximate: true) }),
            ("gelu_erf", { $0.gelu(approximate: false) }),
            ("silu", { $0.silu() }),
            ("layer_norm", { $0.layerNorm(weight: lnW, bias: lnB, eps: 1e-5) }),
            ("rms_norm", { $0.rmsNorm(weight: rmsW, eps: 1e-6) }),
        ]
        for (name, op) in ops {
            let leaf = x.requiringGradient()
            let y = op(leaf)
            expectMatches(y, try file.tensor("ops." + name), "ops.\(name) forward")
            (y * up).sum().backward()
            expectMatches(try #require(leaf.gradient), try file.tensor("ops.grad." + name), "ops.\(name) gradient")
        }
        let leaf = x.requiringGradient()
        let ce = leaf.crossEntropy(targets: try file.tensor("ops.ce_targets"), ignoreIndex: -100)
        expectMatches(ce.reshaped([1]), try file.tensor("ops.cross_entropy"), "ops.cross_entropy")
        ce.backward()
        expectMatches(try #require(leaf.gradient), try file.tensor("ops.grad.cross_entropy"), "ops.cross_entropy gradient")
        // Norm weight gradients.
        let w = lnW.requiringGradient(), b = lnB.requiringGradient()
        (x.layerNorm(weight: w, bias: b, eps: 1e-5) * up).sum().backward()
        expectMatches(try #require(w.gradient), try file.tensor("ops.grad.layer_norm_w"), "layer norm weight gradient")
        expectMatches(try #require(b.gradient), try file.tensor("ops.grad.layer_norm_b"), "layer norm bias gradient")
        let rw = rmsW.requiringGradient()
        (x.rmsNorm(weight: rw, eps: 1e-6) * up).sum().backward()
        expectMatches(try #require(rw.gradient), try file.tensor("ops.grad.rms_norm_w"), "rms norm weight gradient")
    }
}
