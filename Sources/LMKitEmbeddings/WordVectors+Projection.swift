import LMKitTensor

extension WordVectors {
    /// 2-D coordinates of `chosen` words by principal component analysis: the vectors are centred
    /// and projected on the two directions along which they vary most (power iteration on the
    /// covariance, with deflation). Also returns the share of variance each axis explains.
    public func principalComponents(of chosen: [String]) throws(WordVectorsError) -> (
        points: [(x: Double, y: Double)], explained: (Double, Double)
    ) {
        guard chosen.count >= 2 else { throw WordVectorsError(path: nil, problem: "a projection needs at least two words") }
        var rows: [[Double]] = []
        for w in chosen { rows.append(try vector(w).doubles) }
        let d = dimension, n = Double(rows.count)
        let mean = (0..<d).map { j in rows.reduce(0) { $0 + $1[j] } / n }
        let centred = rows.map { r in (0..<d).map { r[$0] - mean[$0] } }
        var covariance = [Double](repeating: 0, count: d * d)
        for r in centred { for i in 0..<d { for j in 0..<d { covariance[i * d + j] += r[i] * r[j] / n } } }
        let total = (0..<d).reduce(0) { $0 + covariance[$1 * d + $1] }
        var components: [[Double]] = []
        var variances: [Double] = []
        var g = RandomGenerator(seed: 11)
        for _ in 0..<2 {
            var v = (0..<d).map { _ in g.nextNormal() }
            var lambda = 0.0
            for _ in 0..<500 {
                var next = [Double](repeating: 0, count: d)
                for i in 0..<d { for j in 0..<d { next[i] += covariance[i * d + j] * v[j] } }
                let norm = next.reduce(0) { $0 + $1 * $1 }.squareRoot()
                if norm == 0 { break }
                let converged = zip(next, v).reduce(0) { $0 + Swift.abs($1.0 / norm - $1.1) } < 1e-12
                v = next.map { $0 / norm }
                lambda = norm
                if converged { break }
            }
            // Fix the sign so the picture is stable: the largest component is positive.
            if let big = v.indices.max(by: { Swift.abs(v[$0]) < Swift.abs(v[$1]) }), v[big] < 0 { v = v.map { -$0 } }
            components.append(v)
            variances.append(lambda)
            for i in 0..<d { for j in 0..<d { covariance[i * d + j] -= lambda * v[i] * v[j] } }
        }
        let points = centred.map { r in
            (x: zip(r, components[0]).reduce(0) { $0 + $1.0 * $1.1 }, y: zip(r, components[1]).reduce(0) { $0 + $1.0 * $1.1 })
        }
        return (points, total > 0 ? (variances[0] / total, variances[1] / total) : (0, 0))
    }
}
