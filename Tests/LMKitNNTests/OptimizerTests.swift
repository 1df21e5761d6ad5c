import LMKitNN
import LMKitTensor
import RealModule
import Testing
import TestSupport

/// Optimizers against their update rules written out by hand (PyTorch's formulas), schedules at known
/// steps, clipping, accumulation and exact resume.
@Suite struct OptimizerTests {
    func parameter(_ values: [Float]) -> Parameter { Parameter(Tensor(shape: [values.count], scalars: values)) }

    /// Sets the gradient of `p` to `g` by a backward pass of Σ p·g.
    func setGradient(_ p: Parameter, _ g: [Float]) {
        p.zeroGradient()
        (p.value * Tensor(shape: [g.count], scalars: g)).sum().backward()
    }

    @Test func sgdWithMomentumAndNesterovFollowsPyTorch() {
        for nesterov in [false, true] {
            let p = parameter([1, -2])
            let opt = SGD([("p", p)], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: nesterov)
            var w: [Double] = [1, -2], buf: [Double] = [0, 0]
            for step in 0..<3 {
                let g: [Float] = [0.5 * Float(step + 1), -1]
                setGradient(p, g)
                opt.step()
                for i in 0..<2 {
                    let d = Double(g[i]) + 0.01 * w[i]
                    buf[i] = step == 0 ? d : 0.9 * buf[i] + d
                    w[i] -= 0.1 * (nesterov ? d + 0.9 * buf[i] : buf[i])
                }
            }
            #expect(compare(p.value.converted(to: .float64), Tensor(shape: [2], scalars: w), rtol: 1e-6, atol: 1e-7).withinTolerance)
        }
    }

    @Test func adamWithL2AndAdamWWithDecoupledDecayFollowPyTorch() {
        for decoupled in [false, true] {
            let p = parameter([0.5, -1.5, 2])
            let opt = Adam(
                [ParameterGroup([("p", p)], weightDecay: 0.1)], learningRate: 0.01, beta1: 0.9, beta2: 0.99,
                epsilon: 1e-8, decoupledWeightDecay: decoupled)
            var w: [Double] = [0.5, -1.5, 2], m = [0.0, 0, 0], v = [0.0, 0, 0]
            for t in 1...4 {
                let g: [Float] = [0.3, -0.2 * Float(t), 1]
                setGradient(p, g)
                opt.step()
                for i in 0..<3 {
                    var gi = Double(g[i])
                    if decoupled { w[i] *= 1 - 0.01 * 0.1 } else { gi += 0.1 * w[i] }
                    m[i] = 0.9 * m[i] + 0.1 * gi
                    v[i] = 0.99 * v[i] + 0.01 * gi * gi
                    let mHat = m[i] / (1 - Double.pow(0.9, Double(t)))
                    let vHat = v[i] / (1 - Double.pow(0.99, Double(t)))
                    w[i] -= 0.01 * mHat / (vHat.squareRoot() + 1e-8)
                }
            }
            let c = compare(p.value.converted(to: .float64), Tensor(shape: [3], scalars: w), rtol: 1e-5, atol: 1e-7)
            #expect(c.withinTolerance, "decoupled \(decoupled): \(c)")
        }
    }

    @Test func adamWDecaysMatricesOnly() {
        let matrix = Parameter(Tensor.ones([2, 2])), bias = parameter([1, 1])
        let groups = ParameterGroup.decayingMatrices([("w", matrix), ("b", bias)], weightDecay: 0.5)
        #expect(groups[0].parameters.map(\.name) == ["w"] && groups[0].weightDecay == 0.5)
        #expect(groups[1].parameters.map(\.name) == ["b"] && groups[1].weightDecay == 0)
    }

    @Test func schedules() {
        let cosine = WarmupCosineSchedule(peak: 1, floor: 0.1, warmupSteps: 10, totalSteps: 110)
        #expect(cosine.learningRate(at: 0) == 0)
        #expect(cosine.learningRate(at: 5) == 0.5)
        #expect(cosine.learningRate(at: 10) == 1)
        #expect(Swift.abs(cosine.learningRate(at: 60) - 0.55) < 1e-12)  // halfway: floor + (peak − floor)/2
        #expect(cosine.learningRate(at: 110) == 0.1)
        #expect(cosine.learningRate(at: 500) == 0.1)
        let linear = WarmupLinearSchedule(peak: 2, warmupSteps: 4, totalSteps: 14)
        #expect(linear.learningRate(at: 2) == 1)
        #expect(linear.learningRate(at: 9) == 1)
        #expect(linear.learningRate(at: 14) == 0)
        #expect(ConstantSchedule(0.3).learningRate(at: 99) == 0.3)
    }

    @Test func clippingScalesTheGlobalNorm() {
        let a = parameter([3, 0]), b = parameter([0, 4])
        setGradient(a, [3, 0]); setGradient(b, [0, 4])
        let norm = clipGradientNorm([a, b], maxNorm: 1)
        #expect(Swift.abs(norm - 5) < 1e-6)
        let after = (a.gradient!.floats + b.gradient!.floats).map { Double($0) }
        #expect(Swift.abs(after.map { $0 * $0 }.reduce(0, +).squareRoot() - 1) < 1e-5)
        #expect(Swift.abs(clipGradientNorm([a, b], maxNorm: 10) - 1) < 1e-5)  // under the limit: unchanged
    }

    @Test func gradientAccumulationEqualsTheFullBatch() {
        var g = RandomGenerator(seed: 4)
        let layer = Linear(3, 2, generator: &g)
        let x = Tensor.randomNormal([8, 3], generator: &g), y = Tensor(indices: [0, 1, 1, 0, 1, 0, 0, 1], shape: [8])
        layer(x).crossEntropy(targets: y).backward()
        let full = layer.weight.gradient!
        layer.zeroGradients()
        for half in 0..<2 {
            let rows = (half * 4)..<(half * 4 + 4)
            (layer(x.sliced(axis: 0, range: rows)).crossEntropy(targets: y.sliced(axis: 0, range: rows)) * 0.5).backward()
        }
        #expect(compare(layer.weight.gradient!, full, rtol: 1e-5, atol: 1e-6).withinTolerance)
    }

    @Test func optimizerStateRoundTripResumesExactly() throws {
        func run(steps: Int, resumeAt: Int?) throws -> [Float] {
            let p = parameter([1, 2, 3])
            var opt = Adam.adamW([("p", p)], learningRate: 0.05, weightDecay: 0.1)
            for step in 0..<steps {
                if step == resumeAt {
                    let state = opt.stateDict(), weights = p.value.floats
                    p.assign(Tensor(shape: [3], scalars: weights))
                    opt = Adam.adamW([("p", p)], learningRate: 0.05, weightDecay: 0.1)
                    try opt.load(state: state)
                }
                setGradient(p, [Float(step), -1, 0.5])
                opt.step()
            }
            return p.value.floats
        }
        #expect(try run(steps: 6, resumeAt: nil) == run(steps: 6, resumeAt: 3))
        let opt = Adam.adamW([("p", parameter([1]))], learningRate: 0.1)
        #expect(throws: OptimizerStateError.self) { try opt.load(state: [:]) }
    }
}
