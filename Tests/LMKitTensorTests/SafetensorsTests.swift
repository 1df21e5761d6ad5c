import Foundation
import LMKitTensor
import Testing
import TestSupport

/// safetensors: round trips, and every way a header can lie, each rejected with a clear error.
@Suite struct SafetensorsTests {
    /// Each test gets its own folder; it goes when the test ends.
    let temporary = TemporaryFolder(prefix: "lmkit-safetensors")
    var folder: String { temporary.path }

    /// Writes a file with the given JSON header and data bytes.
    func raw(_ name: String, header: String, data: [UInt8], declaredLength: UInt64? = nil) -> String {
        let path = folder + "/" + name
        var bytes: [UInt8] = []
        let h = Array(header.utf8)
        withUnsafeBytes(of: (declaredLength ?? UInt64(h.count)).littleEndian) { bytes += $0 }
        bytes += h + data
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    func expectError(_ path: String, mentions fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try SafetensorsFile(path: path)
            Issue.record("expected an error mentioning '\(fragment)'", sourceLocation: sourceLocation)
        } catch {
            #expect(error.description.contains(fragment), "error was: \(error)", sourceLocation: sourceLocation)
            #expect(error.description.contains(path), sourceLocation: sourceLocation)
        }
    }

    @Test func roundTripKeepsNamesShapesTypesValuesAndMetadata() throws {
        let tensors: [String: Tensor] = [
            "a.weight": randn([3, 4], seed: 1).converted(to: .float32),
            "b": randn([2], seed: 2),
            "ids": Tensor(indices: [5, -1, 7], shape: [3]),
            "empty": Tensor.zeros([0, 4]),
            "scalar": Tensor(2.5),
        ]
        let path = folder + "/round.safetensors"
        try SafetensorsFile.write(tensors, metadata: ["format": "pt", "note": "quote \" and \\ and \n"], to: path)
        let file = try SafetensorsFile(path: path)
        #expect(Set(file.names) == Set(tensors.keys))
        #expect(file.metadata == ["format": "pt", "note": "quote \" and \\ and \n"])
        for (name, t) in tensors {
            let back = try file.tensor(name)
            #expect(back.shape == t.shape && back.dtype == t.dtype, "\(name)")
            if t.dtype.isInteger { #expect(back.indexValues == t.indexValues) } else { #expect(back.doubles == t.doubles, "\(name)") }
        }
        // Atomic write: no temporary file left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test func halfPrecisionTypesConvert() throws {
        // 1.5 in float16 is 0x3E00; in bfloat16 0x3FC0; -2 in bfloat16 is 0xC000.
        let path = raw(
            "half.safetensors",
            header: #"{"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[2,6]}}"#,
            data: [0x00, 0x3E, 0xC0, 0x3F, 0x00, 0xC0])
        let file = try SafetensorsFile(path: path)
        #expect(try file.tensor("h").converted(to: .float32).floats == [1.5])
        #expect(try file.tensor("b").converted(to: .float32).floats == [1.5, -2])
    }

    @Test func truncatedAndHostileFilesAreRejected() {
        let f32 = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        expectError(raw("empty-header.safetensors", header: "", data: []), mentions: "'{'")
        let tiny = folder + "/tiny.safetensors"
        FileManager.default.createFile(atPath: tiny, contents: Data([1, 2, 3]))
        expectError(tiny, mentions: "too small")
        expectError(raw("trunc.safetensors", header: f32, data: [0, 0, 0, 0]), mentions: "truncated")
        expectError(raw("huge-header.safetensors", header: f32, data: [], declaredLength: 1 << 40), mentions: "exceeds")
        expectError(raw("past-end.safetensors", header: f32, data: [], declaredLength: 10_000), mentions: "past the end")
        expectError(raw("json.safetensors", header: "{not json", data: []), mentions: "JSON")
        expectError(raw("brace.safetensors", header: "[1]", data: []), mentions: "'{'")
        expectError(
            raw("dtype.safetensors", header: #"{"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#, data: [0]), mentions: "F8_E4M3"
        )
        expectError(
            raw(
                "size.safetensors", header: #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)),
            mentions: "do not hold")
        expectError(
            raw("neg.safetensors", header: #"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
            mentions: "negative")
        expectError(
            raw(
                "overflow.safetensors", header: #"{"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#,
                data: [0, 0, 0, 0]), mentions: "overflows")
        expectError(
            raw(
                "overlap.safetensors",
                header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#,
                data: Array(repeating: 0, count: 6)), mentions: "overlapping")
        expectError(
            raw("gap.safetensors", header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: Array(repeating: 0, count: 8)),
            mentions: "expected 0")
        expectError(raw("trailing.safetensors", header: f32, data: Array(repeating: 0, count: 12)), mentions: "after the last tensor")
        expectError(raw("not-an-object.safetensors", header: "{\"\u{FF}\"}", data: []), mentions: "JSON")
        expectError(
            raw("offsets.safetensors", header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, data: [0, 0, 0, 0]),
            mentions: "two entries")
        expectError(folder + "/missing.safetensors", mentions: "No such file")
        var bad: [UInt8] = Array("{\"x\":1}".utf8)
        bad[2] = 0xFF
        let invalid = folder + "/invalid-utf8.safetensors"
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(bad.count).littleEndian) { bytes += $0 }
        FileManager.default.createFile(atPath: invalid, contents: Data(bytes + bad))
        expectError(invalid, mentions: "UTF-8")
    }

    @Test func missingTensorNameIsAnError() throws {
        let path = folder + "/one.safetensors"
        try SafetensorsFile.write(["x": Tensor.ones([2])], to: path)
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(path: path).tensor("y") }
    }

    @Test func realCheckpointLoads() throws {
        guard TestAssets.available(.minilm) else { return }
        let file = try SafetensorsFile(path: try TestAssets.store.path(.minilm, "model.safetensors"))
        let total = file.entries.reduce(0) { $0 + $1.shape.reduce(1, *) }
        #expect(total > 22_000_000 && total < 23_000_000)  // all-MiniLM-L6-v2: 22.7M parameters
        let emb = try file.tensor("embeddings.word_embeddings.weight")
        #expect(emb.shape == [30522, 384] && emb.dtype == .float32)
        #expect(emb.floats.allSatisfy { $0.isFinite })
    }
}
