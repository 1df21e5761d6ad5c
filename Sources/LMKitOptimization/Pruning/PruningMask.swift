// Which weights of a matrix to remove, from a score per weight: the lowest-scoring ones go.
// Magnitude pruning scores |W| and compares the whole layer (one threshold per matrix); Wanda
// (Sun et al., 2023, "A Simple and Effective Pruning Approach for Large Language Models") scores
// |W_ij|·‖X_j‖₂, the weight times the norm of the input column it multiplies over a calibration
// text, and compares within each output row. N:M sparsity (2:4, what sparse tensor cores run) keeps
// the M − N best of every M consecutive weights of a row, whatever the score.

/// How many weights to remove and where.
public enum SparsityPattern: Sendable, Equatable, CustomStringConvertible {
    /// This fraction of the weights (0 ..< 1), anywhere in the comparison group.
    case unstructured(Double)
    /// `n` of every `m` consecutive weights of a row (2:4: two of four).
    case nOfM(n: Int, m: Int)

    /// The fraction of weights removed.
    public var sparsity: Double {
        switch self {
        case .unstructured(let s): return s
        case .nOfM(let n, let m): return Double(n) / Double(m)
        }
    }

    public var description: String {
        switch self {
        case .unstructured(let s): return "\(Int((s * 100).rounded()))%"
        case .nOfM(let n, let m): return "\(n):\(m)"
        }
    }
}

/// Where the lowest scores are compared.
public enum ComparisonGroup: String, Sendable {
    /// One threshold for the whole matrix (magnitude pruning's).
    case layer
    /// Each output row loses the same fraction (Wanda's).
    case row
}

public enum PruningMask {
    /// The weights to keep (true) of a `rows × columns` matrix with `scores` (row-major): the lowest
    /// scores removed as `pattern` says, compared within `group` (N:M always within its `m`). Ties
    /// are broken by position (the earlier weight goes first), so a mask is reproducible.
    public static func keep(scores: [Float], rows: Int, columns: Int, pattern: SparsityPattern, group: ComparisonGroup) -> [Bool] {
        precondition(scores.count == rows * columns, "\(scores.count) scores for \(rows) × \(columns)")
        var keep = [Bool](repeating: true, count: scores.count)
        func removeLowest(_ indices: [Int], count: Int) {
            guard count > 0 else { return }
            let order = indices.sorted { (scores[$0], $0) < (scores[$1], $1) }
            for i in order.prefix(count) { keep[i] = false }
        }
        switch pattern {
        case .nOfM(let n, let m):
            precondition(n > 0 && n < m && columns % m == 0, "\(n):\(m) sparsity needs rows of a multiple of \(m), got \(columns)")
            for r in 0..<rows {
                for g in stride(from: 0, to: columns, by: m) { removeLowest(Array((r * columns + g)..<(r * columns + g + m)), count: n) }
            }
        case .unstructured(let sparsity):
            precondition(sparsity >= 0 && sparsity < 1, "sparsity \(sparsity) must be in [0, 1)")
            switch group {
            case .layer:
                removeLowest(Array(0..<scores.count), count: Int(Double(scores.count) * sparsity))
            case .row:
                for r in 0..<rows { removeLowest(Array((r * columns)..<((r + 1) * columns)), count: Int(Double(columns) * sparsity)) }
            }
        }
        return keep
    }
}
