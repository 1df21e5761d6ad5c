import LMKitNN
import LMKitTensor
import Testing

/// Whole-tensor comparison for golden values: |Δ| ≤ 1e-4·|expected| + atol, atol = 1e-5·max|expected|
/// (values near zero), the largest difference printed.
public func expectMatches(_ actual: Tensor, _ expected: Tensor, _ what: String) {
    let atol = 1e-5 * max(expected.abs().max().item(), 1e-3)
    let c = compare(actual, expected, rtol: 1e-4, atol: atol)
    #expect(c.withinTolerance, "\(what): \(c)")
}

func goldenTensors(_ file: SafetensorsFile, prefix: String) throws -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for name in file.names where name.hasPrefix(prefix) { out[String(name.dropFirst(prefix.count))] = try file.tensor(name) }
    return out
}

/// Checks forward, gradients and 10 AdamW steps of `model` against golden prefix `p`, as written by
/// `Tools/golden/engine_parity.py`'s `train` (`P.param.*` initial weights, `P.logits`, `P.loss`,
/// `P.grad.*`, `P.losses`, `P.grad_norms`, `P.final.*`; `P.targets` with −1 ignored): AdamW with lr
/// 1e-2, betas (0.9, 0.95), weight decay 0.1 on matrices, gradients clipped to norm 1.
///
/// `zeroGradient` names parameter slices whose true gradient is exactly zero. GPT-2's key bias is
/// one: adding b to every key adds q·b to a whole row of scores, which softmax ignores. Both
/// implementations hold only rounding noise there (PyTorch: ≤ 2e-8), and Adam divides by √v, so
/// it turns noise into steps of up to lr: those final values are noise, not a result to match.
/// For them the test checks that the gradient is ~0 and that each step stayed within Adam's bound.
///
/// `logitPositions` (`[B, T]`, 1 = compared) limits the logits compared to those positions: see the
/// Gemma 3 test for why a padded position can have no defined logits. Loss, gradients and steps are
/// always compared whole.
public func checkTrainingParity(
    _ model: Module, golden file: SafetensorsFile, prefix p: String, zeroGradient: [String: Range<Int>] = [:],
    logitPositions: Tensor? = nil, forward: () -> Tensor
) throws {
    try model.load(goldenTensors(file, prefix: p + ".param."))
    let targets = try file.tensor(p + ".targets")
    let logits = forward()
    if let keep = logitPositions {
        let m = Tensor(shape: keep.shape + [1], doubles: keep.indexValues.map(Double.init), dtype: logits.dtype)  // (B, T, 1)
        expectMatches(logits * m, try file.tensor(p + ".logits") * m, "\(p) logits at the compared positions")
    } else {
        expectMatches(logits, try file.tensor(p + ".logits"), "\(p) logits")
    }
    let vocab = logits.size(-1)
    let loss = logits.reshaped([-1, vocab]).crossEntropy(targets: targets.reshaped([-1]), ignoreIndex: -1)
    expectMatches(loss.reshaped([1]), try file.tensor(p + ".loss"), "\(p) loss")
    loss.backward()
    for (name, parameter) in model.namedParameters() {
        let g = try #require(parameter.gradient, "\(p): no gradient for \(name)")
        expectMatches(g, try file.tensor(p + ".grad." + name), "\(p) gradient of \(name)")
        if let slice = zeroGradient[name] {
            #expect(g.sliced(axis: 0, range: slice).abs().max().item() < 1e-6, "\(p) \(name)[\(slice)] should have a zero gradient")
        }
    }
    model.zeroGradients()

    let optimizer = Adam.adamW(model.namedParameters(), learningRate: 1e-2, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1)
    var losses: [Double] = [], norms: [Double] = []
    for _ in 0..<10 {
        model.zeroGradients()
        let l = forward().reshaped([-1, vocab]).crossEntropy(targets: targets.reshaped([-1]), ignoreIndex: -1)
        l.backward()
        norms.append(clipGradientNorm(model.parameters, maxNorm: 1.0))
        optimizer.step()
        losses.append(l.item())
    }
    expectMatches(Tensor(shape: [10], doubles: losses), try file.tensor(p + ".losses"), "\(p) losses over 10 AdamW steps")
    expectMatches(Tensor(shape: [10], doubles: norms), try file.tensor(p + ".grad_norms"), "\(p) gradient norms")
    for (name, parameter) in model.namedParameters() {
        let expected = try file.tensor(p + ".final." + name)
        guard let slice = zeroGradient[name] else {
            expectMatches(parameter.value, expected, "\(p) \(name) after 10 steps")
            continue
        }
        let n = expected.shape[0]
        for part in [0..<slice.lowerBound, slice.upperBound..<n] where !part.isEmpty {
            expectMatches(
                parameter.value.sliced(axis: 0, range: part), expected.sliced(axis: 0, range: part), "\(p) \(name)[\(part)] after 10 steps")
        }
        let initial = try file.tensor(p + ".param." + name).sliced(axis: 0, range: slice)
        let moved = (parameter.value.sliced(axis: 0, range: slice) - initial).abs().max().item()
        #expect(moved <= 10 * 1e-2 * 1.01, "\(p) \(name)[\(slice)] moved \(moved), more than 10 Adam steps of lr 1e-2 allow")
    }
}
