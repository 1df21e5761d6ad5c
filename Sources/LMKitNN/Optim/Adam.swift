import LMKitTensor

/// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), step for step as PyTorch's
/// `torch.optim.AdamW` / `Adam` compute it:
///
///     p ← p·(1 − lr·wd)                        (AdamW: decoupled decay)   | g ← g + wd·p (Adam: L2)
///     m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²
///     p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
public final class Adam: Optimizer {
    /// Learning rate of the next step (schedules set it before each step).
    public var learningRate: Double
    /// Decay rates of the first and second moment averages (default 0.9, 0.999), and ε added to √v (1e-8).
    public let beta1: Double, beta2: Double, epsilon: Double
    /// true: AdamW's decoupled weight decay; false: Adam's L2 penalty added to the gradient.
    public let decoupledWeightDecay: Bool
    public private(set) var stepCount = 0
    private let groups: [ParameterGroup]
    private var moments: [ObjectIdentifier: (m: Tensor, v: Tensor)] = [:]

    /// An optimizer over `groups`, each with its weight decay; `decoupledWeightDecay` picks AdamW over Adam.
    public init(
        _ groups: [ParameterGroup], learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999,
        epsilon: Double = 1e-8, decoupledWeightDecay: Bool = true
    ) {
        self.groups = groups
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// AdamW with decay on matrices only (no decay on biases and norms), the transformer default.
    public static func adamW(
        _ named: [(name: String, parameter: Parameter)], learningRate: Double, beta1: Double = 0.9,
        beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0.01
    ) -> Adam {
        Adam(
            ParameterGroup.decayingMatrices(named, weightDecay: weightDecay), learningRate: learningRate,
            beta1: beta1, beta2: beta2, epsilon: epsilon, decoupledWeightDecay: true)
    }

    /// Plain Adam (optionally with an L2 penalty, as PyTorch's `Adam(weight_decay:)`).
    public static func adam(
        _ named: [(name: String, parameter: Parameter)], learningRate: Double, beta1: Double = 0.9,
        beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0
    ) -> Adam {
        Adam(
            [ParameterGroup(named, weightDecay: weightDecay)], learningRate: learningRate,
            beta1: beta1, beta2: beta2, epsilon: epsilon, decoupledWeightDecay: false)
    }

    /// One update of every trainable parameter that has a gradient; moments start at zero.
    public func step() {
        stepCount += 1
        let t = Double(stepCount)
        let stepSize = Float(learningRate / (1 - power(beta1, t)))
        let bc2Sqrt = Float((1 - power(beta2, t)).squareRoot())
        let b1 = Float(beta1), b2 = Float(beta2), eps = Float(epsilon)
        for group in groups {
            let decay = Float(1 - learningRate * group.weightDecay)
            let l2 = Float(group.weightDecay)
            for (_, p) in group.parameters where p.isTrainable {
                guard let g = p.gradient?.contiguous() else { continue }
                let key = ObjectIdentifier(p)
                if moments[key] == nil { moments[key] = (Tensor.zeros(p.value.shape), Tensor.zeros(p.value.shape)) }
                let (m, v) = moments[key]!
                let decoupled = decoupledWeightDecay
                g.withUnsafeScalars(Float.self) { grad in
                    p.value.withUnsafeMutableScalars(Float.self) { w in
                        m.withUnsafeMutableScalars(Float.self) { mb in
                            v.withUnsafeMutableScalars(Float.self) { vb in
                                for i in 0..<w.count {
                                    var gi = grad[i]
                                    if decoupled { w[i] *= decay } else { gi += l2 * w[i] }
                                    mb[i] += (gi - mb[i]) * (1 - b1)
                                    vb[i] = vb[i] * b2 + (1 - b2) * gi * gi
                                    w[i] -= stepSize * mb[i] / (vb[i].squareRoot() / bc2Sqrt + eps)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `step` and, per parameter, `exp_avg.NAME` and `exp_avg_sq.NAME` (PyTorch's names for m and v).
    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = ["step": Tensor(shape: [1], doubles: [Double(stepCount)], dtype: .float64)]
        for group in groups {
            for (name, p) in group.parameters {
                if let (m, v) = moments[ObjectIdentifier(p)] {
                    out["exp_avg." + name] = m
                    out["exp_avg_sq." + name] = v
                }
            }
        }
        return out
    }

    /// Restores ``stateDict()``; moments may be missing only when both this optimizer and the state are at step 0.
    public func load(state: [String: Tensor]) throws(OptimizerStateError) {
        guard let step = state["step"] else { throw OptimizerStateError(key: "step", problem: "missing") }
        var restored: [ObjectIdentifier: (m: Tensor, v: Tensor)] = [:]
        for group in groups {
            for (name, p) in group.parameters {
                let mk = "exp_avg." + name, vk = "exp_avg_sq." + name
                guard let m = state[mk], let v = state[vk] else {
                    if stepCount == 0 && step.item() == 0 { continue }
                    throw OptimizerStateError(key: state[mk] == nil ? mk : vk, problem: "missing")
                }
                guard m.shape == p.value.shape, v.shape == p.value.shape else {
                    throw OptimizerStateError(key: mk, problem: "shape \(m.shape), parameter has \(p.value.shape)")
                }
                restored[ObjectIdentifier(p)] = (
                    m.converted(to: .float32).contiguous().detached(), v.converted(to: .float32).contiguous().detached()
                )
            }
        }
        moments = restored
        stepCount = Int(step.item())
    }
}

import RealModule
@inline(__always) func power(_ x: Double, _ y: Double) -> Double { Double.pow(x, y) }
