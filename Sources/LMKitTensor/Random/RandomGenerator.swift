/// A seeded, reproducible random number generator (xoshiro256**, seeded through SplitMix64).
///
/// Every random choice in LMKit (initialization, dropout, batch sampling, token sampling) draws from
/// a generator you pass, so a run with the same seed is the same run. The state is four words and is
/// `Codable`, so checkpoints can store it for an exact resume.
public struct RandomGenerator: RandomNumberGenerator, Codable, Sendable, Equatable {
    /// The four 64-bit words of xoshiro256** state; checkpoints store them to resume the exact stream.
    public private(set) var state: [UInt64]

    /// A generator whose stream is fixed by `seed`.
    public init(seed: UInt64) {
        var s = seed
        var words: [UInt64] = []
        for _ in 0..<4 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            words.append(z ^ (z >> 31))
        }
        state = words
    }

    /// The next 64 random bits of the xoshiro256** stream (advances the state).
    public mutating func next() -> UInt64 {
        let result = rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotl(state[3], 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Standard normal (Box–Muller).
    public mutating func nextNormal() -> Double {
        var u = nextUniform()
        while u <= 0 { u = nextUniform() }
        let v = nextUniform()
        return (-2 * _log(u)).squareRoot() * _cos(2 * .pi * v)
    }
}

import RealModule

@inline(__always) private func _log(_ x: Double) -> Double { Double.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Double.cos(x) }

extension Tensor {
    /// Normal samples with the given mean and standard deviation.
    public static func randomNormal(
        _ shape: [Int], mean: Double = 0, std: Double = 1, dtype: DType = .float32,
        generator: inout RandomGenerator
    ) -> Tensor {
        let values = (0..<Shape.count(shape)).map { _ in mean + std * generator.nextNormal() }
        return Tensor(shape: shape, doubles: values, dtype: dtype)
    }

    /// Uniform samples in [low, high).
    public static func randomUniform(
        _ shape: [Int], low: Double = 0, high: Double = 1, dtype: DType = .float32,
        generator: inout RandomGenerator
    ) -> Tensor {
        let values = (0..<Shape.count(shape)).map { _ in low + (high - low) * generator.nextUniform() }
        return Tensor(shape: shape, doubles: values, dtype: dtype)
    }

    /// Inverted dropout: zeroes each element with probability `p` and scales the rest by 1/(1 − p),
    /// so the expected value is unchanged and evaluation needs no rescaling.
    public func dropout(_ p: Double, generator: inout RandomGenerator) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout probability \(p) is outside [0, 1)")
        if p == 0 { return self }
        let keep = 1 / (1 - p)
        let values = (0..<count).map { _ in generator.nextUniform() < p ? 0 : keep }
        let mask = Tensor(shape: shape, doubles: values, dtype: dtype)
        return self * mask
    }
}
