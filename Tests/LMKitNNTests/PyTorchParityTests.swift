import LMKitNN
import LMKitTensor
import Testing
import TestSupport

/// Parity with PyTorch 2.13 (golden file from `Tools/golden/engine_parity.py`): a one-block GPT-2
/// built from LMKit's layers, with stored initial weights, must give PyTorch's logits, loss, every
/// parameter's gradient, and the same losses, gradient norms and final weights over 10 clipped
/// AdamW steps (``checkTrainingParity``); and the fused ops their values and gradients. The decoder
/// models (Llama, Gemma 3) are checked the same way against transformers in
/// `LMKitModelsTests/DecoderTrainingParityTests`.
@Suite struct PyTorchParityTests {
    static let golden = Result { try SafetensorsFile(path: fixturePath("engine/engine_parity.safetensors")) }

    /// A GPT-2 block LM (the golden's "gpt" model), built from LMKit's layers.
    final class TinyGPT: Module {
        let wte: Embedding, wpe: Embedding, ln1: LayerNorm, attn: CausalSelfAttention, ln2: LayerNorm, mlp: MLP, lnF: LayerNorm,
            lmHead: Linear
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
            return lmHead(lnF(x))  // (B, T, V)
        }
    }

    @Test func gptBlockMatchesPyTorch() throws {
        let model = TinyGPT(vocab: 13, context: 6, width: 16, heads: 4)
        let idx = try Self.golden.get().tensor("gpt.idx")
        try checkTrainingParity(model, golden: try Self.golden.get(), prefix: "gpt", zeroGradient: ["h.0.attn.c_attn.bias": 16..<32]) {
            model(idx)
        }
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
