import RealModule

/// A learning rate as a function of the optimizer step (0-based: the rate for the step about to run).
public protocol LearningRateSchedule: Sendable {
    func learningRate(at step: Int) -> Double
}

/// The same rate at every step.
public struct ConstantSchedule: LearningRateSchedule {
    /// The learning rate of every step.
    public let rate: Double
    /// A schedule that always returns `rate`.
    public init(_ rate: Double) { self.rate = rate }
    /// `rate`, whatever the step.
    public func learningRate(at step: Int) -> Double { rate }
}

/// Linear warm-up from 0 to `peak` over `warmupSteps`, then cosine decay to `floor` at `totalSteps`
/// (Hugging Face's `get_cosine_schedule_with_warmup`, with a floor as nanoGPT uses).
public struct WarmupCosineSchedule: LearningRateSchedule {
    /// Rate at the end of warm-up, and the rate the cosine decays to at `totalSteps` and keeps after.
    public let peak: Double, floor: Double
    /// Steps of linear warm-up from 0, and the step at which the decay reaches `floor`.
    public let warmupSteps: Int, totalSteps: Int

    /// Requires `totalSteps > 0` and `warmupSteps ≥ 0`; `floor` defaults to 0.
    public init(peak: Double, floor: Double = 0, warmupSteps: Int, totalSteps: Int) {
        precondition(totalSteps > 0 && warmupSteps >= 0, "schedule needs totalSteps > 0 and warmupSteps ≥ 0")
        self.peak = peak
        self.floor = floor
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// `peak · step / warmupSteps` during warm-up, then `floor + (peak − floor) · (1 + cos(π · progress)) / 2`
    /// with `progress` going from 0 to 1, then `floor` from `totalSteps` on.
    public func learningRate(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step) / Double(max(1, warmupSteps)) }
        if step >= totalSteps { return floor }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        return floor + (peak - floor) * 0.5 * (1 + Double.cos(Double.pi * progress))
    }
}

/// Linear warm-up to `peak`, then linear decay to 0 at `totalSteps` (`get_linear_schedule_with_warmup`).
public struct WarmupLinearSchedule: LearningRateSchedule {
    /// Rate at the end of warm-up.
    public let peak: Double
    /// Steps of linear warm-up from 0, and the step at which the rate reaches 0.
    public let warmupSteps: Int, totalSteps: Int

    /// Requires `totalSteps > 0` and `warmupSteps ≥ 0`.
    public init(peak: Double, warmupSteps: Int, totalSteps: Int) {
        precondition(totalSteps > 0 && warmupSteps >= 0, "schedule needs totalSteps > 0 and warmupSteps ≥ 0")
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// `peak · step / warmupSteps` during warm-up, then falling linearly to 0 at `totalSteps` (0 after).
    public func learningRate(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step) / Double(max(1, warmupSteps)) }
        return peak * max(0, Double(totalSteps - step) / Double(max(1, totalSteps - warmupSteps)))
    }
}
