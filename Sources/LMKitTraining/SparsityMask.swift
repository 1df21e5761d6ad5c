import LMKitNN
import LMKitTensor

/// Which weights of a pruned model are zero, one bit each, put back to zero after every optimizer
/// step: recovery training that keeps the pruning masks (the pruned weights would otherwise come
/// back through their gradients and weight decay).
final class SparsityMask {
    /// Per masked parameter, one bit per weight, set where the weight was zero.
    private let masks: [(parameter: Parameter, zeros: [UInt64])]

    /// The zeros of every matrix among `parameters` that has any (vectors: biases, norms, are left alone).
    init(_ parameters: [Parameter]) {
        var masks: [(Parameter, [UInt64])] = []
        for p in parameters where p.value.rank >= 2 && p.value.dtype == .float32 {
            var bits = [UInt64](repeating: 0, count: (p.count + 63) / 64)
            var any = false
            p.value.withUnsafeScalars(Float.self) { w in
                for i in 0..<w.count where w[i] == 0 {
                    bits[i >> 6] |= 1 << UInt64(i & 63)
                    any = true
                }
            }
            if any { masks.append((p, bits)) }
        }
        self.masks = masks
    }

    /// Weights kept at zero.
    var zeros: Int { masks.reduce(0) { $0 + $1.zeros.reduce(0) { $0 + $1.nonzeroBitCount } } }

    /// Sets the masked weights back to zero.
    func apply() {
        for (p, bits) in masks {
            p.value.withUnsafeMutableScalars(Float.self) { w in
                for (word, value) in bits.enumerated() where value != 0 {
                    var v = value
                    while v != 0 {
                        w[word << 6 + v.trailingZeroBitCount] = 0
                        v &= v - 1
                    }
                }
            }
        }
    }
}
