import CLMKitKernels
import Foundation
import LMKitAssets
@testable import LMKitTensor
import Testing
import TestSupport

/// GGUF block formats against gguf-py's `gguf.quants.dequantize` (Tools/golden/gguf_quants.py):
/// random blocks of every type LMKit reads, and blocks made by gguf-py's quantizer.
@Suite struct GGUFQuantTests {
    static let types: [GGMLType] = [.f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]

    func dequantize(_ type: GGMLType, _ raw: Tensor) -> Tensor {
        let bytes = raw.indexValues.map { UInt8($0) }
        let count = bytes.count / type.blockBytes * type.blockSize
        var out = [Float](repeating: .nan, count: count)
        bytes.withUnsafeBytes { b in
            out.withUnsafeMutableBufferPointer { GGMLDequantize.dequantize(type, b.baseAddress!, count: count, into: $0.baseAddress!) }
        }
        return Tensor(shape: [count], scalars: out)
    }

    @Test(arguments: types) func dequantizeMatchesGGUFPy(type: GGMLType) throws {
        let golden = try SafetensorsFile(path: fixturePath("gguf/quants.safetensors")).tensors()
        for suffix in ["", ".quantized"] {
            guard let raw = golden["\(type.name)\(suffix).raw"] else { continue }
            let expected = try #require(golden["\(type.name)\(suffix).expected"])
            #expect(type.byteCount(elements: expected.count) == raw.count)
            let c = compare(dequantize(type, raw), expected, rtol: 1e-6, atol: 1e-7)
            #expect(c.withinTolerance, "\(type.name)\(suffix): \(c)")
        }
    }

    @Test func blockArithmetic() {
        #expect(GGMLType.q4_K.byteCount(elements: 512) == 288)
        #expect(GGMLType.q8_0.byteCount(elements: 33) == nil)
        #expect(GGMLType.q6_K.name == "Q6_K" && GGMLType(rawValue: 12) == .q4_K)
        #expect(!GGMLType.q2_K.isSupported)
    }

    /// The real Gemma 3 file: every tensor's bytes lie inside the file, and each type it holds
    /// (F32, Q8_0, Q5_0, Q4_K, Q6_K) dequantizes to finite values of a plausible size.
    @Test func gemmaTensorsDequantize() throws {
        guard TestAssets.available(.gemma) else { return }
        let file = try GGUFFile(path: try TestAssets.store.path(.gemma))
        try file.validateTensors()
        var seen: Set<UInt32> = []
        for info in file.tensors where !seen.contains(info.type) && info.dimensions.reduce(1, *) <= 2_000_000 {
            seen.insert(info.type)
            let t = try file.floats(info.name)
            #expect(t.shape == Array(info.dimensions.reversed()))
            let v = t.scalars(as: Float.self)
            #expect(v.allSatisfy { $0.isFinite }, "\(info.name)")
            #expect((v.map(Swift.abs).max() ?? 0) < 1000, "\(info.name)")
        }
        #expect(seen.count >= 4, "types seen: \(seen.sorted())")
        let embedding = try file.data("token_embd.weight")
        #expect(embedding.shape == [262_144, 640])
        #expect(throws: GGUFError.self) { _ = try file.data("no.such.tensor") }
    }
}

/// Products on quantized weights against dequantize-then-float32 (whose dequantizers match gguf-py).
@Suite struct QuantizedMatrixTests {
    /// Random blocks of `type` with finite half-float scales (offsets of the scale fields per type).
    static func randomMatrix(_ type: GGMLType, rows: Int, columns: Int, seed: UInt64) -> QuantizedMatrix {
        var g = RandomGenerator(seed: seed)
        let blocks = rows * columns / type.blockSize
        var bytes = (0..<(blocks * type.blockBytes)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        let scales: [Int] =
            switch type {
            case .q4_0, .q5_0, .q8_0: [0]
            case .q4_1, .q5_1, .q4_K, .q5_K: [0, 2]
            case .q6_K: [208]
            default: []
            }
        for b in 0..<blocks {
            for (k, offset) in scales.enumerated() {
                let h = Float16(k == 0 ? g.nextUniform() * 0.2 - 0.1 : g.nextUniform() * 0.1)
                withUnsafeBytes(of: h.bitPattern.littleEndian) { raw in
                    bytes[b * type.blockBytes + offset] = raw[0]; bytes[b * type.blockBytes + offset + 1] = raw[1]
                }
            }
            if type == .f16 || type == .bf16 {
                let v = Float(g.nextUniform() * 2 - 1)
                let bits: UInt16 = type == .f16 ? Float16(v).bitPattern : UInt16(v.bitPattern >> 16)
                bytes[2 * b] = UInt8(bits & 0xFF); bytes[2 * b + 1] = UInt8(bits >> 8)
            }
        }
        return QuantizedMatrix(type: type, rows: rows, columns: columns, bytes: bytes)
    }

    @Test(arguments: GGUFQuantTests.types) func linearMatchesDequantizedProduct(type: GGMLType) {
        let (rows, columns) = (70, 512)
        let w = Self.randomMatrix(type, rows: rows, columns: columns, seed: UInt64(type.rawValue) + 1)
        w.activations = .float32
        let dense = w.dequantized()
        #expect(dense.scalars(as: Float.self).allSatisfy { $0.isFinite })
        for m in [1, 3, 9] {
            var g = RandomGenerator(seed: UInt64(m))
            let x = Tensor.randomNormal([m, columns], generator: &g)
            let expected = Tensor.linear(x, weight: dense, bias: nil)
            let c = compare(w.linear(x), expected, rtol: 1e-4, atol: 1e-4)
            #expect(c.withinTolerance, "\(type.name) with \(m) rows: \(c)")
        }
        let picked = w.rows([5, 0, 69])
        #expect(
            picked.scalars(as: Float.self)
                == Array(
                    dense.scalars(as: Float.self)[5 * columns..<6 * columns] + dense.scalars(as: Float.self)[0..<columns]
                        + dense.scalars(as: Float.self)[69 * columns..<70 * columns]))
    }

    /// 8-bit activations: the scalar kernel equals the float product of the dequantized weights with
    /// the dequantized activations (the kernel's definition), every SIMD kernel equals the scalar
    /// one, and the result stays near the float32-activation product (quantization error only).
    @Test(arguments: GGUFQuantTests.types.filter { lmk_qdot_supported(Int32($0.rawValue)) != 0 })
    func integerKernelsMatchTheirDefinition(type: GGMLType) {
        let (rows, columns) = (37, 768)
        let w = Self.randomMatrix(type, rows: rows, columns: columns, seed: UInt64(type.rawValue) + 7)
        let dense = w.dequantized()
        for m in [1, 2, 4] {
            var g = RandomGenerator(seed: UInt64(m) + 100)
            let x = Tensor.randomNormal([m, columns], generator: &g) * 3
            // The activations as the kernels see them: d·q per block of 32.
            var blocks = [lmk_q8_block](repeating: lmk_q8_block(), count: m * columns / 32)
            lmk_quantize_q8(x.scalars(as: Float.self), &blocks, Int64(m * columns))
            let xq = blocks.flatMap { block in
                withUnsafeBytes(of: block.q) { raw in raw.bindMemory(to: Int8.self).map { Float($0) * block.d } }
            }
            let definition = Tensor.linear(Tensor(shape: [m, columns], scalars: xq), weight: dense, bias: nil)
            var results: [Int32: Tensor] = [:]
            for isa in Int32(LMK_ISA_SCALAR)...lmk_best_isa() {
                let out = Tensor.empty([m, rows], dtype: .float32)
                let xc = x.contiguous()
                withExtendedLifetime(xc) { w.integerMatvec(xc.pointer(Float.self), m: m, into: out.pointer(Float.self), isa: isa) }
                results[isa] = out
            }
            let scalar = results[Int32(LMK_ISA_SCALAR)]!
            let c = compare(scalar, definition, rtol: 1e-4, atol: 1e-3)
            #expect(c.withinTolerance, "\(type.name) scalar, \(m) rows: \(c)")
            for (isa, out) in results where isa != Int32(LMK_ISA_SCALAR) {
                let c = compare(out, scalar, rtol: 1e-4, atol: 1e-3)  // same integer sums; float order differs
                #expect(c.withinTolerance, "\(type.name) ISA \(isa), \(m) rows: \(c)")
            }
            // Against float32 activations: 8-bit rounding of x costs well under 2% of the outputs' scale.
            let exact = Tensor.linear(x, weight: dense, bias: nil).scalars(as: Float.self)
            let scale = exact.map { abs($0) }.max()!
            let worst = zip(w.linear(x).scalars(as: Float.self), exact).map { abs($0 - $1) }.max()!
            #expect(worst < 0.02 * scale, "\(type.name): int8 activations off by \(worst) at scale \(scale)")
        }
    }

    /// Prompt processing with 8-bit activations (`lmk_qgemm`, AVX-512 VNNI only): the same integer
    /// sums as the row kernels, for row counts that do not fill the 8-row tiles and activation row
    /// counts that do not fill the 4-row tiles.
    @Test(arguments: GGUFQuantTests.types.filter { lmk_qdot_supported(Int32($0.rawValue)) != 0 })
    func integerGemmMatchesRowKernels(type: GGMLType) throws {
        guard QuantizedMatrix.isa == Int32(LMK_ISA_AVX512_VNNI) else {
            print("SKIPPED: lmk_qgemm needs AVX-512 VNNI, this CPU's integer kernels are \(QuantizedMatrix.isaName)")
            return
        }
        let (rows, columns) = (45, 512)
        let w = Self.randomMatrix(type, rows: rows, columns: columns, seed: UInt64(type.rawValue) + 11)
        for m in [5, 11] {
            var g = RandomGenerator(seed: UInt64(m) + 200)
            let x = Tensor.randomNormal([m, columns], generator: &g)
            let gemm = w.linear(x)  // m > 4: lmk_qgemm
            let rowwise = Tensor.empty([m, rows], dtype: .float32)
            let xc = x.contiguous()
            withExtendedLifetime(xc) {
                w.integerMatvec(xc.pointer(Float.self), m: m, into: rowwise.pointer(Float.self), isa: QuantizedMatrix.isa)
            }
            let c = compare(gemm, rowwise, rtol: 1e-4, atol: 1e-3)
            #expect(c.withinTolerance, "\(type.name), \(m) rows: \(c)")
        }
    }
}
