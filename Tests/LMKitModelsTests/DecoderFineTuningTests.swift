import Foundation
import LMKitChat
import LMKitModels
import LMKitNN
import LMKitTensor
import LMKitTokenizers
import LMKitTraining
import Testing
import TestSupport

/// Fine-tuning runs through ``LanguageModelTrainer``: LoRA on a tiny Llama folder (the loss falls, a
/// peft-layout adapter is saved, an interrupted run resumes to the same adapters), full fine-tuning
/// (a model folder that loads), QLoRA on a Q8_0 GGUF file (the base stays quantized), and adapters
/// crossing to and from peft.
@Suite(.serialized) struct DecoderFineTuningTests {
    let folder = TemporaryFolder(prefix: "lmkit-ft")

    /// A tiny random Llama saved with the 400-token fixture tokenizer and the llama3 chat template.
    func baseFolder() throws -> String {
        let path = folder.path + "/base"
        if FileManager.default.fileExists(atPath: path + "/config.json") { return path }
        let tokenizer = fixturePath("tokenizers/llama3-style/tokenizer.json")
        var config = LlamaConfig()
        (config.vocabSize, config.width, config.layers, config.heads, config.kvHeads, config.headSize) = (400, 16, 2, 4, 2, 4)
        (config.intermediateSize, config.contextLength) = (32, 512)
        try LlamaForCausalLM(config, seed: 3).save(folder: path)
        try FileManager.default.copyItem(atPath: tokenizer, toPath: path + "/tokenizer.json")
        return path
    }

    /// 24 short chats with a fixed answer pattern the adapters can learn.
    func chats() throws -> String {
        let path = folder.path + "/chats.jsonl"
        var lines: [String] = []
        for i in 0..<24 {
            let object: [String: Any] = [
                "messages": [["role": "user", "content": "number \(i)?"], ["role": "assistant", "content": "it is \(i % 4)"]]
            ]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        }
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func config(_ method: FineTuneConfig.Method, model: String, steps: Int = 12) -> TrainingConfig {
        var lora = LoRAConfig(targets: .allLinear)
        (lora.rank, lora.alpha, lora.dropout) = (4, 8, 0.1)
        var f = FineTuneConfig(model: model, method: method, lora: method == .full ? nil : lora)
        f.template = "llama3"
        var c = TrainingConfig()
        c.fineTune = f
        (c.context, c.batchSize, c.maxSteps, c.warmupSteps, c.evalInterval, c.evalBatches) = (128, 4, steps, 2, 4, 4)
        (c.learningRate, c.minLearningRate, c.weightDecay, c.patience, c.validationFraction) = (1e-2, 1e-3, 0, 0, 0.2)
        return c
    }

    @Test func loraTrainsSavesAPeftAdapterAndResumesExactly() throws {
        let base = try baseFolder(), data = try chats()
        let straight = try LanguageModelTrainer(config: config(.lora, model: base), corpus: data, output: folder.path + "/straight")
        #expect(straight.dataSummary?.trainExamples == 19 && straight.dataSummary?.validationExamples == 5)
        #expect(straight.model.namedParameters().allSatisfy { !$0.parameter.isTrainable }, "the base is frozen")
        let summary = try straight.run()
        #expect(summary.trainableParameters == straight.adapters?.parameterCount && summary.trainableParameters < summary.parameters / 4)
        let first = try #require(summary.history.first), last = try #require(summary.history.last)
        #expect(last.validationLoss < first.validationLoss, "validation loss \(first.validationLoss) → \(last.validationLoss)")
        for file in ["model/adapter_config.json", "model/adapter_model.safetensors", "checkpoint/adapter_model.safetensors", "loss.svg"] {
            #expect(FileManager.default.fileExists(atPath: folder.path + "/straight/" + file), "\(file)")
        }
        #expect(
            !FileManager.default.fileExists(atPath: folder.path + "/straight/checkpoint/model.safetensors"), "the frozen base is not copied"
        )

        let interrupted = try LanguageModelTrainer(config: config(.lora, model: base), corpus: data, output: folder.path + "/resumed")
        _ = try interrupted.run(stopAfter: 8)
        let resumed = try LanguageModelTrainer(
            config: config(.lora, model: base), corpus: data, output: folder.path + "/resumed", resume: true)
        #expect(resumed.step == 8)
        _ = try resumed.run()
        let a = try #require(straight.adapters).stateDict(), b = try #require(resumed.adapters).stateDict()
        #expect(a.count == 28 && Set(a.keys) == Set(b.keys))
        for (name, t) in a {
            let c = compare(try #require(b[name]), t, rtol: 0, atol: 0)
            #expect(c.withinTolerance, "\(name): \(c)")
        }

        // The saved best adapter on a fresh base (merged into its float weights) gives the trained model's logits.
        let best = straight.config.maxSteps == summary.history.last?.step && summary.bestValidationLoss == last.validationLoss
        let loaded = try ModelLoader.load(base, adapter: folder.path + "/straight/model")
        #expect(loaded.adapter == nil, "a float base takes the adapter into its weights")
        let ids = Tensor(indices: [1, 5, 9, 30, 7, 2], shape: [1, 6])
        straight.model.eval(); straight.adapters?.eval()
        if best {
            let c = compare(loaded.model.logits(ids, cache: nil), straight.model.logits(ids, cache: nil), rtol: 1e-4, atol: 1e-5)
            #expect(c.withinTolerance, "\(c)")
        }
    }

    @Test func fullFineTuningSavesALoadableFolder() throws {
        let base = try baseFolder()
        let trainer = try LanguageModelTrainer(
            config: config(.full, model: base, steps: 4), corpus: try chats(), output: folder.path + "/full")
        #expect(trainer.adapters == nil && trainer.model.namedParameters().allSatisfy { $0.parameter.isTrainable })
        _ = try trainer.run()
        let loaded = try ModelLoader.load(folder.path + "/full/model")
        #expect(loaded.tokenizer.vocabSize == 400)
        let ids = Tensor(indices: [1, 5, 9], shape: [1, 3])
        trainer.model.eval()
        #expect(
            compare(loaded.model.logits(ids, cache: nil), trainer.model.logits(ids, cache: nil), rtol: 1e-5, atol: 1e-6).withinTolerance)
        let before = try ModelLoader.load(base)
        #expect(
            !compare(before.model.logits(ids, cache: nil), trainer.model.logits(ids, cache: nil), rtol: 1e-3, atol: 1e-3).withinTolerance)
    }

    /// Recovery training of a pruned model: with keepSparsity every weight that was zero stays zero
    /// while the others train; without it the zeros fill in.
    @Test func fullFineTuningKeepsAPrunedModelsZeros() throws {
        let base = try baseFolder()
        let pruned = folder.path + "/pruned"
        let model = try #require(try ModelRegistry.load(folder: base) as? LlamaForCausalLM)
        var state = model.stateDict()
        for (name, w) in state where w.rank == 2 && name.contains("layers.") {
            state[name] = Tensor(shape: w.shape, scalars: w.floats.enumerated().map { $0.offset % 4 < 2 ? 0 : $0.element })  // 2:4
        }
        try model.load(state)
        try model.save(folder: pruned)
        try FileManager.default.copyItem(atPath: base + "/tokenizer.json", toPath: pruned + "/tokenizer.json")
        let zeros = state.filter { $0.key.contains("layers.") && $0.value.rank == 2 }.mapValues { $0.floats.indices.filter { $0 % 4 < 2 } }
        for keep in [true, false] {
            var c = config(.full, model: pruned, steps: 3)
            c.fineTune?.keepSparsity = keep
            let trainer = try LanguageModelTrainer(config: c, corpus: try chats(), output: folder.path + "/recover-\(keep)")
            #expect(trainer.keptZeros == (keep ? zeros.values.reduce(0) { $0 + $1.count } : nil))
            _ = try trainer.run()
            let trained = trainer.model.stateDict()
            for (name, indices) in zeros {
                let w = try #require(trained[name]).floats
                let stillZero = indices.allSatisfy { w[$0] == 0 }
                #expect(stillZero == keep, "\(name), keepSparsity \(keep)")
                #expect(w.enumerated().contains { $0.offset % 4 >= 2 && $0.element != state[name]!.floats[$0.offset] }, "\(name) trained")
            }
        }
        var lora = config(.lora, model: pruned)
        lora.fineTune?.keepSparsity = true
        #expect(throws: TrainingError.self) { try lora.validate() }
    }

    /// QLoRA on the Q8_0 fixture: the projections stay quantized and the adapters learn through them.
    /// (The fixture's 96-token vocabulary cannot encode text, so this drives the adapters directly;
    /// `lmkit finetune lm --qlora` on the Gemma asset is exercised by the command tests.)
    @Test func qloraTrainsOnAQuantizedBase() throws {
        let model = try ModelRegistry.load(gguf: GGUFFile(path: fixturePath("llama/tiny-llama-q8_0.gguf")), activations: .float32)
        let decoder = try #require(model as? LlamaForCausalLM)
        #expect(decoder.quantized.count == 16, "14 projections, the embedding and lm_head")
        var c = LoRAConfig(targets: .allLinear)
        c.dropout = 0
        let lora = try LoRAAdapters(attachingTo: decoder, config: c, seed: 1)
        #expect(lora.layers.count == 14 && lora.layers.allSatisfy { $0.layer is QuantizedLinear })
        #expect(decoder.namedParameters().allSatisfy { !$0.parameter.isTrainable })
        let optimizer = Adam.adamW(lora.namedParameters(), learningRate: 1e-2, weightDecay: 0)
        let ids = Tensor(indices: (0..<32).map { ($0 * 7) % 96 }, shape: [2, 16])
        var losses: [Double] = []
        for _ in 0..<8 {
            lora.zeroGradients()
            let loss = decoder.loss(ids, targets: ids)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        }
        #expect(losses.last! < losses.first! - 0.1, "\(losses)")
        #expect(lora.layers.allSatisfy { $0.adapter.a.weight.gradient != nil }, "every adapter, even the first layer's, gets a gradient")
    }

    /// peft's own adapter folders (saved by `Tools/golden/lora_training.py` with their base models)
    /// load in LMKit and give the logits peft computed: Llama with all-linear targets, GPT-2's Conv1D.
    @Test(arguments: ["llama", "gpt2"])
    func peftAdapterFoldersLoad(_ name: String) throws {
        let golden = try SafetensorsFile(path: fixturePath("decoders/lora_parity.safetensors"))
        // The fixture folders hold no tokenizer: the model comes through the registry, the adapter on top.
        let model = try ModelRegistry.load(folder: fixturePath("decoders/peft/\(name)-base"))
        let module = try #require(model as? Module)
        let lora = try LoRAAdapters(folder: fixturePath("decoders/peft/\(name)-adapter"), attachingTo: module)
        module.eval(); lora.eval()
        #expect(lora.layers.count == (name == "llama" ? 14 : 6))  // GPT-2: c_attn, attn.c_proj and mlp.c_proj
        let idx = try golden.tensor("\(name).idx"), mask = try golden.tensor("\(name).attention_mask")
        let keep = Tensor(shape: mask.shape + [1], doubles: mask.indexValues.map(Double.init))
        let logits = model.logits(idx, cache: nil)  // right padding: real positions see no pad
        expectMatches(logits * keep, try golden.tensor("\(name).logits") * keep, "\(name) logits with peft's adapter")
        // Merged into the weights, the same.
        try lora.merge()
        #expect(lora.layers.allSatisfy { $0.layer.adapter == nil })
        expectMatches(model.logits(idx, cache: nil) * keep, try golden.tensor("\(name).logits") * keep, "\(name) merged logits")
    }

    /// An adapter LMKit trains loads in peft (`Tools/check/causal_lm_logits.py`, strict) on the same
    /// base folder and gives LMKit's logits; the merged folder `lora merge` writes loads in
    /// transformers with the same logits.
    @Test func lmkitAdapterLoadsInPeft() throws {
        let check = "peft check of an adapter LMKit trained"
        guard ReferencePython.executable(for: check) != nil else { return }
        let base = try baseFolder()
        var c = config(.lora, model: base, steps: 4)
        c.fineTune?.lora?.targets = .names(["q_proj", "v_proj", "down_proj"])
        let trainer = try LanguageModelTrainer(config: c, corpus: try chats(), output: folder.path + "/interop")
        _ = try trainer.run()
        let adapter = folder.path + "/interop/model"
        let loaded = try ModelLoader.load(base, adapter: adapter, mergeAdapter: false)
        let ids = [[1, 5, 9, 30, 7, 2, 11, 12], [3, 4, 5, 6, 7, 8, 9, 10]]
        let expected = loaded.model.logits(Tensor(indices: ids.flatMap { $0 }, shape: [2, 8]), cache: nil)
        let idsJSON = String(decoding: try JSONSerialization.data(withJSONObject: ids), as: UTF8.self)
        func transformersLogits(_ arguments: [String]) throws -> Tensor? {
            guard let run = try ReferencePython.run([fixturePath("../../Tools/check/causal_lm_logits.py")] + arguments, for: check) else {
                return nil
            }
            #expect(run.status == 0, "\(run.stderr)")
            let root = try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [String: Any])
            let rows = try #require(root["logits"] as? [[[Double]]])
            return Tensor(shape: [2, 8, 400], doubles: rows.flatMap { $0.flatMap { $0 } })
        }
        if let peft = try transformersLogits([base, idsJSON, "--adapter", adapter]) {
            let cmp = compare(expected, peft, rtol: 1e-4, atol: 1e-5)
            #expect(cmp.withinTolerance, "peft: \(cmp)")
        }
        let merged = folder.path + "/merged"
        let lora = try #require(loaded.adapter)
        try lora.merge()
        try loaded.model.save(folder: merged)
        if let plain = try transformersLogits([merged, idsJSON]) {
            let cmp = compare(expected, plain, rtol: 1e-4, atol: 1e-5)
            #expect(cmp.withinTolerance, "merged: \(cmp)")
        }
    }
}

/// The fused output layer and cross-entropy of ``CausalDecoder/loss(_:targets:)`` against the plain
/// logits-then-cross-entropy: the same loss and the same gradients, for an untied float head (full
/// training: the head's gradient too), a tied embedding (its gradient from both uses), and a quantized
/// output matrix under LoRA adapters; chunk boundaries that split the batch unevenly.
@Suite struct FusedOutputLossTests {
    func compareGradients(_ model: Module, _ a: () -> Tensor, _ b: () -> Tensor) throws {
        model.zeroGradients()
        let la = a()
        la.backward()
        let ga = model.namedParameters().compactMap { n, p in p.gradient.map { (n, $0) } }
        model.zeroGradients()
        let lb = b()
        lb.backward()
        let gb = Dictionary(uniqueKeysWithValues: model.namedParameters().compactMap { n, p in p.gradient.map { (n, $0) } })
        #expect(abs(la.item() - lb.item()) < 1e-5 * abs(lb.item()), "loss \(la.item()) vs \(lb.item())")
        #expect(!ga.isEmpty && ga.count == gb.count)
        for (name, g) in ga {
            let c = compare(g, try #require(gb[name]), rtol: 1e-4, atol: 1e-6)
            #expect(c.withinTolerance, "\(name): \(c)")
        }
    }

    func ids(_ vocab: Int) -> (Tensor, Tensor) {
        var g = RandomGenerator(seed: 4)
        let x = Tensor(indices: (0..<21).map { _ in Int(g.next() % UInt64(vocab)) }, shape: [3, 7])
        var t = (0..<21).map { _ in Int(g.next() % UInt64(vocab)) }
        t[5] = -100; t[20] = -100
        return (x, Tensor(indices: t, shape: [3, 7]))
    }

    @Test func untiedAndTiedFloatHeads() throws {
        for tied in [false, true] {
            var c = LlamaConfig()
            (c.vocabSize, c.width, c.layers, c.heads, c.kvHeads, c.headSize, c.intermediateSize) = (50, 16, 1, 2, 1, 8, 24)
            c.tieWordEmbeddings = tied
            let model = try LlamaForCausalLM(c, seed: 1)
            let (x, t) = ids(50)
            try compareGradients(model, { model.loss(x, targets: t) }, { model(x).crossEntropy(targets: t) })
            let h = model.hiddenStates(x).reshaped([21, 16])
            let matrix = try #require(model.fusedOutputMatrix)
            let small = GradMode.withoutGradient { Tensor.linearCrossEntropy(h, matrix, targets: t.indexValues, chunkRows: 4) }
            #expect(abs(small.item() - GradMode.withoutGradient { model(x).crossEntropy(targets: t) }.item()) < 1e-5)
        }
    }

    @Test func quantizedOutputUnderAdapters() throws {
        let model = try ModelRegistry.load(gguf: GGUFFile(path: fixturePath("llama/tiny-llama-q8_0.gguf")), activations: .float32)
        let decoder = try #require(model as? LlamaForCausalLM)
        guard case .quantized = try #require(decoder.fusedOutputMatrix) else { Issue.record("lm_head should be quantized"); return }
        var config = LoRAConfig(targets: .names(["q_proj", "down_proj"]))
        config.dropout = 0
        let lora = try LoRAAdapters(attachingTo: decoder, config: config, seed: 2)
        var g = RandomGenerator(seed: 3)
        for (_, _, adapter) in lora.layers {
            adapter.b.weight.assign(Tensor.randomNormal(adapter.b.weight.value.shape, generator: &g) * 0.1)
        }
        let (x, t) = ids(96)
        try compareGradients(lora, { decoder.loss(x, targets: t) }, { decoder(x).crossEntropy(targets: t) })
    }
}
