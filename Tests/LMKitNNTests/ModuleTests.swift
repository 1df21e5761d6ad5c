import Foundation
import LMKitNN
import LMKitTensor
import Testing
import TestSupport

@Suite struct ModuleTests {
    final class Net: Module {
        let fc: Linear, norm: LayerNorm, drop: Dropout
        override init() {
            var g = RandomGenerator(seed: 1)
            fc = Linear(3, 2, generator: &g)
            norm = LayerNorm(2)
            drop = Dropout(0.5, seed: 3)
            super.init()
            register("fc", fc)
            register("blocks", list: [norm])
            register("drop", drop)
        }
        func callAsFunction(_ x: Tensor) -> Tensor { drop(norm(fc(x))) }
    }

    @Test func parametersHaveDottedCheckpointNames() {
        let net = Net()
        #expect(net.namedParameters().map(\.name) == ["fc.weight", "fc.bias", "blocks.0.weight", "blocks.0.bias"])
        #expect(net.parameterCount == 6 + 2 + 2 + 2)
        #expect(Set(net.stateDict().keys) == ["fc.weight", "fc.bias", "blocks.0.weight", "blocks.0.bias"])
    }

    @Test func strictLoadingNamesEveryProblemAndChangesNothing() throws {
        let net = Net()
        let before = net.fc.weight.value.floats
        var state = net.stateDict()
        state["fc.weight"] = Tensor.zeros([3, 2])  // transposed by mistake
        state.removeValue(forKey: "blocks.0.bias")
        state["lm_head.weight"] = Tensor.zeros([2, 2])
        do {
            try net.load(state)
            Issue.record("expected a load error")
        } catch {
            #expect(error.missing == ["blocks.0.bias"])
            #expect(error.unexpected == ["lm_head.weight"])
            #expect(error.mismatched.map(\.key) == ["fc.weight"])
            #expect(error.description.contains("fc.weight: model expects shape [2, 3], checkpoint has [3, 2]"))
        }
        #expect(net.fc.weight.value.floats == before)
        // Non-strict loading tolerates missing and extra keys, never a wrong shape.
        state["fc.weight"] = Tensor.ones([2, 3]).converted(to: .float64)
        try net.load(state, strict: false)
        #expect(net.fc.weight.value.floats == [1, 1, 1, 1, 1, 1])
        #expect(net.fc.weight.value.dtype == .float32)
    }

    @Test func checkpointRoundTripThroughSafetensors() throws {
        let path = "/tmp/lmkit-module-\(UInt64.random(in: 0..<UInt64.max)).safetensors"
        defer { _ = try? FileManager.default.removeItem(atPath: path) }
        let a = Net(), b = Net()
        a.fc.weight.assign(Tensor.full(0.25, shape: [2, 3]))
        try a.save(to: path)
        try b.load(contentsOf: path)
        #expect(b.fc.weight.value.floats == Array(repeating: 0.25, count: 6))
        #expect(b.stateDict().keys.sorted() == a.stateDict().keys.sorted())
        #expect(throws: (any Error).self) { try b.load(contentsOf: path + ".missing") }
    }

    @Test func freezingStopsGradientsAndTrainEvalSwitchesDropout() {
        let net = Net()
        let x = Tensor.ones([4, 3])
        net.fc.freeze()
        net.eval()
        #expect(net(x).floats == net(x).floats)  // no dropout in eval
        net(x).sum().backward()
        #expect(net.fc.weight.gradient == nil)
        #expect(net.norm.weight?.gradient != nil)
        net.train()
        #expect(net(x).floats.contains(0))  // dropout active in training
        net.unfreeze()
        #expect(net.fc.weight.isTrainable)
    }
}
