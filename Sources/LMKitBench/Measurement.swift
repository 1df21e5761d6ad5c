import Dispatch

/// One benchmark result, LMKit against a reference on the same input and thread count.
public struct BenchmarkRow: Codable, Sendable {
    /// What was measured: the kernel or product and its shape.
    public let name: String
    /// Unit of `lmkit` and `reference` (`GFLOP/s`, `GB/s`, `tokens/s`).
    public let unit: String
    /// LMKit's value, in `unit`.
    public let lmkit: Double
    /// The reference's value, in `unit` (0: measured elsewhere, e.g. by a Python script).
    public let reference: Double
    /// > 1 means LMKit is better (for throughput units: lmkit / reference).
    public let ratio: Double
    /// What the reference is and anything a reader needs to interpret the row.
    public let note: String

    /// A row whose `ratio` is `lmkit / reference` (0 when `reference` is 0).
    public init(name: String, unit: String, lmkit: Double, reference: Double, note: String) {
        self.name = name
        self.unit = unit
        self.lmkit = lmkit
        self.reference = reference
        self.ratio = reference == 0 ? 0 : lmkit / reference
        self.note = note
    }
}

/// Wall-clock timing: the median of several runs after a warm-up (this machine is noisy).
public enum Timing {
    /// Seconds since an arbitrary start.
    @inline(__always)
    public static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    /// Median seconds of `a` and of `b`, timed alternately (a, b, b, a, a, b, …) so drift on a shared
    /// machine affects both sides of a comparison alike.
    public static func interleavedMedians(repeats: Int, _ a: () -> Void, _ b: () -> Void) -> (a: Double, b: Double) {
        a(); b()
        var ta: [Double] = [], tb: [Double] = []
        for i in 0..<max(repeats, 1) {
            func time(_ f: () -> Void) -> Double {
                let t0 = now()
                f()
                return now() - t0
            }
            if i % 2 == 0 {
                ta.append(time(a)); tb.append(time(b))
            } else {
                tb.append(time(b)); ta.append(time(a))
            }
        }
        ta.sort(); tb.sort()
        return (ta[ta.count / 2], tb[tb.count / 2])
    }

    /// Median seconds of `repeats` calls of `body`, after `warmup` untimed calls.
    public static func median(repeats: Int, warmup: Int = 1, _ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        var times: [Double] = []
        for _ in 0..<max(repeats, 1) {
            let t0 = now()
            body()
            times.append(now() - t0)
        }
        times.sort()
        return times[times.count / 2]
    }
}
