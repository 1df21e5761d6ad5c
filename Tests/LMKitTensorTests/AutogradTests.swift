import LMKitTensor
import Testing
import TestSupport

/// The tape's behaviour: accumulation, recording switches, detaching, freeing.
@Suite struct AutogradTests {
    @Test func gradientsAccumulateAcrossBackwardPasses() {
        let w = Tensor(shape: [2], scalars: [1, 2] as [Float]).requiringGradient()
        (w * 3).sum().backward()
        (w * w).sum().backward()
        #expect(w.gradient?.floats == [5, 7])  // 3 + 2w
        w.zeroGradient()
        #expect(w.gradient == nil)
    }

    @Test func aTensorUsedTwiceGetsBothContributions() {
        let x = Tensor(shape: [1], scalars: [3] as [Float]).requiringGradient()
        (x * x + x).sum().backward()
        #expect(x.gradient?.floats == [7])
    }

    @Test func recomputedBlocksGiveTheSameGradients() {
        let w = Tensor(shape: [2, 2], scalars: [0.5, -1, 2, 0.25] as [Float]).requiringGradient()
        let x = Tensor(shape: [1, 2], scalars: [1.5, -2] as [Float])
        func block(_ h: Tensor) -> Tensor { (h.matmul(w) * h).tanh().matmul(w) }
        var calls = 0
        for inputNeedsGradient in [true, false] {
            let xs = inputNeedsGradient ? x.requiringGradient() : x
            w.zeroGradient()
            block(block(xs)).sum().backward()
            let (gw, gx) = (w.gradient!.floats, xs.gradient?.floats)
            let xr = inputNeedsGradient ? x.requiringGradient() : x
            w.zeroGradient()
            let y = Tensor.recomputingInBackward([xr]) {
                calls += 1; return block($0[0])
            }
            let z = Tensor.recomputingInBackward([y]) {
                calls += 1; return block($0[0])
            }
            #expect(z.requiresGradient)  // w inside the block needs its gradient even when x does not
            z.sum().backward()
            #expect(w.gradient!.floats == gw)
            #expect(xr.gradient?.floats == gx)
        }
        #expect(calls == 8)  // each block ran twice: forward, then again in backward
        let plain = GradMode.withoutGradient { Tensor.recomputingInBackward([x]) { block($0[0]) } }
        #expect(!plain.requiresGradient && plain.floats == GradMode.withoutGradient { block(x) }.floats)
    }

    @Test func noRecordingWithoutGradientMode() {
        let w = Tensor.ones([2]).requiringGradient()
        let y = GradMode.withoutGradient { w * 2 }
        #expect(!y.requiresGradient)
        #expect((w * 2).requiresGradient)
        #expect(!(w.detached() * 2).requiresGradient)
        #expect(!(Tensor.ones([2]) * 2).requiresGradient)
    }

    @Test func backwardWithASeed() {
        let x = Tensor(shape: [2], scalars: [1, 2] as [Float]).requiringGradient()
        let y = x * x
        y.backward(seed: Tensor(shape: [2], scalars: [10, 1] as [Float]))
        #expect(x.gradient?.floats == [20, 4])
    }

    @Test func intermediatesAreFreedAfterBackward() {
        let x = Tensor.ones([1000]).requiringGradient()
        let h = x.exp()
        let loss = h.sum()
        loss.backward()
        #expect(h.gradient == nil)  // intermediate gradients are not kept
        #expect(x.gradient != nil)
    }

    @Test func deepGraphsDroppedWithoutBackwardAreFreedIteratively() {
        // A graph far deeper than any stack could unwind recursively, released without backward().
        var x = Tensor.ones([1]).requiringGradient()
        for _ in 0..<300_000 { x = x * 1.0 }
        #expect(x.requiresGradient)
        x = Tensor.ones([1])
    }

    @Test func deepChainsDoNotOverflowTheStack() {
        var x = Tensor.ones([4]).requiringGradient()
        let leaf = x
        for _ in 0..<20_000 { x = x * 1.0 }
        x.sum().backward()
        #expect(leaf.gradient?.floats == [1, 1, 1, 1])
    }
}
