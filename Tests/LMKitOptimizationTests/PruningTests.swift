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
