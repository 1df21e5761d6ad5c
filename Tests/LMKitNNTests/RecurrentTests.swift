import Foundation
import LMKitNN
import LMKitTensor
import Testing
import TestSupport

extension LayerGradientTests {
    /// RNN, LSTM and GRU (two layers, with an initial state): gradients of the outputs and the final
    /// states with respect to the input and every weight, against finite differences.
    @Test(arguments: RecurrentCell.allCases)
    func recurrentLayers(cell: RecurrentCell) {
        var g = RandomGenerator(seed: 1)
        let layer = Recurrent(cell, inputSize: 3, hiddenSize: 4, layers: 2, generator: &g)
        let x = randn([2, 3, 3], seed: 2)
        let h0 = randn([2, 2, 4], seed: 3), c0 = randn([2, 2, 4], seed: 4)
        check("\(cell)", layer, input: x) { input in
            let (y, s) = layer(input, state: .init(h: h0, c: cell == .lstm ? c0 : nil))
            var parts = [y.reshaped([y.count]), s.h.reshaped([s.h.count])]
            if let c = s.c { parts.append(c.reshaped([c.count])) }
            return Tensor.concatenated(parts, axis: 0)
        }
    }
}

@Test func lstmForgetBiasInitialization() {
    var g = RandomGenerator(seed: 1)
    let lstm = Recurrent(.lstm, inputSize: 3, hiddenSize: 4, layers: 2, forgetBias: 1, generator: &g)
    for l in 0..<2 {
        let b = lstm.biasIH[l]!.value.doubles
        #expect(Array(b[4..<8]) == [1, 1, 1, 1], "layer \(l) forget block \(b[4..<8])")
        #expect(b[0..<4].allSatisfy { abs($0) <= 0.5 } && b[8..<16].allSatisfy { abs($0) <= 0.5 })
    }
}

/// RNN, LSTM and GRU against PyTorch's `nn.RNN` / `nn.LSTM` / `nn.GRU` in float64
/// (Tools/golden/rnn_parity.py): outputs, final states, and the gradients of every weight, the
/// input and the initial state; a zero initial state; truncated backpropagation through time.
@Suite struct RecurrentParityTests {
    let golden: [String: Tensor]
    init() throws { golden = try SafetensorsFile(path: fixturePath("rnn/rnn_parity.safetensors")).tensors() }

    func tensor(_ key: String) throws -> Tensor { try #require(golden[key], "golden lacks \(key)") }

    func expectClose(_ a: Tensor, _ b: Tensor, _ what: String) {
        let c = compare(a, b, rtol: 1e-10, atol: 1e-12)
        #expect(c.withinTolerance, "\(what): \(c)")
    }

    func load(_ cell: RecurrentCell) throws -> Recurrent {
        var g = RandomGenerator(seed: 0)
        let layer = Recurrent(cell, inputSize: 5, hiddenSize: 7, layers: 2, generator: &g)
        layer.convert(to: .float64)
        var params: [String: Tensor] = [:]
        for (k, t) in golden where k.hasPrefix("\(cell.rawValue).param.") {
            params[String(k.dropFirst("\(cell.rawValue).param.".count))] = t
        }
        try layer.load(params)
        return layer
    }

    @Test(arguments: RecurrentCell.allCases)
    func matchesPyTorch(cell: RecurrentCell) throws {
        let p = cell.rawValue
        let layer = try load(cell)
        let x = try tensor("\(p).x").requiringGradient()
        let h0 = try tensor("\(p).h0").requiringGradient()
        let c0 = cell == .lstm ? try tensor("lstm.c0").requiringGradient() : nil
        let (y, s) = layer(x, state: .init(h: h0, c: c0))
        expectClose(y, try tensor("\(p).output"), "\(p) output")
        expectClose(s.h, try tensor("\(p).hn"), "\(p) hn")
        var loss = (y * (try tensor("\(p).w_out"))).sum() + (s.h * (try tensor("\(p).w_h"))).sum()
        if let c = s.c {
            expectClose(c, try tensor("lstm.cn"), "lstm cn")
            loss = loss + (c * (try tensor("lstm.w_c"))).sum()
        }
        loss.backward()
        for (name, param) in layer.namedParameters() {
            expectClose(try #require(param.gradient), try tensor("\(p).grad.\(name)"), "\(p) grad \(name)")
        }
        expectClose(try #require(x.gradient), try tensor("\(p).grad.x"), "\(p) grad x")
        expectClose(try #require(h0.gradient), try tensor("\(p).grad.h0"), "\(p) grad h0")
        if let c0 { expectClose(try #require(c0.gradient), try tensor("lstm.grad.c0"), "lstm grad c0") }

        let plain = try tensor("\(p).x")
        let (yz, sz) = GradMode.withoutGradient { layer(plain) }
        expectClose(yz, try tensor("\(p).zero_state.output"), "\(p) output from a zero state")
        expectClose(sz.h, try tensor("\(p).zero_state.hn"), "\(p) hn from a zero state")
    }

    @Test func truncatedBackpropagationThroughTime() throws {
        let layer = try load(.lstm)
        let x = try tensor("lstm.x")
        let first = x.sliced(axis: 1, range: 0..<3), second = x.sliced(axis: 1, range: 3..<6)
        let (_, mid) = layer(first, state: .init(h: try tensor("lstm.h0"), c: try tensor("lstm.c0")))
        layer.zeroGradients()
        let (y2, _) = layer(second, state: mid.detached())
        expectClose(y2, try tensor("lstm.tbptt.output2"), "second chunk output")
        (y2 * (try tensor("lstm.w_out")).sliced(axis: 1, range: 3..<6)).sum().backward()
        expectClose(
            try #require(layer.weightHH[0].gradient), try tensor("lstm.tbptt.grad.weight_hh_l0"),
            "weight_hh_l0 gradient of the second chunk only")
    }
}
