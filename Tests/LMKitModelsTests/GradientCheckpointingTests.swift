import Foundation
import LMKitModels
import LMKitNN
import LMKitTensor
import LMKitTraining
import Testing
import TestSupport

/// Gradient checkpointing (``GradientCheckpointing``) gives the gradients of the ordinary backward pass:
/// LoRA adapters with dropout on a Gemma 3 stack (sandwich norms, sliding and global layers), every
/// parameter of GPT-2 with its dropouts, and two steps in a row, so the dropout streams are left where an
/// ordinary pass leaves them. Each pair is two identical models, one of them checkpointed.
@Suite struct GradientCheckpointingTests {
    /// Loss and gradient (by name) of `steps` forward/backward passes.
    func run(_ model: Module, trained: Module, steps: Int, _ loss: () -> Tensor) -> [(Double, [String: Tensor])] {
        model.train(); trained.train()
        return (0..<steps).map { _ in
            trained.zeroGradients()
            let l = loss()
            l.backward()
            return (l.item(), Dictionary(uniqueKeysWithValues: trained.namedParameters().compactMap { n, p in p.gradient.map { (n, $0) } }))
        }
    }

    func expectSame(_ plain: [(Double, [String: Tensor])], _ checkpointed: [(Double, [String: Tensor])]) throws {
        for ((lossA, ga), (lossB, gb)) in zip(plain, checkpointed) {
            #expect(abs(lossA - lossB) <= 1e-6 * abs(lossA), "loss \(lossA) vs \(lossB)")
            #expect(!ga.isEmpty && ga.keys.sorted() == gb.keys.sorted())
            for (name, g) in ga {
                let c = compare(try #require(gb[name]), g, rtol: 1e-5, atol: 1e-7)
                #expect(c.withinTolerance, "\(name): \(c)")
            }
        }
    }

    func batch(_ vocab: Int) -> (Tensor, Tensor) {
        var g = RandomGenerator(seed: 9)
        let x = Tensor(indices: (0..<24).map { _ in Int(g.next() % UInt64(vocab)) }, shape: [2, 12])
        let t = Tensor(indices: (0..<24).map { i in i % 5 == 0 ? -100 : Int(g.next() % UInt64(vocab)) }, shape: [2, 12])
        return (x, t)
    }

    @Test func loraOnGemmaWithDropout() throws {
        func make(_ checkpointed: Bool) throws -> (Gemma3ForCausalLM, LoRAAdapters) {
            var c = Gemma3Config()
            (c.vocabSize, c.width, c.layers, c.heads, c.kvHeads, c.headSize) = (60, 16, 3, 4, 2, 8)
            (c.intermediateSize, c.slidingWindow, c.globalLayers, c.contextLength) = (24, 4, [false, false, true], 64)
            let model = try Gemma3ForCausalLM(c, seed: 1)
            var lora = LoRAConfig(targets: .allLinear)
            (lora.rank, lora.alpha, lora.dropout) = (4, 8, 0.3)
            let adapters = try LoRAAdapters(attachingTo: model, config: lora, seed: 2)
            var g = RandomGenerator(seed: 3)  // B away from zero, so every adapter has a gradient path through its dropout
            for (_, _, adapter) in adapters.layers {
                adapter.b.weight.assign(Tensor.randomNormal(adapter.b.weight.value.shape, generator: &g) * 0.1)
            }
            model.gradientCheckpointing = checkpointed
            return (model, adapters)
        }
        let (x, t) = batch(60)
        let (plain, plainAdapters) = try make(false), (recomputed, recomputedAdapters) = try make(true)
        let a = run(plain, trained: plainAdapters, steps: 2) { plain.loss(x, targets: t) }
        let b = run(recomputed, trained: recomputedAdapters, steps: 2) { recomputed.loss(x, targets: t) }
        try expectSame(a, b)
        // The dropout drew different masks in the two steps: the comparison covers the rewinding.
        #expect(a[0].0 != a[1].0)
    }

    @Test func fullGPT2WithDropout() throws {
        func make(_ checkpointed: Bool) throws -> GPT2LMHeadModel {
            let model = try GPT2LMHeadModel(
                GPT2Config(vocabSize: 50, contextLength: 16, width: 16, layers: 2, heads: 2, dropout: 0.2), seed: 4)
            model.gradientCheckpointing = checkpointed
            return model
        }
        let (x, t) = batch(50)
        let plain = try make(false), recomputed = try make(true)
        try expectSame(
            run(plain, trained: plain, steps: 2) { plain.loss(x, targets: t) },
            run(recomputed, trained: recomputed, steps: 2) { recomputed.loss(x, targets: t) })
    }

    @Test func evaluationAndCachedDecodingAreUnchanged() throws {
        let model = try GPT2LMHeadModel(GPT2Config(vocabSize: 50, contextLength: 16, width: 16, layers: 2, heads: 2, dropout: 0), seed: 4)
        let (x, _) = batch(50)
        let plain = GradMode.withoutGradient { model(x) }
        model.gradientCheckpointing = true
        let cache = model.makeCache()
        #expect(compare(GradMode.withoutGradient { model(x) }, plain, rtol: 0, atol: 0).withinTolerance)
        #expect(compare(GradMode.withoutGradient { model(x, cache: cache) }, plain, rtol: 0, atol: 0).withinTolerance)
    }

    @Test func trainerDefaultsAndRefusals() throws {
        var c = TrainingConfig()
        #expect(!c.recomputesActivations)
        c.fineTune = FineTuneConfig(model: "m", method: .qlora, lora: LoRAConfig(targets: .allLinear))
        #expect(c.recomputesActivations)
        c.gradientCheckpointing = false
        #expect(!c.recomputesActivations)
        let folder = TemporaryFolder(prefix: "lmkit-gc")
        let corpus = folder.path + "/text.txt"
        try Data(String(repeating: "to be or not to be. ", count: 200).utf8).write(to: URL(fileURLWithPath: corpus))
        var rnn = TrainingConfig()
        (rnn.architecture, rnn.gradientCheckpointing) = ("lstm", true)
        #expect(throws: TrainingError.self) { try LanguageModelTrainer(config: rnn, corpus: corpus, output: folder.path + "/run") }
        var gpt = TrainingConfig()
        (gpt.layers, gpt.width, gpt.heads, gpt.context, gpt.gradientCheckpointing) = (1, 16, 2, 16, true)
        let trainer = try LanguageModelTrainer(config: gpt, corpus: corpus, output: folder.path + "/gpt")
        #expect((trainer.model as? any GradientCheckpointing)?.gradientCheckpointing == true)
    }
}
