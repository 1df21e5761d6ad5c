import RealModule

/// A learning rate as a function of the optimizer step (0-based: the rate for the step about to run).
public protocol LearningRateSchedule: Sendable {
    func learningRate(at step: Int) -> Double
}

/// The same rate at every step.
public struct ConstantSchedule: LearningRateSchedule {
    public let rate: Double
    public init(_ rate: Double) { self.rate = rate }
    public func learningRate(at step: Int) -> Double { rate }
}

/// Linear warm-up from 0 to `peak` over `warmupSteps`, then cosine decay to `floor` at `totalSteps`
/// (Hugging Face's `get_cosine_schedule_with_warmup`, with a floor as nanoGPT uses).
public struct WarmupCosineSchedule: LearningRateSchedule {
    public let peak: Double, floor: Double
    public let warmupSteps: Int, totalSteps: Int

    public init(peak: Double, floor: Double = 0, warmupSteps: Int, totalSteps: Int) {
        precondition(totalSteps > 0 && warmupSteps >= 0, "schedule needs totalSteps > 0 and warmupSteps ≥ 0")
        self.peak = peak
        self.floor = floor
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    public func learningRate(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step) / Double(max(1, warmupSteps)) }
        if step >= totalSteps { return floor }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        return floor + (peak - floor) * 0.5 * (1 + Double.cos(Double.pi * progress))
    }
}

/// Linear warm-up to `peak`, then linear decay to 0 at `totalSteps` (`get_linear_schedule_with_warmup`).
public struct WarmupLinearSchedule: LearningRateSchedule {
    public let peak: Double
    public let warmupSteps: Int, totalSteps: Int

    public init(peak: Double, warmupSteps: Int, totalSteps: Int) {
        precondition(totalSteps > 0 && warmupSteps >= 0, "schedule needs totalSteps > 0 and warmupSteps ≥ 0")
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    public func learningRate(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step) / Double(max(1, warmupSteps)) }
        return peak * max(0, Double(totalSteps - step) / Double(max(1, totalSteps - warmupSteps)))
    }
}
