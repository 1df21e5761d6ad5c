import Foundation
import LMKitChat
import LMKitModels
import LMKitNN
import LMKitOptimization
import LMKitTensor
import Testing
import TestSupport

/// Importance matrices: collected over chunks as llama-imatrix does (checked against the first
/// layer's inputs computed by hand, BOS first in every chunk), written as llama.cpp's GGUF imatrix
/// and read back (and its older .dat layout read), and used by the quantizers and the export.
/// benchmarks/optimization compares the collected values with llama-imatrix's and the quantized
/// files with llama-quantize --imatrix's.
@Suite(.serialized) struct ImportanceMatrixTests {
    let folder = TemporaryFolder(prefix: "lmkit-imatrix")

    func tinyLlama() throws -> String {
        let path = folder.path + "/llama"
        var c = LlamaConfig()
        (c.vocabSize, c.width, c.layers, c.heads, c.kvHeads, c.headSize) = (400, 64, 2, 4, 2, 16)
        (c.intermediateSize, c.contextLength) = (96, 512)
        try LlamaForCausalLM(c, seed: 11).save(folder: path)
        try FileManager.default.copyItem(atPath: fixturePath("tokenizers/llama3-style/tokenizer.json"), toPath: path + "/tokenizer.json")
        try Data(#"{"bos_token": "<|begin_of_text|>"}"#.utf8).write(to: URL(fileURLWithPath: path + "/tokenizer_config.json"))
        return path
    }

    let text = String(repeating: "Quantization keeps the weights that matter most at more precision. ", count: 30)

    @Test func collectedSumsAreTheInputsSquares() throws {
        let loaded = try ModelLoader.load(try tinyLlama(), activations: .float32)
        let m = try #require(loaded.model as? LlamaForCausalLM)
        let matrix = try ImportanceMatrix.collect(model: m, tokenizer: loaded.tokenizer, text: text, dataset: "t.txt", context: 32)
        let ids = try loaded.tokenizer.encode(text, options: .init(addSpecialTokens: true, specialTokens: .text)).ids
        let chunks = ids.count / 32
        #expect(matrix.chunkCount == chunks && matrix.chunkSize == 32 && matrix.datasets == ["t.txt"])
        let names = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]
        #expect(Set(matrix.entries.keys) == Set((0..<2).flatMap { i in names.map { "blk.\(i).\($0).weight" } }))
        #expect(matrix.entries.values.allSatisfy { $0.count == Float(chunks * 32) })
        // Layer 0's attention input, by hand: RMS-normed embeddings of each chunk, its first token BOS.
        var expected = [Double](repeating: 0, count: 64)
        let bos = ids[0]
        for c in 0..<chunks {
            var chunk = Array(ids[(c * 32)..<((c + 1) * 32)])
            chunk[0] = bos
            let h = GradMode.withoutGradient { m.layers[0].inputNorm(m.embedding(Tensor(indices: chunk, shape: [1, 32]))) }
            for (k, v) in h.scalars(as: Float.self).enumerated() { expected[k % 64] += Double(v * v) }
        }
        let got = try #require(matrix.entries["blk.0.attn_q.weight"]).sums
        for j in 0..<64 { #expect(abs(Double(got[j]) - expected[j]) <= 1e-4 * expected[j], "column \(j)") }
        #expect(matrix.entries["blk.0.attn_k.weight"] == matrix.entries["blk.0.attn_q.weight"])
        #expect(matrix.entries["blk.1.ffn_down.weight"]?.sums.count == 96)
        // The observers are removed afterwards.
        #expect(ImportanceMatrixTests.observed(m) == 0)
    }

    static func observed(_ m: LlamaForCausalLM) -> Int {
        m.layers.flatMap { [$0.attention.qProj, $0.mlp.downProj] }.filter { ($0 as? Linear)?.inputObserver != nil }.count
    }

    @Test func fileRoundTripAndLegacyLayout() throws {
        let matrix = ImportanceMatrix(
            entries: [
                "blk.0.attn_q.weight": .init(sums: [4, 8, 0, 2], count: 2), "blk.0.ffn_down.weight": .init(sums: [1, 1], count: 0),
            ],
            datasets: ["calibration.txt"], chunkCount: 3, chunkSize: 512)
        let path = folder.path + "/m.gguf"
        try matrix.write(to: path)
        let back = try ImportanceMatrix(path: path)
        #expect(back.entries == matrix.entries && back.datasets == ["calibration.txt"] && back.chunkCount == 3 && back.chunkSize == 512)
        #expect(back.values(for: "blk.0.attn_q.weight") == [2, 4, 0, 1])
        #expect(back.values(for: "blk.0.ffn_down.weight") == [1, 1])  // no token: llama-quantize's ones
        let file = try GGUFFile(path: path)
        #expect(file["general.type"]?.string == "imatrix" && file.tensors.map(\.name).contains("blk.0.attn_q.weight.in_sum2"))

        // llama.cpp's .dat: n, then per entry len, name, ncall, nval, values (E[x²]·ncall); chunks, dataset.
        var dat = Data()
        func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { dat.append(contentsOf: $0) } }
        i32(1)
        i32(19)
        dat.append(contentsOf: Array("blk.0.attn_q.weight".utf8))
        i32(10)
        i32(2)
        for v: Float in [30, 50] { withUnsafeBytes(of: v.bitPattern.littleEndian) { dat.append(contentsOf: $0) } }
        i32(10)
        i32(5)
        dat.append(contentsOf: Array("c.txt".utf8))
        try dat.write(to: URL(fileURLWithPath: folder.path + "/m.dat"))
        let legacy = try ImportanceMatrix(path: folder.path + "/m.dat")
        #expect(legacy.values(for: "blk.0.attn_q.weight") == [3, 5] && legacy.datasets == ["c.txt"] && legacy.chunkCount == 10)
        try dat.prefix(30).write(to: URL(fileURLWithPath: folder.path + "/short.dat"))
        let error = #expect(throws: ModelError.self) { try ImportanceMatrix(path: folder.path + "/short.dat") }
        #expect(error?.description.contains("truncated") == true)
        #expect(throws: ModelError.self) { try ImportanceMatrix(path: folder.path + "/absent.gguf") }
    }

    @Test func exportUsesItWhereTheTypeDoes() throws {
        let source = try tinyLlama()
        let loaded = try ModelLoader.load(source, activations: .float32)
        var matrix = try ImportanceMatrix.collect(
            model: loaded.model, tokenizer: loaded.tokenizer, text: text, dataset: "t.txt", context: 32)
        var export = GGUFExport(type: .q4_0)
        export.importance = matrix
        let summary = try export.write(model: source, to: folder.path + "/w.gguf")
        #expect(summary.weightedByImportance == 14)
        let plain = try GGUFExport(type: .q4_0).write(model: source, to: folder.path + "/p.gguf")
        let a = try GGUFFile(path: summary.out), b = try GGUFFile(path: plain.out)
        #expect(try Array(a.data("blk.0.attn_q.weight").bytes) != Array(b.data("blk.0.attn_q.weight").bytes))
        #expect(try Array(a.data("token_embd.weight").bytes) == Array(b.data("token_embd.weight").bytes))
        #expect(a["quantize.imatrix.dataset"]?.string == "t.txt" && a["quantize.imatrix.entries_count"]?.int == 14)
        // Re-quantizing that file under a matrix replaces its quantize.imatrix.* keys, once each.
        let again = try export.write(model: summary.out, to: folder.path + "/again.gguf")
        let keys = try GGUFFile(path: again.out).metadata.map(\.key).filter { $0.hasPrefix("quantize.imatrix.") }
        #expect(keys.count == Set(keys).count && keys.count == 3, "\(keys)")
        // Both are Q4_0: the weighted one is closer to the float weights where the inputs are large.
        let w = try #require((loaded.model as? Module)?.stateDict()["model.layers.0.self_attn.o_proj.weight"])
        let imp = matrix.values(for: "blk.0.attn_output.weight")!
        func weightedError(_ f: GGUFFile) throws -> Double {
            let q = try f.floats("blk.0.attn_output.weight").scalars(as: Float.self), x = w.scalars(as: Float.self)
            return q.indices.reduce(0.0) { $0 + Double(imp[$1 % 64]) * Double((q[$1] - x[$1]) * (q[$1] - x[$1])) }
        }
        #expect(try weightedError(a) < weightedError(b))
        // A matrix of the wrong width is an error naming the tensor.
        matrix.entries["blk.0.ffn_down.weight"]!.sums = [1, 2, 3]
        export.importance = matrix
        let error = #expect(throws: ModelError.self) { try export.write(model: source, to: folder.path + "/bad.gguf") }
        #expect(error?.description.contains("blk.0.ffn_down.weight") == true)
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/bad.gguf"))
    }
}
