import Foundation
import LMKitTensor
import Testing
import TestSupport

/// LMKit's GGUF writer and ggml quantizers against gguf-py (Tools/golden/ggml_quants.py) and, for
/// the k-quants and importance-weighted types gguf-py does not write, llama.cpp's own
/// `ggml_quantize_chunk` (Tools/golden/ggml_kquants.py): each type's blocks equal the reference's
/// bit for bit on rows with ties, subnormals, zeros and outliers; a file copied key by key and tensor
/// by tensor comes out byte-identical to the one gguf-py wrote.
@Suite struct GGUFWriterTests {
    let golden = fixturePath("quant/gguf_quants.gguf")

    @Test(arguments: [GGMLType.f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1])
    func blocksEqualGGUFPy(type: GGMLType) throws {
        let file = try GGUFFile(path: golden)
        let x = try file.floats("x")
        let expected = Array(try file.data("x.\(String(describing: type))").bytes)
        let got = x.withUnsafeScalars(Float.self) { GGMLQuantizer.quantize($0, as: type) }
        #expect(got.count == expected.count)
        let differing = zip(got, expected).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(
            differing.isEmpty,
            "\(type): \(differing.count) bytes differ, first at \(differing.first ?? -1) (block \((differing.first ?? 0) / type.blockBytes))"
        )
    }

    @Test(arguments: [GGMLType.q4_K, .q5_K, .q6_K])
    func kQuantsEqualLlamaCpp(type: GGMLType) throws {
        let file = try GGUFFile(path: fixturePath("quant/ggml_kquants.gguf"))
        let x = try file.floats("x")
        let got = x.withUnsafeScalars(Float.self) { GGMLQuantizer.quantize($0, as: type) }
        expectSameBlocks(got, Array(try file.data("x.\(String(describing: type).lowercased())").bytes), type)
    }

    /// Blocks of signed zeros (a pruned model's): the float16 scales keep the sign ggml's scans give.
    @Test(arguments: [GGMLType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K])
    func signedZerosEqualLlamaCpp(type: GGMLType) throws {
        let file = try GGUFFile(path: fixturePath("quant/ggml_kquants.gguf"))
        let z = try file.floats("z")
        let got = z.withUnsafeScalars(Float.self) { GGMLQuantizer.quantize($0, as: type) }
        expectSameBlocks(got, Array(try file.data("z.\(String(describing: type).lowercased())").bytes), type)
    }

    @Test(arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K])
    func importanceWeightedBlocksEqualLlamaCpp(type: GGMLType) throws {
        let file = try GGUFFile(path: fixturePath("quant/ggml_kquants.gguf"))
        let y = try file.floats("y"), imatrix = try file.floats("imatrix")
        let got = y.withUnsafeScalars(Float.self) { x in
            imatrix.withUnsafeScalars(Float.self) { GGMLQuantizer.quantize(x, as: type, importance: $0) }
        }
        let expected = Array(try file.data("y.\(String(describing: type).lowercased())").bytes)
        expectSameBlocks(got, expected, type)
        let plain = y.withUnsafeScalars(Float.self) { GGMLQuantizer.quantize($0, as: type) }
        #expect(plain != expected, "\(type): the importance matrix changed nothing")
    }

    func expectSameBlocks(_ got: [UInt8], _ expected: [UInt8], _ type: GGMLType) {
        #expect(got.count == expected.count)
        let differing = zip(got, expected).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(
            differing.isEmpty,
            "\(type): \(differing.count) bytes differ, first at \(differing.first ?? -1) (block \((differing.first ?? 0) / type.blockBytes))"
        )
    }

    @Test func nonFiniteWeightsAreFoundAnywhere() {
        var x = [Float](repeating: 0.5, count: 3 << 20)
        #expect(x.withUnsafeBufferPointer { GGMLQuantizer.allFinite($0) })
        for (i, bad) in [(0, Float.nan), (x.count - 1, .infinity), (1 << 20, -.infinity), (2_500_000, .signalingNaN)] {
            x[i] = bad
            #expect(!x.withUnsafeBufferPointer { GGMLQuantizer.allFinite($0) }, "\(bad) at \(i)")
            x[i] = 0.5
        }
    }

    @Test func aCopyIsByteIdentical() throws {
        let file = try GGUFFile(path: golden)
        var writer = GGUFWriter()
        for (key, value) in file.metadata {
            let t = try #require(file.metadataTypes[key])
            writer.metadata.append((key, try #require(GGUFValue(value, type: t.type, elementType: t.elementType), "\(key)")))
        }
        for info in file.tensors {
            let d = try file.data(info)
            writer.addTensor(info.name, shape: d.shape, type: d.type) { Array(d.bytes) }
        }
        let folder = TemporaryFolder(prefix: "lmkit-gguf")
        let copy = folder.path + "/copy.gguf"
        try writer.write(to: copy)
        let a = try Data(contentsOf: URL(fileURLWithPath: golden)), b = try Data(contentsOf: URL(fileURLWithPath: copy))
        #expect(a == b, "\(a.count) vs \(b.count) bytes")
        let back = try GGUFFile(path: copy)
        #expect(back["test.string"]?.string == "naïve ▁ 🙂" && back["test.u64"]?.double == Double(UInt64(1) << 63 + 5))
    }

    @Test func malformedTensorsAreErrorsAndLeaveNoFile() throws {
        let folder = TemporaryFolder(prefix: "lmkit-gguf-bad")
        var writer = GGUFWriter()
        writer.addTensor("w", shape: [2, 30], type: .q8_0) { [] }  // rows of 30 do not fill 32-wide blocks
        #expect(throws: FileError.self) { try writer.write(to: folder.path + "/a.gguf") }
        var short = GGUFWriter()
        short.addTensor("w", shape: [1, 32], type: .q8_0) { [UInt8](repeating: 0, count: 10) }
        let error = #expect(throws: FileError.self) { try short.write(to: folder.path + "/b.gguf") }
        #expect(error?.reason.contains("tensor w") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
        var twice = GGUFWriter()
        twice.metadata = [("k", .uint32(1)), ("k", .uint32(2))]
        #expect(throws: FileError.self) { try twice.write(to: folder.path + "/d.gguf") }
        var mixed = GGUFWriter()
        mixed.metadata.append(("k", .array(elementType: 5, [.int32(1), .string("x")])))
        #expect(throws: FileError.self) { try mixed.write(to: folder.path + "/c.gguf") }
    }

    @Test func dequantizingWhatWasWrittenComesBack() throws {
        var g = RandomGenerator(seed: 7)
        let x = Tensor.randomNormal([4, 256], generator: &g)
        let folder = TemporaryFolder(prefix: "lmkit-gguf-rt")
        var writer = GGUFWriter()
        for type in GGMLQuantizer.writable {
            writer.addTensor("x.\(type)", shape: [4, 256], type: type) {
                x.withUnsafeScalars(Float.self) { GGMLQuantizer.quantize($0, as: type) }
            }
        }
        try writer.write(to: folder.path + "/x.gguf")
        let file = try GGUFFile(path: folder.path + "/x.gguf")
        // Error bounds: half a level of each type's step, relative to the block's range.
        let bounds: [GGMLType: Double] = [
            .f32: 0, .f16: 1e-3, .bf16: 8e-3, .q8_0: 0.01, .q4_0: 0.2, .q4_1: 0.2, .q5_0: 0.1, .q5_1: 0.1, .q4_K: 0.2, .q5_K: 0.1,
            .q6_K: 0.05,
        ]
        for type in GGMLQuantizer.writable {
            let back = try file.floats("x.\(type)")
            let c = compare(back, x, rtol: 0, atol: bounds[type]! * 4)
            #expect(c.withinTolerance, "\(type): \(c)")
        }
    }
}
