import COpenBLAS
import LMKitTensor
#if canImport(Glibc)
    import Glibc
#endif

/// The tensor engine benchmark: matrix products against `cblas_sgemm` called directly on the same
/// buffers, and element-wise kernels against a plain memory copy, in one run on the same threads.
public struct EngineBenchmark {
    /// Timed runs per measurement after the warm-up; each row reports their median (7 by default).
    public var repeats: Int
    /// Elements for the element-wise kernels (10M by default).
    public var elements: Int
    /// Scale for the matrix shapes (1 = the transformer shapes below; smaller for quick runs).
    public var quick: Bool

    /// Defaults: 7 repeats, 10M-element kernels, transformer shapes (`quick`: small shapes for a smoke run).
    public init(repeats: Int = 7, elements: Int = 10_000_000, quick: Bool = false) {
        self.repeats = repeats
        self.elements = elements
        self.quick = quick
    }

    /// A product shape: `batch × ([m×k] · [k×n])`, with how the engine is asked for it.
    struct GemmCase {
        let name: String
        let batch: Int, m: Int, k: Int, n: Int
        /// true: the right operand is a transposed view (`x · Wᵀ`, attention's `q · kᵀ`).
        let transposedB: Bool
        var flops: Double { 2 * Double(batch) * Double(m) * Double(k) * Double(n) }
    }

    var gemmCases: [GemmCase] {
        if quick {
            return [
                GemmCase(name: "matmul 128x256 · 256x512", batch: 1, m: 128, k: 256, n: 512, transposedB: false),
                GemmCase(name: "attention q·kᵀ 8 × 64x32 · 32x64", batch: 8, m: 64, k: 32, n: 64, transposedB: true),
            ]
        }
        return [
            GemmCase(name: "matmul 512x768 · 768x3072", batch: 1, m: 512, k: 768, n: 3072, transposedB: false),
            GemmCase(name: "matmul 4096x384 · 384x1536", batch: 1, m: 4096, k: 384, n: 1536, transposedB: false),
            GemmCase(name: "linear x·Wᵀ 2048x768 → 3072 (W transposed view)", batch: 1, m: 2048, k: 768, n: 3072, transposedB: true),
            GemmCase(name: "attention q·kᵀ 96 × 256x64 · 64x256", batch: 96, m: 256, k: 64, n: 256, transposedB: true),
            GemmCase(name: "attention p·v 96 × 256x256 · 256x64", batch: 96, m: 256, k: 256, n: 64, transposedB: false),
        ]
    }

    /// Runs everything; `progress` receives a line per measurement as it finishes.
    public func run(progress: (String) -> Void = { _ in }) -> (rows: [BenchmarkRow], peakGFLOPs: Double, threads: Int) {
        let threads = Parallel.threads
        var rows: [BenchmarkRow] = []
        var generator = RandomGenerator(seed: 1)

        // The machine's sgemm ceiling: a large square product, direct BLAS.
        let peakN = quick ? 512 : 2048
        let pa = Tensor.randomUniform([peakN, peakN], generator: &generator)
        let pb = Tensor.randomUniform([peakN, peakN], generator: &generator)
        let pc = Tensor.zeros([peakN, peakN])
        let peakTime = Timing.median(repeats: repeats) {
            directGemm(batch: 1, m: peakN, k: peakN, n: peakN, transposedB: false, a: pa, b: pb, c: pc)
        }
        let peak = 2 * Double(peakN * peakN * peakN) / peakTime / 1e9
        usleep(300_000)
        progress("sgemm peak (\(peakN)³, direct BLAS, \(threads) threads): \(fmt(peak)) GFLOP/s")

        for c in gemmCases {
            let a = Tensor.randomUniform([c.batch, c.m, c.k], generator: &generator)
            let bStored =
                c.transposedB
                ? Tensor.randomUniform([c.batch, c.n, c.k], generator: &generator)
                : Tensor.randomUniform([c.batch, c.k, c.n], generator: &generator)
            let out = Tensor.zeros([c.batch, c.m, c.n])
            let b = c.transposedB ? bStored.transposed() : bStored
            let a2 = c.batch == 1 ? a.reshaped([c.m, c.k]) : a
            let b2 = c.batch == 1 ? b.reshaped([c.k, c.n]) : b
            // Each side in its own block: OpenBLAS's threaded calls leave workers spinning for a while,
            // which would slow whatever runs next; the pause lets them sleep before the engine runs.
            let engine = Timing.median(repeats: repeats) { _ = a2.matmul(b2) }
            let direct = Timing.median(repeats: repeats) {
                directGemm(batch: c.batch, m: c.m, k: c.k, n: c.n, transposedB: c.transposedB, a: a, b: bStored, c: out)
            }
            usleep(300_000)
            let row = BenchmarkRow(
                name: c.name, unit: "GFLOP/s", lmkit: c.flops / engine / 1e9, reference: c.flops / direct / 1e9,
                note: "reference: cblas_sgemm called directly on the same buffers; machine sgemm peak \(fmt(peak)) GFLOP/s")
            rows.append(row)
            progress(
                "\(c.name): engine \(fmt(row.lmkit)) GFLOP/s, direct BLAS \(fmt(row.reference)) (\(pct(row.ratio)) of direct, \(pct(row.lmkit / peak)) of peak)"
            )
        }

        // Element-wise kernels against a plain copy of the same bytes.
        let n = elements
        let x = Tensor.randomNormal([n], generator: &generator)
        let y = Tensor.randomNormal([n], generator: &generator)
        let copyTime = Timing.median(repeats: repeats) { parallelCopy(from: x, to: y) }
        let copyGBs = 2 * Double(n * 4) / copyTime / 1e9
        progress("memory copy of \(n) floats on \(threads) threads: \(fmt(copyGBs)) GB/s (read + write)")
        let width = 1024
        let rowsX = x.sliced(axis: 0, range: 0..<(n / width * width)).reshaped([n / width, width])
        let lnW = Tensor.ones([width]), lnB = Tensor.zeros([width])
        let kernels: [(String, Int, () -> Void)] = [
            ("gelu (tanh) over \(millions(n)) floats", 2, { _ = x.gelu(approximate: true) }),
            ("gelu (erf) over \(millions(n)) floats", 2, { _ = x.gelu(approximate: false) }),
            ("silu over \(millions(n)) floats", 2, { _ = x.silu() }),
            ("add over \(millions(n)) floats", 3, { _ = x + y }),
            ("layer norm \(n / width)x\(width)", 2, { _ = rowsX.layerNorm(weight: lnW, bias: lnB) }),
            ("softmax \(n / width)x\(width)", 2, { _ = rowsX.softmax() }),
        ]
        let copyOut = Tensor.zeros([n])
        for (name, passes, body) in kernels {
            // Each kernel is timed alternately with the copy, which is its reference.
            let (t, copy) = Timing.interleavedMedians(repeats: repeats, body) { parallelCopy(from: x, to: copyOut) }
            let gbs = Double(passes * (n / width) * width * 4) / t / 1e9
            let copyRate = 2 * Double(n * 4) / copy / 1e9
            let row = BenchmarkRow(
                name: name, unit: "GB/s", lmkit: gbs, reference: copyRate,
                note: "reference: memory copy of \(n) floats timed alternately in the same run; \(fmt(t * 1e3)) ms")
            rows.append(row)
            progress("\(name): \(fmt(gbs)) GB/s in \(fmt(t * 1e3)) ms, copy \(fmt(copyRate)) GB/s (\(pct(row.ratio)) of copy bandwidth)")
        }
        let block = BlockBenchmark(quick: quick)
        let step = block.run(repeats: repeats)
        rows.append(
            BenchmarkRow(
                name: block.name, unit: "tokens/s", lmkit: step.tokensPerSecond, reference: 0,
                note: "forward + backward + AdamW; \(fmt(step.milliseconds)) ms per step; reference: PyTorch in benchmarks/engine"))
        progress("\(block.name): \(fmt(step.milliseconds)) ms per step, \(Int(step.tokensPerSecond)) tokens/s")
        return (rows, peak, threads)
    }

    /// `batch` sgemm calls on contiguous buffers, the way a hand-written C loop would do it, with
    /// OpenBLAS threading itself across every core.
    func directGemm(batch: Int, m: Int, k: Int, n: Int, transposedB: Bool, a: Tensor, b: Tensor, c: Tensor) {
        BLAS.setThreads(Parallel.threads)
        defer { BLAS.setThreads(1) }
        a.withUnsafeScalars(Float.self) { ap in
            b.withUnsafeScalars(Float.self) { bp in
                c.withUnsafeMutableScalars(Float.self) { cp in
                    for i in 0..<batch {
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, transposedB ? CblasTrans : CblasNoTrans,
                            blasint(m), blasint(n), blasint(k), 1, ap.baseAddress! + i * m * k, blasint(k),
                            bp.baseAddress! + i * k * n, blasint(transposedB ? k : n), 0,
                            cp.baseAddress! + i * m * n, blasint(n))
                    }
                }
            }
        }
    }

    /// memcpy split over the same threads the kernels use.
    func parallelCopy(from src: Tensor, to dst: Tensor) {
        src.withUnsafeScalars(Float.self) { s in
            dst.withUnsafeMutableScalars(Float.self) { d in
                let work = UncheckedPointers(s: s.baseAddress!, d: d.baseAddress!)
                Parallel.forRanges(s.count, minChunk: 1 << 16) { r in
                    memcpy(work.d + r.lowerBound, work.s + r.lowerBound, r.count * 4)
                }
            }
        }
    }

    struct UncheckedPointers: @unchecked Sendable {
        let s: UnsafePointer<Float>
        let d: UnsafeMutablePointer<Float>
    }
}

func fmt(_ x: Double) -> String {
    let r = (x * 10).rounded() / 10
    return r == r.rounded() ? String(Int(r)) + ".0" : String(r)
}

func pct(_ x: Double) -> String { String(Int((x * 100).rounded())) + "%" }

func millions(_ n: Int) -> String { n % 1_000_000 == 0 ? "\(n / 1_000_000)M" : "\(n)" }
