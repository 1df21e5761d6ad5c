@testable import LMKitTensor
import RealModule
import Testing
import TestSupport

/// The Float32 SIMD kernels against Double references, at lengths that hit every tail case
/// (shorter than a vector, exact multiples, one past), and the buffer pool and parallel loops.
@Suite struct KernelTests {
    static let lengths = [1, 7, 8, 9, 31, 64, 1000, 40_003]

    func check(
        _ name: String, _ f32: (Tensor) -> Tensor, _ f64: (Double) -> Double, range: Double = 6, rtol: Double = 2e-6, atol: Double = 1e-7
    ) {
        for n in Self.lengths {
            var g = RandomGenerator(seed: UInt64(n))
            let x = Tensor.randomUniform([n], low: -range, high: range, generator: &g)
            let expected = Tensor(shape: [n], scalars: x.doubles.map(f64))
            let c = compare(f32(x).converted(to: .float64), expected, rtol: rtol, atol: atol)
            #expect(c.withinTolerance, "\(name), n = \(n): \(c)")
        }
    }

    @Test func expMatchesLibm() { check("exp", { $0.exp() }, { Double.exp($0) }, range: 80, atol: 0) }
    @Test func sigmoidMatches() { check("sigmoid", { $0.sigmoid() }, { 1 / (1 + Double.exp(-$0)) }, range: 30) }
    @Test func siluMatches() { check("silu", { $0.silu() }, { $0 / (1 + Double.exp(-$0)) }, range: 30) }
    @Test func geluTanhMatches() {
        check(
            "gelu tanh", { $0.gelu(approximate: true) },
            { x in 0.5 * x * (1 + Double.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))) }, range: 10)
    }
    @Test func geluErfMatches() {
        check(
            "gelu erf", { $0.gelu(approximate: false) }, { x in 0.5 * x * (1 + Double.erf(x / 2.0.squareRoot())) }, range: 10, rtol: 1e-6,
            atol: 1e-7)
    }

    @Test func expSaturatesInsteadOfOverflowing() {
        let big = Tensor(shape: [3], scalars: [200, -200, 0] as [Float]).exp().floats
        #expect(big[0].isFinite && big[0] > 1e38)
        #expect(big[1] >= 0 && big[1] < 1e-37)
        #expect(big[2] == 1)
    }

    @Test func softmaxRowsSumToOneAndHandleInfinity() {
        for n in Self.lengths where n <= 1000 {
            let x = randn([3, n], seed: UInt64(n)).converted(to: .float32)
            for row in x.softmax().reshaped([3, n]).chunked(3, axis: 0) {
                #expect(Swift.abs(row.sum().item() - 1) < 1e-5)
            }
        }
        let masked = Tensor(shape: [2, 3], scalars: [0, -Float.infinity, 0, -.infinity, -.infinity, -.infinity]).softmax().floats
        #expect(masked == [0.5, 0, 0.5, 0, 0, 0])
        let huge = Tensor(shape: [2], scalars: [1e30, 0] as [Float]).softmax().floats
        #expect(huge == [1, 0])
    }

    @Test func layerNormNormalizes() {
        let x = (randn([4, 999], seed: 5) * 3 + 7).converted(to: .float32)
        let y = x.layerNorm(weight: nil, bias: nil).converted(to: .float64)
        for row in y.chunked(4, axis: 0) {
            #expect(Swift.abs(row.mean().item()) < 1e-5)
            #expect(Swift.abs(row.variance(axis: 1).item() - 1) < 1e-3)
        }
    }

    @Test func bufferPoolSizeClasses() {
        for bytes in [1, 64, 65, 100, 1000, 4096, 4097, 1 << 20, (1 << 20) + 1, 123_456_789] {
            let c = BufferPool.sizeClass(bytes)
            #expect(c >= bytes)
            #expect(Double(c) <= Double(max(bytes, 64)) * 1.26 + 8, "size class \(c) for \(bytes) wastes too much")
        }
        // A freed buffer is reused for the next allocation of its class.
        let pool = BufferPool(limitBytes: 1 << 20)
        let (p, cap) = pool.allocate(bytes: 1000)
        pool.release(p, capacity: cap)
        #expect(pool.cachedBytes == cap)
        let (q, _) = pool.allocate(bytes: 1000)
        #expect(q == p)
        #expect(pool.cachedBytes == 0)
        // Over the limit, buffers are freed instead of kept.
        let (r, big) = pool.allocate(bytes: 2 << 20)
        pool.release(r, capacity: big)
        #expect(pool.cachedBytes == 0)
        pool.release(q, capacity: cap)
        pool.drain()
        #expect(pool.cachedBytes == 0)
    }

    @Test func parallelRangesCoverEachIndexOnce() {
        for count in [0, 1, 5, 100, 100_003] {
            let seen = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
            seen.initialize(repeating: 0, count: max(count, 1))
            defer { seen.deallocate() }
            Parallel.forRanges(count, minChunk: 10) { r in for i in r { seen[i] += 1 } }
            #expect((0..<count).allSatisfy { seen[$0] == 1 })
        }
    }

    /// The worker pool under stress: many short loops with workers that sleep between them (no
    /// spinning) and with spinning ones, nested loops (run inline), and loops started from several
    /// threads at once (one runs on the pool, the others alone): every chunk exactly once.
    @Test(arguments: [0, 50]) func workerPoolRunsEveryChunkOnce(spinMicroseconds: Int) async {
        let pool = WorkerPool(workers: 3, spinMicroseconds: spinMicroseconds)
        for round in 0..<2_000 {
            let chunks = 1 + round % 9
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: chunks)
            hits.initialize(repeating: 0, count: chunks)
            pool.run(chunks) { c in hits[c] += 1 }
            #expect((0..<chunks).allSatisfy { hits[$0] == 1 }, "round \(round)")
            hits.deallocate()
        }
        // Several callers at once.
        await withTaskGroup(of: Bool.self) { group in
            for caller in 0..<4 {
                group.addTask {
                    var ok = true
                    for round in 0..<300 {
                        let chunks = 2 + (round + caller) % 7
                        let hits = UnsafeMutablePointer<Int>.allocate(capacity: chunks)
                        hits.initialize(repeating: 0, count: chunks)
                        pool.run(chunks) { c in hits[c] += 1 }
                        ok = ok && (0..<chunks).allSatisfy { hits[$0] == 1 }
                        hits.deallocate()
                    }
                    return ok
                }
            }
            for await ok in group { #expect(ok) }
        }
        // A loop inside a loop runs on the thread that reached it.
        let total = UnsafeMutablePointer<Int>.allocate(capacity: 16)
        total.initialize(repeating: 0, count: 16)
        defer { total.deallocate() }
        Parallel.forEach(4) { outer in
            Parallel.forRanges(4_000, minChunk: 10) { r in total[outer * 4] += r.count }
        }
        #expect((0..<4).map { total[$0 * 4] } == [4_000, 4_000, 4_000, 4_000])
    }

    @Test func randomStreamsAreReproducible() throws {
        var a = RandomGenerator(seed: 7), b = RandomGenerator(seed: 7), c = RandomGenerator(seed: 8)
        let xs = (0..<5).map { _ in a.next() }
        #expect(xs == (0..<5).map { _ in b.next() })
        #expect(xs != (0..<5).map { _ in c.next() })
        // The state survives a checkpoint round trip and continues the same stream.
        let saved = a
        #expect(
            a.next()
                == {
                    var s = saved; return s.next()
                }())
        var g = RandomGenerator(seed: 1)
        let normals = Tensor.randomNormal([20_000], dtype: .float64, generator: &g)
        #expect(Swift.abs(normals.mean().item()) < 0.03)
        #expect(Swift.abs(normals.variance(axis: 0).item() - 1) < 0.05)
        let kept = Tensor.ones([10_000]).dropout(0.25, generator: &g)
        #expect(Swift.abs(kept.mean().item() - 1) < 0.05)  // inverted dropout keeps the expectation
        #expect(Set(kept.floats) == [0, Float(1 / 0.75)])
    }
}
