import Foundation
import LMKitEmbeddings
import LMKitTensor
import Testing
import TestSupport

/// Reading and writing word-vector files, and rejecting broken ones with the line or entry named.
@Suite struct WordVectorsFormatTests {
    /// Each test gets its own folder; it goes when the test ends.
    let temporary = TemporaryFolder(prefix: "lmkit-vectors")
    var folder: String { temporary.path }

    func file(_ name: String, _ bytes: [UInt8]) -> String {
        let path = folder + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    func sample() throws -> WordVectors {
        try WordVectors(
            words: ["the", "king", "queen", "naïve"],
            matrix: Tensor(shape: [4, 3], scalars: [0.1, 0.2, 0.3, 1, -2, 0.5, 1.5e-7, 3.25, -0.125, 9, 8, 7] as [Float]))
    }

    @Test(arguments: WordVectors.Format.allCases)
    func writeThenReadGivesTheSameVectors(_ format: WordVectors.Format) throws {
        let v = try sample()
        let path = folder + "/v.\(format.rawValue)"
        try v.write(to: path, format: format)
        for detected in [nil, format] {
            let back = try WordVectors(contentsOf: path, format: detected)
            #expect(back.words == v.words)
            #expect(back.matrix.floats == v.matrix.floats)  // exact: shortest round-tripping decimals, or raw bytes
        }
    }

    @Test func numpyInCAndFortranOrder() throws {
        // 2×3 float32 [[1, 2, 3], [4, 5, 6]], stored both ways.
        func npy(fortran: Bool) -> [UInt8] {
            var header = "{'descr': '<f4', 'fortran_order': \(fortran ? "True" : "False"), 'shape': (2, 3), }"
            while (10 + header.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            var bytes: [UInt8] =
                [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 255), UInt8(header.count >> 8)] + Array(header.utf8)
            let values: [Float] = fortran ? [1, 4, 2, 5, 3, 6] : [1, 2, 3, 4, 5, 6]
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
            return bytes
        }
        let words = file("w.txt", Array("a\nb\n".utf8))
        for fortran in [false, true] {
            let v = try WordVectors(numpy: file("m\(fortran).npy", npy(fortran: fortran)), words: words)
            #expect(v.matrix.floats == [1, 2, 3, 4, 5, 6])
            #expect(try v.vector("b").floats == [4, 5, 6])
        }
        do {
            _ = try WordVectors(numpy: file("short.npy", Array(npy(fortran: false).dropLast(4))), words: words)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("truncated"))
        }
        #expect(throws: WordVectorsError.self) {
            try WordVectors(numpy: file("m.npy", npy(fortran: false)), words: file("w3.txt", Array("a\nb\nc\n".utf8)))
        }
    }

    @Test func brokenFilesNameTheProblem() throws {
        let cases: [(String, [UInt8], String)] = [
            ("empty.txt", [], "empty"),
            ("ragged.txt", Array("a 1 2 3\nb 1 2\n".utf8), "line 2: 'b' has 2 numbers, expected 3"),
            ("nan.txt", Array("a 1 x 3\n".utf8), "line 1: 'x' is not a number"),
            ("count.w2v", Array("3 2\na 1 2\nb 3 4\n".utf8), "announces 3 words, the file has 2"),
            ("utf8.txt", [0xFF, 0x20, 0x31, 0x0A], "line 1: the word is not valid UTF-8"),
            ("trunc.bin", Array("2 2\na ".utf8) + [0, 0, 128, 63, 0, 0, 0, 64, 10] + Array("b ".utf8) + [0, 0], "truncated"),
        ]
        for (name, bytes, fragment) in cases {
            do {
                let format: WordVectors.Format? = name.hasSuffix(".bin") ? .word2vecBinary : nil
                _ = try WordVectors(contentsOf: file(name, bytes), format: format)
                Issue.record("\(name): expected an error mentioning '\(fragment)'")
            } catch {
                #expect(error.description.contains(fragment), "\(name): \(error)")
                #expect(error.description.contains(name), "\(name): \(error)")
            }
        }
        #expect(throws: WordVectorsError.self) { try WordVectors(contentsOf: folder + "/nope.txt") }
    }

    @Test func queriesOnASmallVocabulary() throws {
        let v = try WordVectors(
            words: ["a", "b", "c", "d"],
            matrix: Tensor(shape: [4, 2], scalars: [1, 0, 0.9, 0.1, 0, 1, -1, 0] as [Float]))
        #expect(Swift.abs(try v.similarity("a", "d") + 1) < 1e-6)
        #expect(try v.mostSimilar(positive: ["a"], count: 2).map(\.word) == ["b", "c"])
        #expect(try v.mostSimilar(positive: ["a"], count: 10).count == 3)  // the input word is excluded
        #expect(try v.mostSimilar(positive: ["a"], count: 2, restrictTo: 2).map(\.word) == ["b"])
        #expect(try v.doesntMatch(["a", "b", "d", "zzz"]) == "d")  // unknown words ignored
        #expect(throws: WordVectorsError.self) { try v.similarity("a", "e") }
        #expect(v.similar(toVector: Tensor(shape: [2], scalars: [0, 2] as [Float]), count: 1).map(\.word) == ["c"])
    }
}
