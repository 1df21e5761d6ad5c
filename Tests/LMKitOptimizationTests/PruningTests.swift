import Foundation
import LMKitModels
import LMKitNN
import LMKitOptimization
import LMKitTensor
import Testing
import TestSupport

/// Pruning: the masks' rules on small matrices, then Wanda (unstructured 50% and 2:4) and magnitude
/// pruning of the tiny Llama fixture against the reference algorithm in PyTorch
/// (Tools/golden/wanda_pruning.py, after locuslab/wanda's lib/prune.py).
@Suite struct PruningTests {
    @Test func masksFollowTheirRules() {
        let scores: [Float] = [4, 1, 3, 2, 8, 7, 6, 5]  // 2 rows of 4
        // Per matrix: the 4 lowest of all (1, 2, 3, 4), wherever they are.
        #expect(
            PruningMask.keep(scores: scores, rows: 2, columns: 4, pattern: .unstructured(0.5), group: .layer)
                == [false, false, false, false, true, true, true, true])
        // Per row: the 2 lowest of each row.
        #expect(
            PruningMask.keep(scores: scores, rows: 2, columns: 4, pattern: .unstructured(0.5), group: .row)
                == [true, false, true, false, true, true, false, false])
        // 1:2: the lower of each pair.
        #expect(
            PruningMask.keep(scores: scores, rows: 2, columns: 4, pattern: .nOfM(n: 1, m: 2), group: .layer)
                == [true, false, true, false, true, false, true, false])
        // Ties: the earlier weight goes first.
        #expect(
            PruningMask.keep(scores: [1, 1, 1, 1], rows: 1, columns: 4, pattern: .unstructured(0.5), group: .row)
                == [false, false, true, true])
        #expect(SparsityPattern.nOfM(n: 2, m: 4).sparsity == 0.5 && SparsityPattern.unstructured(0.3).description == "30%")
    }

    static let golden = Result { try SafetensorsFile(path: fixturePath("pruning/wanda_tiny_llama.safetensors")).tensors() }

    @Test(arguments: ["wanda_50", "wanda_2_4", "magnitude_50"])
    func prunesAsTheReference(mode: String) throws {
        let golden = try Self.golden.get()
        let model = try #require(try ModelRegistry.load(folder: fixturePath("llama/tiny-llama")) as? LlamaForCausalLM)
        let dense = model.stateDict()
        let calibration = try #require(golden["calibration"]).converted(to: .float64).scalars(as: Double.self).map { Int($0) }
        let pruner = ModelPruner(
            method: mode.hasPrefix("wanda") ? .wanda : .magnitude, pattern: mode == "wanda_2_4" ? .nOfM(n: 2, m: 4) : .unstructured(0.5))
        let report = try pruner.prune(model, calibration: [Array(calibration[0..<32]), Array(calibration[32..<64])])
        #expect(report.layers.count == 14 && abs(report.sparsity - 0.5) < 1e-9)
        let pruned = model.stateDict()
        var differing = 0, total = 0
        for (key, expected) in golden where key.hasPrefix(mode + ".") {
            let name = String(key.dropFirst(mode.count + 1))
            let got = try #require(pruned[name]).scalars(as: Float.self), want = expected.scalars(as: Float.self)
            let original = try #require(dense[name]).scalars(as: Float.self)
            total += want.count
            differing += zip(got, want).filter { ($0 == 0) != ($1 == 0) }.count
            // What stays is untouched.
            #expect(zip(got, original).allSatisfy { $0 == 0 || $0 == $1 }, "\(name)")
        }
        #expect(golden.keys.filter { $0.hasPrefix(mode + ".") }.count == 14)
        // Magnitude scores are the weights themselves: the same mask. Wanda's depend on activations
        // computed by two engines: a weight whose score ties its row's threshold within float rounding
        // may fall either way (none did when this was written).
        #expect(
            mode.hasPrefix("magnitude") ? differing == 0 : differing <= total / 1000,
            "\(mode): \(differing) of \(total) mask entries differ")
    }

    /// Removing neurons and heads is the same as zeroing their output weights: the smaller model
    /// gives the logits of the dense one with those columns of down_proj and o_proj zeroed.
    @Test(arguments: [ModelPruner.Method.wanda, .magnitude])
    func structuredPruningShrinksWithoutChangingWhatRemains(method: ModelPruner.Method) throws {
        let golden = try Self.golden.get()
        let model = try #require(try ModelRegistry.load(folder: fixturePath("llama/tiny-llama")) as? LlamaForCausalLM)
        let ids = try #require(golden["calibration"]).converted(to: .float64).scalars(as: Double.self).map { Int($0) }
        let calibration = [Array(ids[0..<32]), Array(ids[32..<64])]
        let (small, report) = try StructuredPruner(method: method, neuronSparsity: 0.5, headSparsity: 0.5).prune(
            model, calibration: calibration)
        let pruned = try #require(small as? LlamaForCausalLM)
        #expect(pruned.config.intermediateSize == 24 && pruned.config.heads == 2 && pruned.config.kvHeads == 2)
        #expect(report.intermediateSize == [48, 24] && report.heads == [4, 2] && report.parameters[1] < report.parameters[0])
        // One query head kept in each of the 2 key/value groups (heads 0–1 and 2–3).
        let heads = try #require(report.keptHeads), neurons = try #require(report.keptNeurons)
        #expect(heads.allSatisfy { $0.count == 2 && $0[0] < 2 && $0[1] >= 2 })
        var masked = model.stateDict()
        for l in 0..<2 {
            let down = "model.layers.\(l).mlp.down_proj.weight", out = "model.layers.\(l).self_attn.o_proj.weight"
            var d = masked[down]!.scalars(as: Float.self), o = masked[out]!.scalars(as: Float.self)
            for r in 0..<32 {
                for j in 0..<48 where !neurons[l].contains(j) { d[r * 48 + j] = 0 }
                for c in 0..<32 where !heads[l].contains(c / 8) { o[r * 32 + c] = 0 }
            }
            masked[down] = Tensor(shape: [32, 48], scalars: d)
            masked[out] = Tensor(shape: [32, 32], scalars: o)
        }
        try model.load(masked)
        let x = Tensor(indices: Array(ids[0..<20]), shape: [1, 20])
        let a = GradMode.withoutGradient { pruned.logits(x, cache: nil) }, b = GradMode.withoutGradient { model.logits(x, cache: nil) }
        let cmp = compare(a, b, rtol: 0, atol: 1e-5)
        #expect(cmp.withinTolerance, "\(cmp)")
        // It saves and loads back as an ordinary, smaller model.
        let folder = TemporaryFolder(prefix: "lmkit-structured")
        try pruned.save(folder: folder.path)
        let back = try ModelRegistry.load(folder: folder.path)
        let c = compare(GradMode.withoutGradient { back.logits(x, cache: nil) }, a, rtol: 0, atol: 1e-6)
        #expect(c.withinTolerance, "\(c)")
        // Wanda's scores need activations; a fraction that removes nothing is refused.
        #expect(throws: ModelError.self) { try StructuredPruner(method: .wanda, neuronSparsity: 0.5).prune(model, calibration: []) }
        #expect(throws: ModelError.self) { try StructuredPruner(method: .magnitude, headSparsity: 0.2).prune(model, calibration: []) }
    }

    @Test func refusesWhatItCannotDo() throws {
        let model = try ModelRegistry.load(folder: fixturePath("llama/tiny-llama"))
        #expect(throws: ModelError.self) { try ModelPruner(method: .wanda, pattern: .unstructured(0.5)).prune(model, calibration: []) }
        #expect(throws: ModelError.self) { try ModelPruner(method: .magnitude, pattern: .nOfM(n: 2, m: 5)).prune(model, calibration: []) }
        #expect(throws: ModelError.self) { try ModelPruner(method: .magnitude, pattern: .unstructured(1)).prune(model, calibration: []) }
        #expect(throws: ModelError.self) {
            try ModelPruner(method: .wanda, pattern: .unstructured(0.5)).prune(model, calibration: [[1, 2, 1_000_000]])
        }
    }
}
