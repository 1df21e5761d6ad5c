/// The element type of a tensor's storage.
///
/// Arithmetic runs in `float32` (the engine's working type) and `float64` (used to check gradients
/// against finite differences). The other types are storage types: they come from checkpoints
/// (half-precision weights, integer token ids) and are converted with ``Tensor/converted(to:)``.
public enum DType: String, Sendable, CaseIterable, Codable {
    case float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// Whether the engine's arithmetic kernels run on this type.
    public var isComputable: Bool { self == .float32 || self == .float64 }

    /// Whether values of this type are integer indices (token ids, labels).
    public var isInteger: Bool {
        switch self {
        case .int64, .int32, .int16, .int8, .uint8, .bool: return true
        default: return false
        }
    }
}

/// Where a tensor's storage lives. Only the CPU exists today; the kernels are reached through
/// ``Device`` so a CUDA backend can be added without changing the callers of the ops.
public enum Device: String, Sendable, Codable {
    case cpu
}
