import LMKitTensor
import Testing
import TestSupport

/// Forward values of views, broadcasting, reductions and products, against values computed by hand
/// or by a plain Double loop.
@Suite struct TensorOpsTests {
    let m = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6] as [Float])

    @Test func viewsShareStorageAndReorder() {
        #expect(m.transposed().shape == [3, 2])
        #expect(!m.transposed().isContiguous)
        #expect(m.transposed().floats == [1, 4, 2, 5, 3, 6])
        #expect(m.transposed().storage === m.storage)
        #expect(m.reshaped([3, -1]).shape == [3, 2])
        #expect(m.reshaped([6]).storage === m.storage)
        #expect(m.sliced(axis: 1, range: 1..<3).floats == [2, 3, 5, 6])
        #expect(m.selected(axis: 0, index: 1).floats == [4, 5, 6])
        #expect(m.permuted([1, 0]).contiguous().isContiguous)
        #expect(m.unsqueezed(0).shape == [1, 2, 3])
        #expect(m.unsqueezed(-1).shape == [2, 3, 1])
        #expect(m.unsqueezed(0).squeezed(0).shape == [2, 3])
        #expect(Tensor(shape: [3], scalars: [1, 2, 3] as [Float]).expanded(to: [2, 3]).floats == [1, 2, 3, 1, 2, 3])
        #expect(m.chunked(3, axis: 1).map(\.floats) == [[1, 4], [2, 5], [3, 6]])
    }

    @Test func concatenationAndStacking() {
        let a = Tensor(shape: [2, 1], scalars: [7, 8] as [Float])
        #expect(Tensor.concatenated([m, a], axis: 1).floats == [1, 2, 3, 7, 4, 5, 6, 8])
        #expect(Tensor.concatenated([m, m], axis: 0).shape == [4, 3])
        #expect(Tensor.stacked([m, m], axis: 1).shape == [2, 2, 3])
        #expect(Tensor.stacked([m, m], axis: 1).floats == [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6])
    }

    @Test func broadcastingArithmetic() {
        let row = Tensor(shape: [3], scalars: [10, 20, 30] as [Float])
        let col = Tensor(shape: [2, 1], scalars: [1, 2] as [Float])
        #expect((m + row).floats == [11, 22, 33, 14, 25, 36])
        #expect((m * col).floats == [1, 2, 3, 8, 10, 12])
        #expect((row - col).floats == [9, 19, 29, 8, 18, 28])
        #expect((m / 2).floats == [0.5, 1, 1.5, 2, 2.5, 3])
        #expect((1 - m).floats == [0, -1, -2, -3, -4, -5])
        #expect(m.transposed().binary(.add, m.transposed()).floats == [2, 8, 4, 10, 6, 12])
        #expect(m.maximum(Tensor(3.5)).floats == [3.5, 3.5, 3.5, 4, 5, 6])
        #expect(m.binary(.greaterEqual, Tensor(3)).floats == [0, 0, 1, 1, 1, 1])
        #expect(Shape.broadcast([2, 1, 4], [3, 1]) == [2, 3, 4])
        #expect(Shape.broadcast([2, 3], [4]) == nil)
    }

    @Test func reductions() {
        #expect(m.sum().item() == 21)
        #expect(m.sum(axis: 0).floats == [5, 7, 9])
        #expect(m.sum(axis: 1, keepDims: true).shape == [2, 1])
        #expect(m.sum(axis: 1).floats == [6, 15])
        #expect(m.transposed().sum(axis: 1).floats == [5, 7, 9])
        #expect(m.mean(axis: 1).floats == [2, 5])
        #expect(m.max(axis: 1).floats == [3, 6])
        #expect(m.max().item() == 6)
        #expect(m.argmax(axis: 0).indexValues == [1, 1, 1])
        #expect(Tensor.zeros([3, 0]).sum(axis: 1).floats == [0, 0, 0])  // empty sums are 0
        #expect(Tensor.zeros([0, 2]).sum(axis: 0).floats == [0, 0])
        let x = randn([3, 5, 7], seed: 3)
        let reference = x.doubles
        let sum1 = x.sum(axis: 1).doubles
        for i in 0..<3 {
            for k in 0..<7 {
                var s = 0.0
                for j in 0..<5 { s += reference[(i * 5 + j) * 7 + k] }
                #expect(Swift.abs(sum1[i * 7 + k] - s) < 1e-12)
            }
        }
        #expect(
            Swift.abs(
                x.variance(axis: 2).doubles[0]
                    - {
                        let row = Array(reference[0..<7]); let mu = row.reduce(0, +) / 7
                        return row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / 7
                    }()) < 1e-12)
    }

    /// C = A·B by a plain loop in Double.
    func naiveMatmul(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { c[i * n + j] += a[i * k + p] * b[p * n + j] } } }
        return c
    }

    @Test(arguments: [(1, 5, 3), (4, 5, 3), (7, 1, 9), (17, 33, 20)])
    func matmulMatchesPlainLoopInEveryLayout(_ dims: (Int, Int, Int)) {
        let (mm, k, n) = dims
        let a = randn([mm, k], seed: 1), b = randn([k, n], seed: 2)
        let expected = Tensor(shape: [mm, n], scalars: naiveMatmul(a.doubles, b.doubles, m: mm, k: k, n: n))
        // Plain, both operands as transposed views, and a view BLAS cannot read (sliced columns).
        let cases: [(String, Tensor)] = [
            ("plain", a.matmul(b)),
            ("transposed views", a.transposed().contiguous().transposed().matmul(b.transposed().contiguous().transposed())),
            ("strided slice", Tensor.concatenated([a, a], axis: 1).sliced(axis: 1, range: 0..<k).matmul(b)),
            ("float32", a.converted(to: .float32).matmul(b.converted(to: .float32)).converted(to: .float64)),
        ]
        for (name, c) in cases {
            let tol = name == "float32" ? 1e-4 : 1e-12
            #expect(
                compare(c, expected, rtol: tol, atol: tol).withinTolerance, "\(name) \(dims): \(compare(c, expected, rtol: tol, atol: tol))"
            )
        }
    }

    /// Products of ≥ 2²⁴ FLOPs are split across cores by rows (m ≥ n) or by columns (n > m).
    @Test(arguments: [(300, 200, 280, false), (40, 300, 700, false), (300, 200, 280, true), (40, 300, 700, true)])
    func largeProductsSplitAcrossCoresMatchAPlainLoop(_ shape: (Int, Int, Int, Bool)) {
        let (mm, k, n, transposed) = shape
        let a = randn([mm, k], seed: 21), b = randn([k, n], seed: 22)
        let expected = Tensor(shape: [mm, n], scalars: naiveMatmul(a.doubles, b.doubles, m: mm, k: k, n: n))
        let product = transposed ? a.transposed().contiguous().transposed().matmul(b.transposed().contiguous().transposed()) : a.matmul(b)
        let c = compare(product, expected, rtol: 1e-12, atol: 1e-10)
        #expect(c.withinTolerance, "\(shape): \(c)")
    }

    @Test func batchedMatmulBroadcastsBatchAxes() {
        let a = randn([2, 3, 4, 5], seed: 4), b = randn([3, 5, 6], seed: 5)
        let c = a.matmul(b)
        #expect(c.shape == [2, 3, 4, 6])
        let ad = a.doubles, bd = b.doubles, cd = c.doubles
        for i in 0..<2 {
            for j in 0..<3 {
                let block = naiveMatmul(
                    Array(ad[((i * 3 + j) * 20)..<((i * 3 + j + 1) * 20)]), Array(bd[(j * 30)..<((j + 1) * 30)]), m: 4, k: 5, n: 6)
                for (t, v) in block.enumerated() { #expect(Swift.abs(cd[(i * 3 + j) * 24 + t] - v) < 1e-12) }
            }
        }
        // A shared right-hand matrix folds the batch into one product; same numbers as one by one.
        let w = randn([5, 6], seed: 6)
        let folded = a.matmul(w).doubles
        let single = a.selected(axis: 0, index: 1).selected(axis: 0, index: 2).matmul(w).doubles
        #expect(Array(folded[(5 * 24)..<(6 * 24)]) == single)
    }

    @Test func linearIsMatmulPlusBias() {
        let x = randn([2, 3, 4], seed: 7), w = randn([5, 4], seed: 8), b = randn([5], seed: 9)
        let expected = x.matmul(w.transposed()) + b
        #expect(compare(Tensor.linear(x, weight: w, bias: b), expected, rtol: 1e-12, atol: 1e-12).withinTolerance)
        let one = x.sliced(axis: 1, range: 0..<1).sliced(axis: 0, range: 0..<1)  // one row: the gemv path
        #expect(compare(Tensor.linear(one, weight: w, bias: b), one.matmul(w.transposed()) + b, rtol: 1e-12, atol: 1e-12).withinTolerance)
    }

    @Test func attentionMatchesComposedOps() {
        let q = randn([2, 4, 5, 3], seed: 10), k = randn([2, 2, 5, 3], seed: 11), v = randn([2, 2, 5, 3], seed: 12)
        let padding = Tensor(indices: [1, 1, 1, 1, 1, 1, 1, 1, 0, 0], shape: [2, 5])
        let mask = Tensor.attentionMask(padding: padding, dtype: .float64)
        let fused = Tensor.scaledDotProductAttention(query: q, key: k, value: v, causal: true, mask: mask)
        // Composed: repeat kv heads, scores, causal + padding mask, softmax, weighted sum.
        let kr = Tensor.concatenated(
            [
                k.sliced(axis: 1, range: 0..<1), k.sliced(axis: 1, range: 0..<1), k.sliced(axis: 1, range: 1..<2),
                k.sliced(axis: 1, range: 1..<2),
            ], axis: 1)
        let vr = Tensor.concatenated(
            [
                v.sliced(axis: 1, range: 0..<1), v.sliced(axis: 1, range: 0..<1), v.sliced(axis: 1, range: 1..<2),
                v.sliced(axis: 1, range: 1..<2),
            ], axis: 1)
        var causal = [Double](repeating: 0, count: 25)
        for i in 0..<5 { for j in 0..<5 where j > i { causal[i * 5 + j] = -.infinity } }
        let scores = q.matmul(kr.transposed()) * (1 / 3.0.squareRoot()) + Tensor(shape: [5, 5], scalars: causal) + mask
        let composed = scores.softmax().matmul(vr)
        let c = compare(fused, composed, rtol: 1e-12, atol: 1e-12)
        #expect(c.withinTolerance, "\(c)")
    }

    @Test func fullyMaskedAttentionRowGivesZeros() {
        let q = randn([1, 1, 2, 3], seed: 1), k = randn([1, 1, 2, 3], seed: 2), v = randn([1, 1, 2, 3], seed: 3)
        let mask = Tensor(shape: [1, 1, 2, 2], scalars: [-Double.infinity, -.infinity, 0, 0])
        let out = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask)
        #expect(Array(out.doubles[0..<3]) == [0, 0, 0])
        #expect(!out.doubles.contains { $0.isNaN })
    }

    @Test func integerTensorsAndConversions() {
        let ids = Tensor(indices: [3, 0, 2], shape: [3])
        #expect(ids.dtype == .int32 && ids.indexValues == [3, 0, 2])
        let table = Tensor(shape: [4, 2], scalars: [0, 1, 10, 11, 20, 21, 30, 31] as [Float])
        #expect(table.gatheringRows(ids).floats == [30, 31, 0, 1, 20, 21])
        #expect(Tensor.scatterAddingRows(Tensor.ones([3, 2]), indices: [1, 1, 3], rows: 4).floats == [0, 0, 2, 2, 0, 0, 1, 1])
        #expect(m.converted(to: .float64).doubles == [1, 2, 3, 4, 5, 6])
        #expect(Tensor.arange(0, 5).floats == [0, 1, 2, 3, 4])
        #expect(Tensor.arange(1, 2, step: 0.25, dtype: .float64).doubles == [1, 1.25, 1.5, 1.75])
    }

    /// `write` is slice assignment with copy on write: a value or view sharing the storage keeps its
    /// numbers; a buffer nothing else shares is written in place (the KV cache relies on both).
    @Test func writeCopiesSharedStorageAndWritesUniqueStorageInPlace() {
        var buffer = Tensor.zeros([1, 2, 4, 2])
        let before = ObjectIdentifier(buffer.storage)
        buffer.write(Tensor(shape: [1, 2, 1, 2], scalars: [1, 2, 3, 4] as [Float]), axis: 2, at: 1)
        #expect(ObjectIdentifier(buffer.storage) == before)
        #expect(buffer.floats == [0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0])
        let view = buffer.sliced(axis: 2, range: 0..<2), copy = buffer
        buffer.write(Tensor(shape: [1, 2, 1, 2], scalars: [5, 6, 7, 8] as [Float]), axis: 2, at: 0)
        #expect(ObjectIdentifier(buffer.storage) != before)
        #expect(buffer.floats == [5, 6, 1, 2, 0, 0, 0, 0, 7, 8, 3, 4, 0, 0, 0, 0])
        #expect(view.contiguous().floats == [0, 0, 1, 2, 0, 0, 3, 4])
        #expect(copy.floats == [0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0])
    }
}
