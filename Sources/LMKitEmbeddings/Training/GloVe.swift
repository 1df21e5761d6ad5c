import Dispatch
import LMKitTensor
import RealModule

/// GloVe (Pennington, Socher & Manning 2014): vectors fitted to the logarithm of word co-occurrence
/// counts, as the reference `cooccur.c` and `glove.c` do it.
///
/// 1. Count co-occurrences within `window` words on each side, inside a line, each weighted 1/distance.
/// 2. Minimise Σ f(Xᵢⱼ)·(wᵢ·w̃ⱼ + bᵢ + b̃ⱼ − log Xᵢⱼ)² with f(x) = min(1, (x/xMax)^power), by AdaGrad
///    over the shuffled non-zero entries, threads updating without locks.
/// 3. Return wᵢ + w̃ᵢ (word plus context vector), GloVe's default output.
///
/// Defaults are those of GloVe's `demo.sh` (window 15, x_max 10, 15 iterations), which suit corpora of
/// millions of words. The paper's x_max = 100 is for billions: on a 1.5M-token corpus it leaves almost
/// every pair with a tiny weight (measured: WordSim-353 Spearman 0.03 with x_max 100 against 0.23 with 10).
public struct GloVe: Sendable {
    /// Length of each word vector.
    public var dimension = 100
    /// Words counted as context on each side of a word, within its line (`WINDOW_SIZE` in `demo.sh`).
    public var window = 15
    /// Count at which the weight f(x) reaches 1 (`x_max`); rarer pairs weigh (x/xMax)^power.
    public var xMax = 10.0
    /// Exponent α of the weighting function f(x) = min(1, (x/xMax)^α).
    public var power = 0.75
    /// AdaGrad's initial step size (`eta`).
    public var learningRate = 0.05
    /// Passes over the co-occurrence entries (`MAX_ITER`).
    public var epochs = 15
    /// Worker threads updating the parameters in parallel, without locks.
    public var threads = Parallel.threads
    /// Seed for the initial parameters and the shuffle; equal seeds with one thread give equal vectors.
    public var seed: UInt64 = 1

    /// A trainer with the defaults of GloVe's `demo.sh`; set the properties to change them.
    public init() {}

    /// Non-zero co-occurrence counts, as three parallel arrays.
    public struct Cooccurrences: Sendable {
        /// Entry n is word `rows[n]` seen near context word `columns[n]` with weighted count `values[n]`.
        public var rows: [Int32], columns: [Int32], values: [Float]
        /// Number of non-zero entries.
        public var count: Int { values.count }
    }

    /// Symmetric co-occurrence counts weighted by 1/distance, within sentences.
    public func cooccurrences(_ corpus: TrainingCorpus) -> Cooccurrences {
        var table: [UInt64: Float] = [:]
        let ids = corpus.stream
        var sentenceStart = 0
        for p in 0..<ids.count {
            if ids[p] == TrainingCorpus.sentenceEnd { sentenceStart = p + 1; continue }
            let w = UInt64(UInt32(ids[p]))
            for q in max(sentenceStart, p - window)..<p {
                let c = UInt64(UInt32(ids[q]))
                let weight = 1 / Float(p - q)
                table[w << 32 | c, default: 0] += weight
                table[c << 32 | w, default: 0] += weight
            }
        }
        var out = Cooccurrences(rows: [], columns: [], values: [])
        out.rows.reserveCapacity(table.count); out.columns.reserveCapacity(table.count); out.values.reserveCapacity(table.count)
        // Sorted keys make the result independent of dictionary order (reproducible runs).
        for key in table.keys.sorted() {
            out.rows.append(Int32(truncatingIfNeeded: key >> 32))
            out.columns.append(Int32(truncatingIfNeeded: key & 0xFFFF_FFFF))
            out.values.append(table[key]!)
        }
        return out
    }

    /// Progress after each epoch: the mean weighted squared error.
    public struct Progress: Sendable {
        /// The epoch just finished (1-based) and the total.
        public let epoch: Int, epochs: Int
        /// ½·Σ f(Xᵢⱼ)·(wᵢ·w̃ⱼ + bᵢ + b̃ⱼ − log Xᵢⱼ)² over the epoch, divided by the number of entries.
        public let cost: Double
    }

    /// Counts `corpus`'s co-occurrences and fits vectors to them, one per vocabulary word.
    public func train(_ corpus: TrainingCorpus, progress: (@Sendable (Progress) -> Void)? = nil) -> WordVectors {
        let x = cooccurrences(corpus)
        return train(words: corpus.words, cooccurrences: x, progress: progress)
    }

    /// Fits vectors for `words` (indexed by the ids in `x`) to the co-occurrence counts `x`; returns wᵢ + w̃ᵢ.
    public func train(words: [String], cooccurrences x: Cooccurrences, progress: (@Sendable (Progress) -> Void)? = nil) -> WordVectors {
        let v = words.count, d = dimension
        var rng = RandomGenerator(seed: seed)
        // Parameters: word vectors W, context vectors C, biases; AdaGrad accumulators start at 1 (glove.c).
        let w = UnsafeMutablePointer<Float>.allocate(capacity: v * d), c = UnsafeMutablePointer<Float>.allocate(capacity: v * d)
        let bw = UnsafeMutablePointer<Float>.allocate(capacity: v), bc = UnsafeMutablePointer<Float>.allocate(capacity: v)
        let gw = UnsafeMutablePointer<Float>.allocate(capacity: v * d), gc = UnsafeMutablePointer<Float>.allocate(capacity: v * d)
        let gbw = UnsafeMutablePointer<Float>.allocate(capacity: v), gbc = UnsafeMutablePointer<Float>.allocate(capacity: v)
        defer { for p in [w, c, bw, bc, gw, gc, gbw, gbc] { p.deallocate() } }
        for i in 0..<(v * d) {
            w[i] = Float((rng.nextUniform() - 0.5) / Double(d))
            c[i] = Float((rng.nextUniform() - 0.5) / Double(d))
        }
        for i in 0..<v { bw[i] = Float((rng.nextUniform() - 0.5) / Double(d)); bc[i] = Float((rng.nextUniform() - 0.5) / Double(d)) }
        gw.initialize(repeating: 1, count: v * d); gc.initialize(repeating: 1, count: v * d)
        gbw.initialize(repeating: 1, count: v); gbc.initialize(repeating: 1, count: v)
        // Shuffle the entries once (glove's shuffle.c), then split them across threads.
        var order = Array(0..<x.count)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let shuffled = order
        let logs = x.values.map { Float.log($0) }
        let weights = x.values.map { $0 >= Float(xMax) ? 1 : Float.pow($0 / Float(xMax), Float(power)) }
        let p = Params(w: w, c: c, bw: bw, bc: bc, gw: gw, gc: gc, gbw: gbw, gbc: gbc)
        let workers = max(1, min(threads, x.count))
        let eta = Float(learningRate)
        for epoch in 0..<epochs {
            let costs = UnsafeMutablePointer<Double>.allocate(capacity: workers)
            defer { costs.deallocate() }
            Parallel.forEach(workers) { worker in
                var cost = 0.0
                let first = x.count * worker / workers, last = x.count * (worker + 1) / workers
                for n in first..<last {
                    let e = shuffled[n]
                    let i = Int(x.rows[e]), j = Int(x.columns[e])
                    let wi = p.w + i * d, cj = p.c + j * d
                    let diff = Kernels.dot(wi, cj, d) + p.bw[i] + p.bc[j] - logs[e]
                    var fdiff = weights[e] * diff
                    cost += Double(0.5 * fdiff * diff)
                    fdiff *= eta
                    GloVe.adagradStep(wi, cj, p.gw + i * d, p.gc + j * d, fdiff, d)
                    p.bw[i] -= fdiff / p.gbw[i].squareRoot()
                    p.bc[j] -= fdiff / p.gbc[j].squareRoot()
                    p.gbw[i] += fdiff * fdiff
                    p.gbc[j] += fdiff * fdiff
                }
                costs[worker] = cost
            }
            let total = (0..<workers).reduce(0.0) { $0 + costs[$1] }
            progress?(Progress(epoch: epoch + 1, epochs: epochs, cost: total / Double(max(x.count, 1))))
        }
        var out = [Float](repeating: 0, count: v * d)
        for i in 0..<(v * d) { out[i] = w[i] + c[i] }
        return WordVectors(uniqueWords: words, matrix: Tensor(shape: [v, d], scalars: out))
    }

    /// wᵢ and w̃ⱼ updated together (glove.c): each by the other's value times fdiff, over √ of its
    /// accumulated squared gradient; the accumulators then grow by the squared updates.
    @inline(__always)
    static func adagradStep(
        _ wi: UnsafeMutablePointer<Float>, _ cj: UnsafeMutablePointer<Float>, _ gwi: UnsafeMutablePointer<Float>,
        _ gcj: UnsafeMutablePointer<Float>, _ fdiff: Float, _ d: Int
    ) {
        for k in 0..<d {
            let t1 = fdiff * cj[k], t2 = fdiff * wi[k]
            wi[k] -= t1 / gwi[k].squareRoot()
            cj[k] -= t2 / gcj[k].squareRoot()
            gwi[k] += t1 * t1
            gcj[k] += t2 * t2
        }
    }

    struct Params: @unchecked Sendable {
        let w, c, bw, bc, gw, gc, gbw, gbc: UnsafeMutablePointer<Float>
    }
}
