import LMKitTensor

/// A trainable tensor. Modules own parameters; optimizers update them in place.
public final class Parameter {
    /// The current value, a gradient-collecting leaf while ``isTrainable``.
    public private(set) var value: Tensor
    /// Whether optimizers update this parameter and backward computes its gradient.
    public private(set) var isTrainable = true

    /// A trainable parameter holding `value` (converted to a contiguous leaf).
    public init(_ value: Tensor) {
        self.value = value.contiguous().detached().requiringGradient()
    }

    /// The gradient accumulated by backward passes since the last ``zeroGradient()``.
    public var gradient: Tensor? { value.gradient }

    /// Forgets the accumulated gradient.
    public func zeroGradient() { value.zeroGradient() }

    /// Replaces the value (checkpoint loading). Shapes must already have been checked.
    public func assign(_ newValue: Tensor) {
        let v = newValue.dtype == value.dtype ? newValue.contiguous() : newValue.converted(to: value.dtype)
        value = isTrainable ? v.detached().requiringGradient() : v.detached()
    }

    /// Converts the value to another float type (float64 for gradient checks and debugging).
    public func convert(to dtype: DType) {
        precondition(dtype.isComputable, "parameters compute in float32 or float64, not \(dtype)")
        let v = value.converted(to: dtype).detached()
        value = isTrainable ? v.requiringGradient() : v
    }

    /// Stops (or resumes) training this parameter: frozen parameters take no gradient.
    public func setTrainable(_ trainable: Bool) {
        guard trainable != isTrainable else { return }
        isTrainable = trainable
        value = trainable ? value.detached().requiringGradient() : value.detached()
    }

    /// Number of elements.
    public var count: Int { value.count }
}

/// The base of every layer and model: a tree of named children and parameters.
///
/// Names join with dots into the keys Hugging Face checkpoints use (`h.0.attn.c_attn.weight`), so a
/// checkpoint loads by walking its keys. Subclasses create their children and parameters in `init`
/// and register them under their checkpoint names:
///
/// ```swift
/// final class Block: Module {
///     let ln1: LayerNorm
///     init(width: Int) {
///         ln1 = LayerNorm(width)
///         super.init()
///         register("ln_1", ln1)
///     }
/// }
/// ```
open class Module {
    private var parameterSlots: [(name: String, parameter: Parameter)] = []
    private var childSlots: [(name: String, module: Module)] = []
    /// Whether the module is in training mode (dropout active) or evaluation mode.
    public private(set) var isTraining = true

    /// An empty module: a subclass creates its parts, calls this, then registers them.
    public init() {}

    /// Registers a parameter under `name` and returns it.
    @discardableResult
    public func register(_ name: String, _ parameter: Parameter) -> Parameter {
        precondition(
            !parameterSlots.contains { $0.name == name } && !childSlots.contains { $0.name == name },
            "\(type(of: self)): '\(name)' registered twice")
        parameterSlots.append((name, parameter))
        return parameter
    }

    /// Registers a child module under `name`.
    public func register(_ name: String, _ module: Module) {
        precondition(
            !parameterSlots.contains { $0.name == name } && !childSlots.contains { $0.name == name },
            "\(type(of: self)): '\(name)' registered twice")
        childSlots.append((name, module))
    }

    /// Registers `module` under a dotted path such as `attention.self.query`, creating plain container
    /// modules for the names in between, as nested PyTorch modules name their weights.
    public func register(_ module: Module, atPath path: String) {
        let (parent, name) = container(for: path)
        parent.register(name, module)
    }

    /// Registers `parameter` under a dotted path such as `cls.predictions.bias`.
    @discardableResult
    public func register(_ parameter: Parameter, atPath path: String) -> Parameter {
        let (parent, name) = container(for: path)
        return parent.register(name, parameter)
    }

    /// The module that holds the last name of `path`, created as needed, and that name.
    private func container(for path: String) -> (Module, String) {
        var parts = path.split(separator: ".").map(String.init)
        precondition(!parts.isEmpty, "register(_:atPath:): empty path")
        let last = parts.removeLast()
        var parent: Module = self
        for part in parts {
            if let existing = parent.childSlots.first(where: { $0.name == part })?.module {
                parent = existing
            } else {
                let container = Module()
                parent.register(part, container)
                parent = container
            }
        }
        return (parent, last)
    }

    /// Registers a list of children as `name.0`, `name.1`, … (PyTorch's `ModuleList`).
    public func register(_ name: String, list: [Module]) {
        let container = Module()
        for (i, m) in list.enumerated() { container.register(String(i), m) }
        register(name, container)
    }

    /// Every parameter with its dotted name, depth first in registration order.
    public func namedParameters(prefix: String = "") -> [(name: String, parameter: Parameter)] {
        var out = parameterSlots.map { (prefix + $0.name, $0.parameter) }
        for child in childSlots {
            out += child.module.namedParameters(prefix: prefix + child.name + ".")
        }
        return out
    }

    /// Every parameter.
    public var parameters: [Parameter] { namedParameters().map(\.parameter) }

    /// The direct children with their names.
    public var children: [(name: String, module: Module)] { childSlots }

    /// Total number of parameter elements (shared parameters counted once).
    public var parameterCount: Int {
        var seen = Set<ObjectIdentifier>()
        return parameters.reduce(0) { seen.insert(ObjectIdentifier($1)).inserted ? $0 + $1.count : $0 }
    }

    /// Training mode (dropout on), recursively.
    public func train(_ on: Bool = true) {
        isTraining = on
        for c in childSlots { c.module.train(on) }
    }

    /// Evaluation mode (dropout off), recursively.
    public func eval() { train(false) }

    /// Freezes every parameter below this module (transfer learning: train only a new head).
    public func freeze() { for p in parameters { p.setTrainable(false) } }

    /// Makes every parameter below this module trainable again.
    public func unfreeze() { for p in parameters { p.setTrainable(true) } }

    /// Forgets every accumulated gradient.
    public func zeroGradients() { for p in parameters { p.zeroGradient() } }

    /// Converts every parameter to `dtype` (PyTorch's `module.double()` / `.float()`).
    public func convert(to dtype: DType) { for p in parameters { p.convert(to: dtype) } }

    /// The parameters' current values by dotted name (what a checkpoint stores).
    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, p) in namedParameters() { out[name] = p.value.detached() }
        return out
    }

    /// Loads parameter values by dotted name.
    ///
    /// Strict loading (the default) fails, naming every key, when the tensors and the module disagree:
    /// keys the module needs but `tensors` lacks, keys it has no place for, and shapes that differ.
    /// Nothing is assigned unless everything fits. Values of another float type are converted.
    public func load(_ tensors: [String: Tensor], strict: Bool = true) throws(ModuleLoadError) {
        let named = namedParameters()
        var missing: [String] = []
        var mismatched: [(String, [Int], [Int])] = []
        var notNumeric: [String] = []
        for (name, p) in named {
            guard let t = tensors[name] else { missing.append(name); continue }
            if t.shape != p.value.shape { mismatched.append((name, p.value.shape, t.shape)) }
            if t.dtype.isInteger { notNumeric.append(name) }
        }
        let known = Set(named.map(\.name))
        let unexpected = tensors.keys.filter { !known.contains($0) }.sorted()
        if !mismatched.isEmpty || !notNumeric.isEmpty || (strict && (!missing.isEmpty || !unexpected.isEmpty)) {
            throw ModuleLoadError(
                missing: strict ? missing : [], unexpected: strict ? unexpected : [],
                mismatched: mismatched, notFloat: notNumeric)
        }
        for (name, p) in named { if let t = tensors[name] { p.assign(t) } }
    }
}

/// Why a checkpoint did not fit a module, with every offending key.
public struct ModuleLoadError: Error, CustomStringConvertible, Sendable {
    /// Parameters the checkpoint lacks (strict loading only).
    public let missing: [String]
    /// Checkpoint keys that name no parameter (strict loading only).
    public let unexpected: [String]
    /// Keys whose shapes differ: the model's, then the checkpoint's.
    public let mismatched: [(key: String, expected: [Int], found: [Int])]
    /// Keys whose tensors hold integers where weights belong.
    public let notFloat: [String]

    /// An error listing the offending keys; `mismatched` holds (key, expected shape, found shape).
    public init(missing: [String], unexpected: [String], mismatched: [(String, [Int], [Int])], notFloat: [String]) {
        self.missing = missing
        self.unexpected = unexpected
        self.mismatched = mismatched.map { (key: $0.0, expected: $0.1, found: $0.2) }
        self.notFloat = notFloat
    }

    /// A header line, then one line per kind of problem (one per mismatched key).
    public var description: String {
        var lines = ["the checkpoint does not fit the model:"]
        if !missing.isEmpty { lines.append("  missing keys (\(missing.count)): " + missing.joined(separator: ", ")) }
        if !unexpected.isEmpty { lines.append("  unexpected keys (\(unexpected.count)): " + unexpected.joined(separator: ", ")) }
        for m in mismatched { lines.append("  \(m.key): model expects shape \(m.expected), checkpoint has \(m.found)") }
        if !notFloat.isEmpty { lines.append("  integer tensors where weights belong: " + notFloat.joined(separator: ", ")) }
        return lines.joined(separator: "\n")
    }
}
