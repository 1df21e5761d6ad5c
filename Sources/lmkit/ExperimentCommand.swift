import ArgumentParser
import Foundation
import LMKitAssets
import LMKitExperiments
import LMKitTensor

/// `lmkit experiment`: measured evidence for the claims of the study path.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run an experiment that measures a claim of the study path; prints a table and writes a picture.",
        subcommands: [Memory.self, Gradients.self, Throughput.self, Quality.self]
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
                    let b = rows.first(where: { $0.model == "transformer" && $0.length == t })
                else { continue }
                print(
                    String(t).padding(8) + String(Int(a.tokensPerSecond)).padding(15) + String(Int(b.tokensPerSecond)).padding(22)
                        + String(format: "%.1f×", b.tokensPerSecond / a.tokensPerSecond))
            }
            print("picture: \(out)")
        }
    }

    struct Memory: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Long-range dependency: delayed recall accuracy vs distance k for RNN, LSTM, GRU and a transformer.",
            discussion: """
                Each model reads k + 1 random symbols and must name the first at the last position. For every k
                each model trains from scratch (--steps steps of --batch-size fresh sequences), then answers 512
                new ones. Chance is 1 / --symbols.

                --json prints one JSON object per line:
                  {"model": "RNN" | "LSTM" | "GRU" | "transformer", "parameters": Int, "distance": Int,
                   "accuracy": Double, "seconds": Double}
                """
        )

        @Option(parsing: .upToNextOption, help: "Distances k.") var distances: [Int] = [5, 10, 20, 40, 80]
        @Option var steps = 300
        @Option var batchSize = 32
        @Option var symbols = 8
        @Option(help: "Write the picture here (SVG).") var out = "memory.svg"
        @Flag var json = false

        func run() throws {
            guard !distances.isEmpty, distances.allSatisfy({ $0 >= 1 }), steps > 0, batchSize > 0, symbols >= 2 else {
                throw ValidationError("--distances must be at least 1, --steps and --batch-size positive, --symbols at least 2")
            }
            var e = LongRangeMemoryExperiment()
            e.distances = distances; e.steps = steps; e.batchSize = batchSize; e.symbols = symbols
            let quiet = json
            let rows = try e.run { if !quiet { print("  " + $0) } }
            try AtomicFile.write(Array(e.picture(rows).utf8), to: out)
            if json { for r in rows { try printJSON(r) }; return }
            let names = ["RNN", "LSTM", "GRU", "transformer"]
            print("parameters: " + names.map { n in "\(n) \(rows.first { $0.model == n }?.parameters ?? 0)" }.joined(separator: ", "))
            print("k".padding(6) + names.map { $0.padding(13) }.joined())
            for k in distances {
                print(
                    String(k).padding(6)
                        + names.map { n in
                            String(format: "%.3f", rows.first { $0.model == n && $0.distance == k }?.accuracy ?? .nan).padding(13)
                        }.joined())
            }
            print("chance: \(String(format: "%.3f", 1 / Double(symbols)));  picture: \(out)")
        }
    }

    struct Quality: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Equal-time quality: validation loss of an LSTM and a GPT of equal size after the same training time.",
            discussion: """
                Character-level Shakespeare (or CORPUS); a 2-layer LSTM (256 units) and a 4-layer GPT (width 160),
                about 1.1M and 1.3M parameters, each trained for --minutes with the same batches and schedule
                (the cosine decay is fitted to the steps that fit in the time). Output folders go under --work.

                --json prints one JSON object per line:
                  {"model": "LSTM" | "GPT", "parameters": Int, "steps": Int, "seconds": Double,
                   "bestValidationLoss": Double, "curve": [[seconds, validation loss]]}
                """
        )

        @Argument(help: "Training text (default: the Shakespeare asset).") var corpus: String?
        @Option var minutes = 5.0
        @Option(help: "Folder for the two runs.") var work = "quality-runs"
        @Option(help: "Write the picture here (SVG).") var out = "quality.svg"
        @Flag var json = false

        func run() throws {
            guard minutes > 0 else { throw ValidationError("--minutes must be positive") }
            let path = try corpus ?? AssetStore().path(.shakespeare, "shakespeare.txt")
            var e = EqualTimeQualityExperiment(corpus: path, output: work)
            e.minutes = minutes
            let quiet = json
            let rows = try e.run { line in if !quiet { print("  " + line) } }
            try AtomicFile.write(Array(e.picture(rows).utf8), to: out)
            if json { for r in rows { try printJSON(r) }; return }
            print("model  parameters  steps  seconds  best validation loss")
            for r in rows {
                print(
                    r.model.padding(7) + String(r.parameters).padding(12) + String(r.steps).padding(7) + String(Int(r.seconds)).padding(9)
                        + String(format: "%.3f", r.bestValidationLoss))
            }
            print("picture: \(out)")
        }
    }
}
