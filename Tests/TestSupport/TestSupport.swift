import Foundation
import LMKitAssets
import LMKitTensor

/// Paths of committed test fixtures (`Tests/Fixtures/…`), found from this file's location so tests
/// run from any working directory.
public func fixturePath(_ relative: String, filePath: String = #filePath) -> String {
    let testsFolder = filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(2).joined(separator: "/")
    return testsFolder + "/Fixtures/" + relative
}

/// The largest differences between two tensors, for assertion messages.
public struct Comparison: CustomStringConvertible, Sendable {
    public let maxAbsolute: Double
    public let maxRelative: Double
    public let worstIndex: Int
    public let actual: Double
    public let expected: Double
    public let withinTolerance: Bool

    public var description: String {
        "max |Δ| = \(maxAbsolute), max relative = \(maxRelative); worst at flat index \(worstIndex): \(actual) vs \(expected)"
    }
}

/// Compares whole tensors element by element: |a − e| ≤ atol + rtol·|e| everywhere (as `torch.allclose`).
public func compare(_ actual: Tensor, _ expected: Tensor, rtol: Double, atol: Double) -> Comparison {
    precondition(actual.shape == expected.shape, "compare: shapes \(actual.shape) and \(expected.shape) differ")
    let a = actual.doubles, e = expected.doubles
    var maxAbs = 0.0, maxRel = 0.0, worst = 0, ok = true, worstExcess = -Double.infinity
    for i in 0..<a.count {
        let d = Swift.abs(a[i] - e[i])
        if d.isNaN { ok = false; worst = i; break }
        maxAbs = Swift.max(maxAbs, d)
        if e[i] != 0 { maxRel = Swift.max(maxRel, d / Swift.abs(e[i])) }
        let excess = d - (atol + rtol * Swift.abs(e[i]))
        if excess > 0 { ok = false }
        if excess > worstExcess { worstExcess = excess; worst = i }
    }
    return Comparison(
        maxAbsolute: maxAbs, maxRelative: maxRel, worstIndex: worst,
        actual: a.isEmpty ? 0 : a[worst], expected: e.isEmpty ? 0 : e[worst], withinTolerance: ok)
}

/// The result of checking an op's gradients against central finite differences.
public struct GradientCheck: CustomStringConvertible, Sendable {
    public let input: Int
    public let comparison: Comparison
    public var passed: Bool { comparison.withinTolerance }
    public var description: String { "input \(input): \(comparison)" }
}

/// Checks the gradients of `f` with respect to each of `inputs` (all float64) against central
/// finite differences: ∂L/∂xᵢ ≈ (L(x + h·eᵢ) − L(x − h·eᵢ)) / 2h with L = Σ f(x)·w for a fixed random
/// `w`, so every output element's gradient path is exercised. Returns one result per input.
public func checkGradients(
    _ inputs: [Tensor], step h: Double = 1e-6, rtol: Double = 1e-5, atol: Double = 1e-7,
    seed: UInt64 = 99, _ f: ([Tensor]) -> Tensor
) -> [GradientCheck] {
    precondition(inputs.allSatisfy { $0.dtype == .float64 }, "checkGradients needs float64 inputs")
    let leaves = inputs.map { $0.contiguous().detached().requiringGradient() }
    let probe = f(leaves)
    var generator = RandomGenerator(seed: seed)
    let weights = Tensor.randomNormal(probe.shape, dtype: .float64, generator: &generator)
    (probe * weights).sum().backward()
    func loss(_ xs: [Tensor]) -> Double {
        GradMode.withoutGradient { (f(xs) * weights).sum().item() }
    }
    var results: [GradientCheck] = []
    for (i, x) in inputs.enumerated() {
        let base = x.contiguous().doubles
        var numeric = [Double](repeating: 0, count: base.count)
        for j in 0..<base.count {
            var plus = base, minus = base
            plus[j] += h
            minus[j] -= h
            var xsPlus = inputs, xsMinus = inputs
            xsPlus[i] = Tensor(shape: x.shape, scalars: plus)
            xsMinus[i] = Tensor(shape: x.shape, scalars: minus)
            numeric[j] = (loss(xsPlus) - loss(xsMinus)) / (2 * h)
        }
        let analytic = leaves[i].gradient ?? Tensor.zeros(x.shape, dtype: .float64)
        results.append(
            GradientCheck(input: i, comparison: compare(analytic, Tensor(shape: x.shape, scalars: numeric), rtol: rtol, atol: atol)))
    }
    return results
}

/// A float64 tensor of standard-normal values.
public func randn(_ shape: [Int], seed: UInt64) -> Tensor {
    var g = RandomGenerator(seed: seed)
    return Tensor.randomNormal(shape, dtype: .float64, generator: &g)
}

/// The asset store tests read from, and a visible note when an asset is missing.
public enum TestAssets {
    public static let store = AssetStore()

    /// Whether `asset` is present; prints why a test is skipped when it is not.
    public static func available(_ asset: Asset) -> Bool {
        if store.isPresent(asset) { return true }
        print("◇ SKIPPED: asset '\(asset.rawValue)' is not in \(store.root); run scripts/fetch-assets --only \(asset.rawValue)")
        return false
    }
}

/// A fresh folder under the system's temporary directory, removed with everything in it when the
/// object goes (a test suite holds one per test).
public final class TemporaryFolder: Sendable {
    public let path: String

    public init(prefix: String) {
        path = NSTemporaryDirectory() + "\(prefix)-\(getpid())-\(UInt64.random(in: 0..<UInt64.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The reference venv's Python (`scripts/reference-venv`), for tests that check LMKit's files with the
/// real libraries (transformers, tokenizers). CI has no venv: those checks print a SKIPPED line.
public enum ReferencePython {
    public struct Output {
        public let status: Int32
        public let stdout: Data
        public let stderr: String
    }

    /// The interpreter, or nil after printing why `check` is skipped.
    public static func executable(for check: String) -> String? {
        let home = ProcessInfo.processInfo.environment["LMKIT_HOME"] ?? (NSHomeDirectory() + "/.cache/lmkit")
        let python = home + "/venv-reference/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            print("◇ SKIPPED: \(check): no reference venv at \(python) (scripts/reference-venv makes it)")
            return nil
        }
        return python
    }

    /// Runs the interpreter with `arguments`; nil (after printing why) when there is no venv or it
    /// lacks a module the script imports.
    public static func run(_ arguments: [String], for check: String) throws -> Output? {
        guard let python = executable(for: check) else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if errors.contains("No module named") {
            print("◇ SKIPPED: \(check): the reference venv lacks a module (scripts/reference-venv installs it)")
            return nil
        }
        return Output(status: p.terminationStatus, stdout: data, stderr: errors)
    }
}

/// llama.cpp's tools as `scripts/llama-cpp-tools` builds them (benchmarks build them; CI does not):
/// tests that run LMKit's files in llama.cpp print a SKIPPED line without them.
public enum LlamaCppTools {
    /// The tool's path, or nil after printing why `check` is skipped.
    public static func path(_ tool: String, for check: String) -> String? {
        let home = ProcessInfo.processInfo.environment["LMKIT_HOME"] ?? (NSHomeDirectory() + "/.cache/lmkit")
        let path = home + "/llama.cpp/build-tools/bin/" + tool
        guard FileManager.default.isExecutableFile(atPath: path) else {
            print("◇ SKIPPED: \(check): no \(path) (scripts/llama-cpp-tools \(tool) builds it)")
            return nil
        }
        return path
    }

    /// Runs `tool` with `arguments`: its exit status and its standard output and error together.
    public static func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
