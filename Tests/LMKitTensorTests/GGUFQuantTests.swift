import Foundation
import LMKitAssets
import LMKitTensor
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
