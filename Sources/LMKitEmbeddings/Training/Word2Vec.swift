import Dispatch
import Synchronization
import LMKitTensor
import RealModule

/// word2vec (Mikolov et al. 2013, "Distributed Representations of Words and Phrases"): skip-gram or
/// CBOW with negative sampling, as the original `word2vec.c` and gensim's `word2vec_inner.pyx` train it.
///
/// - Negative samples come from the unigram distribution raised to 0.75 (Walker's alias method, drawn
///   with word2vec's linear congruential generator); σ comes from word2vec's table, and pairs whose
///   score is beyond ±6 are not updated (as word2vec and gensim do).
/// - Frequent words are subsampled: a word of count c is kept with probability
///   (√(c/t) + 1)·t/c, t = sample × total count (gensim's formula).
/// - The window is dynamic: each position uses a random window in 1…`window`.
/// - The learning rate falls linearly from `alpha` to `minAlpha` over all epochs.
/// - Threads update the shared matrices without locks (Hogwild), each on its own slice of sentences.
public struct Word2Vec: Sendable {
    /// The training objective: skip-gram (a word predicts its neighbours) or CBOW (the neighbours predict the word).
    public enum Method: String, Sendable, CaseIterable { case skipgram, cbow }

    /// Skip-gram (default, word2vec's `-cbow 0`) or CBOW.
    public var method: Method = .skipgram
    /// Length of each word vector (word2vec's `-size`, gensim's `vector_size`).
    public var dimension = 100
    /// Largest distance between a word and a context word; each position draws its own window in 1…`window`.
    public var window = 5
    /// Noise words sampled per positive pair for negative sampling.
    public var negative = 5
    /// Subsampling threshold t as a fraction of the total count; 0 keeps every word.
    public var sample = 1e-3
    /// Passes over the corpus (word2vec's `-iter`).
    public var epochs = 5
    /// Learning rate at the start of training.
    public var alpha = 0.025
    /// Learning rate reached at the end of the last epoch.
    public var minAlpha = 0.0001
    /// CBOW: average the context vectors (true, gensim's default) or sum them.
    public var cbowMean = true
    /// Worker threads, each training on its own share of the sentences (at most one per sentence).
    public var threads = Parallel.threads
    /// Seed for the initial vectors and each thread's random stream; runs are repeatable only with one thread.
    public var seed: UInt64 = 1

    /// A trainer with the defaults above: skip-gram, 100 dimensions, window 5, 5 negatives, sample 1e-3, 5 epochs.
    public init() {}

    /// Progress of a run: epoch, fraction of all training done, words per second so far.
    public struct Progress: Sendable {
        /// The current epoch (1-based) and the total.
        public let epoch: Int, epochs: Int
        /// Share of all epochs' training done, in 0…1.
        public let fraction: Double
        /// Kept corpus tokens processed per second of wall-clock time so far.
        public let wordsPerSecond: Double
        /// Seconds since training started.
        public let elapsed: Double
    }

    /// Trains on `corpus`; `progress` is called about twice a second (from a worker thread).
    public func train(_ corpus: TrainingCorpus, progress: (@Sendable (Progress) -> Void)? = nil) -> WordVectors {
        let v = corpus.words.count, d = dimension
        // gensim's initialization: input vectors uniform in ±1/d (word2vec.c uses ±0.5/d), output vectors zero.
        var rng = RandomGenerator(seed: seed)
        let syn0 = UnsafeMutablePointer<Float>.allocate(capacity: v * d)
        let syn1 = UnsafeMutablePointer<Float>.allocate(capacity: v * d)
        defer { syn0.deallocate(); syn1.deallocate() }
        for i in 0..<(v * d) { syn0[i] = Float((rng.nextUniform() * 2 - 1) / Double(d)) }
        syn1.initialize(repeating: 0, count: v * d)

        let keep = Self.keepProbabilities(corpus.counts, sample: sample)
        let totalWords = corpus.keptTokenCount * epochs
        let processed = ProgressCounter()
        let start = DispatchTime.now().uptimeNanoseconds
        let workers = max(1, min(threads, corpus.sentenceCount))
        let shared = SharedState(syn0: syn0, syn1: syn1, counts: corpus.counts, keep: keep)
        defer { shared.deallocate() }
        let stream = TokenStream(value: corpus.stream)

        for epoch in 0..<epochs {
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var random = UInt64(worker) &+ seed &* 7919 &+ UInt64(epoch) &* 104_729  // word2vec's next_random
                let neu1 = UnsafeMutablePointer<Float>.allocate(capacity: d)
                let work = UnsafeMutablePointer<Float>.allocate(capacity: d)
                defer { neu1.deallocate(); work.deallocate() }
                var sentence = [Int32]()
                sentence.reserveCapacity(TrainingCorpus.maxSentenceLength)
                var sinceReport = 0
                var lastReport = DispatchTime.now().uptimeNanoseconds
                let ids = stream.value
                let share = corpus.share(worker, of: workers)
                var p = share.lowerBound
                let end = share.upperBound
                while p < end {
                    let done = processed.value
                    let lr = Float(max(minAlpha, alpha - (alpha - minAlpha) * Double(done) / Double(max(totalWords, 1))))
                    // One sentence, subsampled.
                    sentence.removeAll(keepingCapacity: true)
                    var n = 0
                    while p < end && ids[p] != TrainingCorpus.sentenceEnd {
                        let w = ids[p]
                        p += 1
                        n += 1
                        random = random &* 25_214_903_917 &+ 11
                        if shared.keep[Int(w)] >= Float(random & 0xFFFF) / 65536 { sentence.append(w) }
                    }
                    p += 1  // the sentence marker
                    sentence.withUnsafeBufferPointer { sent in
                        for i in 0..<sent.count {
                            random = random &* 25_214_903_917 &+ 11
                            let b = Int(random % UInt64(window))
                            let lo = max(0, i - window + b), hi = min(sent.count, i + window + 1 - b)
                            if method == .skipgram {
                                for c in lo..<hi where c != i {
                                    Self.trainPair(
                                        input: shared.syn0 + Int(sent[c]) * d, target: Int(sent[i]), shared: shared,
                                        dimension: d, negative: negative, alpha: lr, work: work, random: &random)
                                }
                            } else {
                                Self.trainCBOW(
                                    sent: sent, center: i, lo: lo, hi: hi, shared: shared, dimension: d,
                                    negative: negative, alpha: lr, mean: cbowMean, neu1: neu1, work: work, random: &random)
                            }
                        }
                    }
                    processed.add(n)
                    sinceReport += n
                    if let progress, sinceReport > 20_000 {
                        sinceReport = 0
                        let now = DispatchTime.now().uptimeNanoseconds
                        if worker == 0 && now - lastReport > 500_000_000 {
                            lastReport = now
                            let elapsed = Double(now - start) * 1e-9
                            let total = Double(processed.value)
                            progress(
                                Progress(
                                    epoch: epoch + 1, epochs: epochs, fraction: total / Double(totalWords),
                                    wordsPerSecond: total / elapsed, elapsed: elapsed))
                        }
                    }
                }
            }
        }
        let matrix = Tensor(shape: [v, d], scalars: Array(UnsafeBufferPointer(start: syn0, count: v * d)))
        return WordVectors(uniqueWords: corpus.words, matrix: matrix)
    }

    /// The positive target and `negative` sampled words scored against `input`: each output vector
    /// moves toward (target) or away from (samples) `input`, and `work` accumulates the gradient
    /// for `input`. Pairs scored beyond ±6 are left alone, as in word2vec.
    @inline(__always)
    static func negativeSamplingStep(
        input: UnsafePointer<Float>, target: Int, shared: SharedState, dimension d: Int,
        negative: Int, alpha: Float, work: UnsafeMutablePointer<Float>, random: inout UInt64
    ) {
        work.update(repeating: 0, count: d)
        for k in 0...negative {
            let t: Int, label: Float
            if k == 0 {
                t = target; label = 1
            } else {
                t = shared.sample(&random)
                if t == target { continue }
                label = 0
            }
            let out = shared.syn1 + t * d
            guard let sigma = shared.logistic(Kernels.dot(input, out, d)) else { continue }
            let g = (label - sigma) * alpha
            Kernels.axpy(g, out, work, d)  // work += g·out
            Kernels.axpy(g, input, out, d)  // out += g·input
        }
    }

    /// Skip-gram: the context word's input vector predicts the centre word.
    @inline(__always)
    static func trainPair(
        input: UnsafeMutablePointer<Float>, target: Int, shared: SharedState, dimension d: Int,
        negative: Int, alpha: Float, work: UnsafeMutablePointer<Float>, random: inout UInt64
    ) {
        negativeSamplingStep(
            input: input, target: target, shared: shared, dimension: d, negative: negative, alpha: alpha,
            work: work, random: &random)
        Kernels.axpy(1, work, input, d)  // input += work
    }

    /// CBOW: the mean (or sum) of the context's input vectors predicts the centre word; every context
    /// vector gets the gradient (divided by the count when summing, as gensim).
    @inline(__always)
    static func trainCBOW(
        sent: UnsafeBufferPointer<Int32>, center i: Int, lo: Int, hi: Int, shared: SharedState, dimension d: Int,
        negative: Int, alpha: Float, mean: Bool, neu1: UnsafeMutablePointer<Float>,
        work: UnsafeMutablePointer<Float>, random: inout UInt64
    ) {
        neu1.update(repeating: 0, count: d)
        var count: Float = 0
        for c in lo..<hi where c != i {
            Kernels.axpy(1, shared.syn0 + Int(sent[c]) * d, neu1, d)
            count += 1
        }
        guard count > 0 else { return }
        if mean { Kernels.scale(1 / count, neu1, d) }
        negativeSamplingStep(
            input: neu1, target: Int(sent[i]), shared: shared, dimension: d, negative: negative, alpha: alpha,
            work: work, random: &random)
        if !mean { Kernels.scale(1 / count, work, d) }
        for c in lo..<hi where c != i { Kernels.axpy(1, work, shared.syn0 + Int(sent[c]) * d, d) }
    }

    /// Walker's alias method (Vose's construction) for sampling word i with probability ∝ countᵢ^0.75:
    /// per column, a 32-bit threshold to keep the column's word, and the word to give otherwise.
    static func aliasTable(_ counts: [Int]) -> (threshold: [UInt32], alias: [Int32]) {
        let n = counts.count
        let weights = counts.map { Double.pow(Double($0), 0.75) }
        let total = weights.reduce(0, +)
        var scaled = weights.map { $0 / total * Double(n) }
        var small = (0..<n).filter { scaled[$0] < 1 }, large = (0..<n).filter { scaled[$0] >= 1 }
        var threshold = [UInt32](repeating: UInt32.max, count: n), alias = (0..<n).map { Int32($0) }
        while let s = small.popLast(), let l = large.last {
            threshold[s] = UInt32(min(scaled[s] * 4_294_967_296, 4_294_967_295))
            alias[s] = Int32(l)
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 {
                large.removeLast()
                small.append(l)
            }
        }
        return (threshold, alias)
    }

    /// Keep probability per word for frequent-word subsampling (gensim's formula; 1 = always keep).
    static func keepProbabilities(_ counts: [Int], sample: Double) -> [Float] {
        guard sample > 0 else { return counts.map { _ in 1 } }
        let threshold = sample * Double(counts.reduce(0, +))
        return counts.map { c in
            let p = ((Double(c) / threshold).squareRoot() + 1) * threshold / Double(c)
            return Float(min(1, p))
        }
    }
}

/// The matrices and tables every training thread reads and writes (Hogwild: no locks).
struct SharedState: @unchecked Sendable {
    let syn0: UnsafeMutablePointer<Float>
    let syn1: UnsafeMutablePointer<Float>
    /// Walker's alias table for the unigram^0.75 distribution: column i keeps word i with probability
    /// `threshold[i]`, else gives `alias[i]`. Two reads per sample, where bisecting gensim's cumulative
    /// table takes log₂(V) dependent, unpredictable steps.
    let threshold: UnsafeMutablePointer<UInt32>
    let alias: UnsafeMutablePointer<Int32>
    let words: Int
    let keep: UnsafeMutablePointer<Float>
    /// σ(x) on a grid over [−6, 6], as word2vec's EXP_TABLE.
    let sigmoid: UnsafeMutablePointer<Float>
    static let sigmoidSize = 1000
    static let maxExp: Float = 6

    init(syn0: UnsafeMutablePointer<Float>, syn1: UnsafeMutablePointer<Float>, counts: [Int], keep: [Float]) {
        self.syn0 = syn0
        self.syn1 = syn1
        words = counts.count
        let (t, a) = Word2Vec.aliasTable(counts)
        threshold = .allocate(capacity: words); threshold.initialize(from: t, count: words)
        alias = .allocate(capacity: words); alias.initialize(from: a, count: words)
        self.keep = .allocate(capacity: words); self.keep.initialize(from: keep, count: words)
        sigmoid = .allocate(capacity: Self.sigmoidSize)
        for i in 0..<Self.sigmoidSize {
            let x = (Double(i) / Double(Self.sigmoidSize) * 2 - 1) * Double(Self.maxExp)
            sigmoid[i] = Float(1 / (1 + Double.exp(-x)))
        }
    }

    func deallocate() {
        threshold.deallocate(); alias.deallocate(); keep.deallocate(); sigmoid.deallocate()
    }

    /// A negative sample drawn with word2vec's linear congruential generator.
    @inline(__always)
    func sample(_ random: inout UInt64) -> Int {
        random = random &* 25_214_903_917 &+ 11
        let column = Int((random >> 16) % UInt64(words))
        random = random &* 25_214_903_917 &+ 11
        return UInt32(truncatingIfNeeded: random >> 16) < threshold[column] ? column : Int(alias[column])
    }

    /// σ(f) from the table, or nil where |f| ≥ 6: like word2vec and gensim, no update there.
    @inline(__always)
    func logistic(_ f: Float) -> Float? {
        guard f > -Self.maxExp && f < Self.maxExp else { return nil }
        return sigmoid[Int((f + Self.maxExp) * (Float(Self.sigmoidSize) / Self.maxExp / 2))]
    }
}

/// The id stream, read by every training thread (immutable while training).
struct TokenStream: @unchecked Sendable {
    let value: UnsafeBufferPointer<Int32>
}

/// Words processed so far, shared by the training threads (relaxed: it only drives the learning rate).
final class ProgressCounter: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
    func add(_ n: Int) { count.add(n, ordering: .relaxed) }
}

/// Small dense kernels on raw float vectors (dimension ~100), SIMD8 with a scalar tail.
enum Kernels {
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            acc0 = acc0.addingProduct(
                UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self), UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self))
            acc1 = acc1.addingProduct(
                UnsafeRawPointer(a + i + 8).loadUnaligned(as: SIMD8<Float>.self),
                UnsafeRawPointer(b + i + 8).loadUnaligned(as: SIMD8<Float>.self))
            i += 16
        }
        while i + 8 <= n {
            acc0 = acc0.addingProduct(
                UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self), UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self))
            i += 8
        }
        var s = (acc0 + acc1).sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// y += a·x
    @inline(__always)
    static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let av = SIMD8<Float>(repeating: a)
        var i = 0
        while i + 8 <= n {
            let yv = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: yv.addingProduct(av, xv), as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { y[i] += a * x[i]; i += 1 }
    }

    @inline(__always)
    static func scale(_ a: Float, _ x: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { x[i] *= a }
    }
}
