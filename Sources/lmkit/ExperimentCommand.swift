import ArgumentParser
import Foundation
import LMKitExperiments
import LMKitTensor

/// `lmkit experiment`: measured evidence for the claims of the study path.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run an experiment that measures a claim of the study path; prints a table and writes a picture.",
        subcommands: [Gradients.self, Throughput.self]
    )

    struct Gradients: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Vanishing gradients: ‖∂L/∂h‖ k steps back, for RNN, LSTM and GRU.",
            discussion: """
            Runs a sequence through a freshly initialized network (PyTorch's initialization, the LSTM's
            forget-gate bias set by --forget-bias), takes the loss at the last step, and measures the norm
            of its gradient with respect to the hidden state k steps earlier. An RNN's gradient shrinks
            exponentially with k; gates let an LSTM or GRU pass it further.

            --json prints one JSON object per line:
              {"cell": "rnn" | "lstm" | "gru", "distance": Int, "gradientNorm": Double, "relative": Double}
            """
        )

        @Option var hidden = 64
        @Option var length = 100
        @Option var forgetBias = 1.0
        @Option(help: "Write the picture here (SVG).") var out = "vanishing-gradients.svg"
        @Flag var json = false

        func run() throws {
            guard hidden > 0, length >= 2 else { throw ValidationError("--hidden must be positive and --length at least 2") }
            var e = VanishingGradientsExperiment()
            e.hiddenSize = hidden
            e.sequenceLength = length
            e.forgetBias = forgetBias
            e.distances = e.distances.filter { $0 <= length }
            let rows = e.run()
            try AtomicFile.write(Array(e.picture(rows).utf8), to: out)
            if json { for r in rows { try printJSON(r) }; return }
            print("k steps back  " + ["RNN", "LSTM", "GRU"].map { $0.padding(22) }.joined())
            for k in e.distances {
                let cells = ["rnn", "lstm", "gru"].map { c -> String in
                    guard let r = rows.first(where: { $0.cell == c && $0.distance == k }) else { return "".padding(22) }
                    return String(format: "%.3e (×%.1e)", r.gradientNorm, r.relative).padding(22)
                }
                print(String(k).padding(14) + cells.joined())
            }
            print("picture: \(out)")
        }
    }

    struct Throughput: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parallelism: training tokens/s of an LSTM and a transformer of equal size, by sequence length.",
            discussion: """
            A 2-layer LSTM and a 4-layer transformer with about the same number of parameters, each timed
            on full training steps (forward, loss, backward, AdamW) at every --lengths value, batch
            --batch-size, on LMKIT_THREADS cores.

            --json prints one JSON object per line:
              {"model": "LSTM" | "transformer", "parameters": Int, "length": Int, "tokensPerSecond": Double}
            """
        )

        @Option(parsing: .upToNextOption, help: "Sequence lengths.") var lengths: [Int] = [32, 64, 128, 256]
        @Option var batchSize = 16
        @Option(help: "Timed steps per measurement (median).") var steps = 3
        @Option(help: "Write the picture here (SVG).") var out = "throughput.svg"
        @Flag var json = false

        func run() throws {
            guard !lengths.isEmpty, lengths.allSatisfy({ $0 >= 2 }), batchSize > 0, steps > 0 else {
                throw ValidationError("--lengths must be at least 2, --batch-size and --steps positive")
            }
            var e = ParallelismExperiment()
            e.lengths = lengths
            e.batchSize = batchSize
            e.steps = steps
            let quiet = json
            let rows = try e.run { if !quiet { print("  " + $0) } }
            try AtomicFile.write(Array(e.picture(rows).utf8), to: out)
            if json { for r in rows { try printJSON(r) }; return }
            let lstm = rows.first { $0.model == "LSTM" }?.parameters ?? 0, gpt = rows.first { $0.model == "transformer" }?.parameters ?? 0
            print("parameters: LSTM \(lstm), transformer \(gpt)")
            print("length  LSTM tokens/s  transformer tokens/s  transformer / LSTM")
            for t in lengths {
                guard let a = rows.first(where: { $0.model == "LSTM" && $0.length == t }),
                      let b = rows.first(where: { $0.model == "transformer" && $0.length == t }) else { continue }
                print(String(t).padding(8) + String(Int(a.tokensPerSecond)).padding(15) + String(Int(b.tokensPerSecond)).padding(22) + String(format: "%.1f×", b.tokensPerSecond / a.tokensPerSecond))
            }
            print("picture: \(out)")
        }
    }
}
