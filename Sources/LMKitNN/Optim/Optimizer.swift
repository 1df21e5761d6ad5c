import LMKitTensor

/// Parameters that share optimizer settings (PyTorch's param groups).
public struct ParameterGroup {
    /// The group's parameters with their names, which key the optimizer's state.
    public var parameters: [(name: String, parameter: Parameter)]
    /// The group's weight decay (0: none): decoupled in AdamW, an L2 term added to the gradient in Adam and SGD.
    public var weightDecay: Double

    /// A group of `parameters` sharing `weightDecay`.
    public init(_ parameters: [(name: String, parameter: Parameter)], weightDecay: Double) {
        self.parameters = parameters
        self.weightDecay = weightDecay
    }

    /// The usual split for transformers: weight decay on matrices (rank ≥ 2: linear weights,
    /// embeddings), none on biases and normalization weights.
    public static func decayingMatrices(_ named: [(name: String, parameter: Parameter)], weightDecay: Double) -> [ParameterGroup] {
        let decay = named.filter { $0.parameter.value.rank >= 2 }
        let other = named.filter { $0.parameter.value.rank < 2 }
        return [ParameterGroup(decay, weightDecay: weightDecay), ParameterGroup(other, weightDecay: 0)]
    }
}

/// Updates parameters from their gradients.
public protocol Optimizer: AnyObject {
    /// The learning rate of the next ``step()`` (schedules set it before each step).
    var learningRate: Double { get set }
    /// Steps taken so far.
    var stepCount: Int { get }
    /// Applies one update to every trainable parameter that has a gradient.
    func step()
    /// The optimizer's state (moments, step count) by name, for checkpoints.
    func stateDict() -> [String: Tensor]
    /// Restores ``stateDict()``; throws naming the key that is missing or mis-shaped.
    func load(state: [String: Tensor]) throws(OptimizerStateError)
}

/// An optimizer checkpoint that does not fit.
public struct OptimizerStateError: Error, CustomStringConvertible, Sendable {
    /// The state key at fault (`step`, `exp_avg.NAME`, `momentum.NAME`, …).
    public let key: String
    /// What is wrong with it: missing, or its shape against the parameter's.
    public let problem: String
    /// The message: `optimizer state 'KEY': PROBLEM`.
    public var description: String { "optimizer state '\(key)': \(problem)" }
}

extension Optimizer {
    /// Forgets the gradients of `parameters` (call after each step, or after each accumulation cycle).
    public func zeroGradients(_ parameters: [Parameter]) { for p in parameters { p.zeroGradient() } }
}

/// Rescales all gradients together so their global L2 norm is at most `maxNorm`, as
/// `torch.nn.utils.clip_grad_norm_` does; returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maxNorm: Double) -> Double {
    var total = 0.0
    for p in parameters {
        guard let g = p.gradient else { continue }
        total += g.withUnsafeScalars(Float.self) { buf in
            var s = 0.0
            for v in buf { s += Double(v) * Double(v) }
            return s
        }
    }
    let norm = total.squareRoot()
    let coefficient = min(1.0, maxNorm / (norm + 1e-6))
    if coefficient < 1 {
        for p in parameters where p.gradient != nil { p.value.scaleGradient(by: coefficient) }
    }
    return norm
}

/// Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay (PyTorch's `SGD`).
public final class SGD: Optimizer {
    /// Learning rate of the next step (schedules set it before each step).
    public var learningRate: Double
    /// Momentum factor μ (0: plain SGD); the velocity is b ← μb + g.
    public let momentum: Double
    /// Whether a step moves by Nesterov's g + μb instead of b.
    public let nesterov: Bool
    public private(set) var stepCount = 0
    private let groups: [ParameterGroup]
    private var velocity: [ObjectIdentifier: Tensor] = [:]

    /// SGD over `groups`, each with its L2 weight decay.
    public init(_ groups: [ParameterGroup], learningRate: Double, momentum: Double = 0, nesterov: Bool = false) {
        self.groups = groups
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
    }

    /// SGD over `named` parameters in one group, with L2 weight decay `weightDecay`.
    public convenience init(
        _ named: [(name: String, parameter: Parameter)], learningRate: Double, momentum: Double = 0,
        weightDecay: Double = 0, nesterov: Bool = false
    ) {
        self.init([ParameterGroup(named, weightDecay: weightDecay)], learningRate: learningRate, momentum: momentum, nesterov: nesterov)
    }

    /// One update of every trainable parameter that has a gradient (PyTorch's SGD without dampening).
    public func step() {
        stepCount += 1
        let lr = Float(learningRate), mu = Float(momentum)
        for group in groups {
            let wd = Float(group.weightDecay)
            for (_, p) in group.parameters where p.isTrainable {
                guard let g = p.gradient?.contiguous() else { continue }
                let key = ObjectIdentifier(p)
                let first = velocity[key] == nil
                if momentum != 0 && first { velocity[key] = Tensor.zeros(p.value.shape) }
                let buf = velocity[key]
                g.withUnsafeScalars(Float.self) { grad in
                    p.value.withUnsafeMutableScalars(Float.self) { w in
                        if let buf {
                            buf.withUnsafeMutableScalars(Float.self) { b in
                                for i in 0..<w.count {
                                    let d = grad[i] + wd * w[i]
                                    b[i] = first ? d : mu * b[i] + d
                                    w[i] -= lr * (nesterov ? d + mu * b[i] : b[i])
                                }
                            }
                        } else {
                            for i in 0..<w.count { w[i] -= lr * (grad[i] + wd * w[i]) }
                        }
                    }
                }
            }
        }
    }

    /// `step` and, per parameter with a velocity, `momentum.NAME` (PyTorch's `momentum_buffer`).
    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = ["step": Tensor(shape: [1], doubles: [Double(stepCount)], dtype: .float64)]
        for group in groups {
            for (name, p) in group.parameters { if let v = velocity[ObjectIdentifier(p)] { out["momentum." + name] = v } }
        }
        return out
    }

    /// Restores ``stateDict()``; a parameter without a `momentum.NAME` entry keeps its velocity.
    public func load(state: [String: Tensor]) throws(OptimizerStateError) {
        guard let step = state["step"] else { throw OptimizerStateError(key: "step", problem: "missing") }
        for group in groups {
            for (name, p) in group.parameters {
                guard let v = state["momentum." + name] else { continue }
                guard v.shape == p.value.shape else {
                    throw OptimizerStateError(key: "momentum." + name, problem: "shape \(v.shape), parameter has \(p.value.shape)")
                }
                velocity[ObjectIdentifier(p)] = v.converted(to: .float32).contiguous().detached()
            }
        }
        stepCount = Int(step.item())
    }
}
