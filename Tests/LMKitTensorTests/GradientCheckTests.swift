import LMKitTensor
import Testing
import TestSupport

/// One op under test: its inputs' shapes and how to compute it from them.
struct GradCase: CustomStringConvertible, Sendable {
    let name: String
    let shapes: [[Int]]
    let positive: Bool
    let op: @Sendable ([Tensor]) -> Tensor
    init(_ name: String, _ shapes: [[Int]], positive: Bool = false, _ op: @escaping @Sendable ([Tensor]) -> Tensor) {
        self.name = name
        self.shapes = shapes
        self.positive = positive
        self.op = op
    }
    var description: String { name }
}

/// Every gradient rule, checked against central finite differences in Float64 on random inputs,
/// including broadcast operands and non-contiguous (transposed, sliced, expanded) views.
@Suite struct GradientCheckTests {
    static let cases: [GradCase] = [
        GradCase("add broadcast", [[3, 4], [4]]) { $0[0] + $0[1] },
        GradCase("sub broadcast leading", [[2, 3, 4], [3, 1]]) { $0[0] - $0[1] },
        GradCase("mul broadcast both", [[3, 1], [1, 4]]) { $0[0] * $0[1] },
        GradCase("div", [[3, 4], [3, 4]], positive: true) { $0[0] / $0[1] },
        GradCase("scalar ops", [[5]]) { 2.0 - ($0[0] * 3.0 + 1.0) / 4.0 },
        GradCase("maximum", [[4, 5], [4, 5]]) { $0[0].maximum($0[1]) },
        GradCase("minimum", [[4, 5], [5]]) { $0[0].minimum($0[1]) },
        GradCase("neg", [[6]]) { -$0[0] },
        GradCase("exp", [[3, 5]]) { $0[0].exp() },
        GradCase("log", [[3, 5]], positive: true) { $0[0].log() },
        GradCase("sqrt", [[3, 5]], positive: true) { $0[0].sqrt() },
        GradCase("rsqrt", [[3, 5]], positive: true) { $0[0].rsqrt() },
        GradCase("tanh", [[3, 5]]) { $0[0].tanh() },
        GradCase("sigmoid", [[3, 5]]) { $0[0].sigmoid() },
        GradCase("relu", [[3, 5]]) { $0[0].relu() },
        GradCase("abs", [[3, 5]]) { $0[0].abs() },
        GradCase("square", [[3, 5]]) { $0[0].squared() },
        GradCase("sin cos", [[3, 5]]) { $0[0].sin() * $0[0].cos() },
        GradCase("pow", [[3, 5]], positive: true) { $0[0].pow(1.7) },
        GradCase("gelu tanh", [[4, 19]]) { $0[0].gelu(approximate: true) },
        GradCase("gelu erf", [[4, 19]]) { $0[0].gelu(approximate: false) },
        GradCase("silu", [[4, 19]]) { $0[0].silu() },
        GradCase("gelu on transposed view", [[5, 3]]) { $0[0].transposed().gelu() },
        GradCase("sum all", [[3, 4]]) { $0[0].sum() },
        GradCase("sum last keepdims", [[3, 4, 5]]) { $0[0].sum(axis: -1, keepDims: true) },
        GradCase("sum leading", [[3, 4, 5]]) { $0[0].sum(axes: [0, 1]) },
        GradCase("sum middle", [[3, 4, 5]]) { $0[0].sum(axis: 1) },
        GradCase("mean", [[3, 4]]) { $0[0].mean(axis: 0) },
        GradCase("variance", [[3, 6]]) { $0[0].variance(axis: 1) },
        GradCase("max along axis", [[4, 6]]) { $0[0].max(axis: 1) },
        GradCase("reshape", [[2, 6]]) { $0[0].reshaped([3, 4]) * $0[0].reshaped([3, 4]) },
        GradCase("permute", [[2, 3, 4]]) { $0[0].permuted([2, 0, 1]).contiguous() },
        GradCase("transpose then reshape", [[3, 4]]) { $0[0].transposed().reshaped([2, 6]) },
        GradCase("expand", [[3, 1]]) { $0[0].expanded(to: [2, 3, 4]) * 1.5 },
        GradCase("slice", [[5, 4]]) { $0[0].sliced(axis: 0, range: 1..<4) },
        GradCase("slice inner", [[3, 6]]) { $0[0].sliced(axis: 1, range: 2..<5).exp() },
        GradCase("select", [[3, 4]]) { $0[0].selected(axis: 1, index: 2) },
        GradCase("concat", [[2, 3], [2, 2]]) { Tensor.concatenated([$0[0], $0[1]], axis: 1) },
        GradCase("stack", [[2, 3], [2, 3]]) { Tensor.stacked([$0[0], $0[1]], axis: 0) },
        GradCase("chunk", [[2, 6]]) { $0[0].chunked(3, axis: 1)[1] * $0[0].chunked(3, axis: 1)[2] },
        GradCase("matmul", [[3, 4], [4, 5]]) { $0[0].matmul($0[1]) },
        GradCase("matmul transposed operands", [[4, 3], [5, 4]]) { $0[0].transposed().matmul($0[1].transposed()) },
        GradCase("matmul batched", [[2, 3, 4], [2, 4, 5]]) { $0[0].matmul($0[1]) },
        GradCase("matmul batch broadcast", [[2, 3, 4], [4, 5]]) { $0[0].matmul($0[1]) },
        GradCase("matmul broadcast left", [[3, 4], [2, 4, 5]]) { $0[0].matmul($0[1]) },
        GradCase("matmul vector row", [[1, 4], [4, 5]]) { $0[0].matmul($0[1]) },
        GradCase("linear", [[2, 3, 4], [5, 4], [5]]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) },
        GradCase("linear one row no bias", [[1, 4], [5, 4]]) { Tensor.linear($0[0], weight: $0[1], bias: nil) },
        GradCase("linear on transposed input", [[4, 3], [5, 4]]) { Tensor.linear($0[0].transposed(), weight: $0[1], bias: nil) },
        GradCase("softmax", [[3, 7]]) { $0[0].softmax() },
        GradCase("softmax on view", [[7, 3]]) { $0[0].transposed().softmax() },
        GradCase("log softmax", [[3, 21]]) { $0[0].logSoftmax() },
        GradCase("layer norm", [[3, 20], [20], [20]]) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) },
        GradCase("layer norm no affine", [[4, 5]]) { $0[0].layerNorm(weight: nil, bias: nil) },
        GradCase("rms norm", [[3, 20], [20]]) { $0[0].rmsNorm(weight: $0[1]) },
        GradCase("rms norm offset 1", [[3, 6], [6]]) { $0[0].rmsNorm(weight: $0[1], weightOffset: 1) },
        GradCase("embedding gather", [[5, 3]]) { $0[0].gatheringRows(Tensor(indices: [1, 4, 1, 0, 2, 4], shape: [2, 3])) },
        GradCase("scatter add rows", [[4, 3]]) { Tensor.scatterAddingRows($0[0], indices: [2, 0, 2, 1], rows: 3) },
        GradCase("cross entropy", [[5, 7]]) {
            $0[0].crossEntropy(targets: Tensor(indices: [3, -100, 0, 6, 2], shape: [5]))
        },
        GradCase("cross entropy 3-d", [[2, 3, 4]]) {
            $0[0].crossEntropy(targets: Tensor(indices: [0, 1, 2, 3, -1, 1], shape: [2, 3]), ignoreIndex: -1)
        },
        GradCase("attention", [[2, 2, 3, 4], [2, 2, 3, 4], [2, 2, 3, 5]]) {
            Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2])
        },
        GradCase("attention causal", [[1, 2, 4, 3], [1, 2, 4, 3], [1, 2, 4, 3]]) {
            Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], causal: true)
        },
        GradCase("attention causal, fewer queries (KV cache)", [[1, 1, 2, 3], [1, 1, 5, 3], [1, 1, 5, 3]]) {
            Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], causal: true)
        },
        GradCase("attention GQA + padding mask", [[2, 4, 3, 2], [2, 2, 3, 2], [2, 2, 3, 2]]) {
            let mask = Tensor.attentionMask(padding: Tensor(indices: [1, 1, 1, 1, 1, 0], shape: [2, 3]), dtype: .float64)
            return Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], causal: true, mask: mask)
        },
        GradCase("attention on strided views", [[2, 3, 12]]) {
            // q, k, v as head views of one [B, T, 3·H·hs] projection, as models produce them.
            let parts = $0[0].chunked(3, axis: 2)
            let heads = parts.map { $0.reshaped([2, 3, 2, 2]).transposed(1, 2) }
            return Tensor.scaledDotProductAttention(query: heads[0], key: heads[1], value: heads[2], causal: true)
        },
        GradCase("convert float32 round trip", [[3]]) { $0[0].converted(to: .float32).converted(to: .float64) * 1.0 },
        GradCase("composite MLP", [[2, 3], [4, 3], [4], [2, 4]]) {
            Tensor.linear($0[0], weight: $0[1], bias: $0[2]).gelu().matmul($0[3].transposed()).layerNorm(weight: nil, bias: nil).sum(
                axis: 1)
        },
    ]

    @Test(arguments: cases)
    func gradientMatchesFiniteDifferences(_ c: GradCase) {
        let inputs = c.shapes.enumerated().map { i, shape -> Tensor in
            let x = randn(shape, seed: UInt64(17 + i))
            return c.positive ? x.abs() + 0.5 : x
        }
        // The float32 round trip rounds to 24 bits by design: a 1e-6 step is below its resolution,
        // so that case takes a 1e-2 step (the function is linear) and float32 tolerances.
        let loose = c.name.hasPrefix("convert")
        for result in checkGradients(inputs, step: loose ? 1e-2 : 1e-6, rtol: loose ? 1e-4 : 1e-5, atol: loose ? 1e-5 : 1e-7, c.op) {
            #expect(result.passed, "\(c.name): \(result)")
        }
    }
}
