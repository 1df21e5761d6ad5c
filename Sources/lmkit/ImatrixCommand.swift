import ArgumentParser
import Foundation
import LMKitChat
import LMKitOptimization
import LMKitTensor

/// `lmkit imatrix`: an importance matrix from a calibration text, for `lmkit quantize --imatrix`.
struct ImatrixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imatrix",
        abstract: "Measure which weights matter on a calibration text: an importance matrix for quantize --imatrix.",
        discussion: """
            Runs MODEL (a GPT-2, Llama-family or Gemma 3 folder, a GGUF file, or `gemma`) over FILE in chunks of --context tokens,
            each starting with the BOS token, as llama-imatrix does, and records for every matrix inside the layers
            (blk.*) the sum over tokens of the square of each input column, E[x²] once divided by the token count.
            Quantizing with it (`lmkit quantize --imatrix FILE`) weighs each weight's rounding error by how large the
            inputs it multiplies are, which lowers the error where it reaches the output.

            The file is llama.cpp's GGUF imatrix (general.type "imatrix"; <tensor>.in_sum2 and <tensor>.counts;
            imatrix.datasets, chunk_count, chunk_size): llama-quantize --imatrix reads it, and LMKit reads
            llama-imatrix's (GGUF, or its older .dat files). Written atomically.

            --json prints {"out": String, "entries": Int, "chunks": Int, "chunkSize": Int, "tokens": Int, "seconds": Double}.
            """)

    @Argument(help: "A model folder, a GGUF file, or `gemma`.") var model: String
    @Option(help: "Calibration text (UTF-8).") var text: String
    @Option(help: "Output file (.gguf).") var out: String
    @Option(help: "Tokens per chunk.") var context = 512
    @Option(help: "At most this many chunks (default: all the text holds).") var chunks: Int?
    @Option(help: "Activations in products with quantized (GGUF) weights: int8 or float32.")
    var activations: QuantizedMatrix.Activations = .int8
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable { let out: String, entries: Int, chunks: Int, chunkSize: Int, tokens: Int, seconds: Double }

    func run() throws {
        let calibration = try readTextFile(text)
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1") }
        let start = Date()
        let loaded = try ModelLoader.load(model, activations: activations)
        let matrix = try ImportanceMatrix.collect(
            model: loaded.model, tokenizer: loaded.tokenizer, text: calibration, dataset: (text as NSString).lastPathComponent,
            context: context, chunks: chunks
        ) { done, total in
            if !json { FileHandle.standardError.write("\rchunk \(done)/\(total)".data(using: .utf8)!) }
        }
        if !json { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        try matrix.write(to: out)
        let seconds = Date().timeIntervalSince(start)
        let output = Output(
            out: out, entries: matrix.entries.count, chunks: matrix.chunkCount, chunkSize: matrix.chunkSize,
            tokens: matrix.chunkCount * matrix.chunkSize, seconds: seconds)
        if json { try printJSON(output); return }
        print(
            "wrote \(out): \(output.entries) matrices, \(output.chunks) chunks of \(output.chunkSize) tokens, in \(String(format: "%.1f", seconds)) s"
        )
    }
}
