import ArgumentParser
import Foundation
import LMKitExperiments
import LMKitTensor

/// `lmkit experiment`: measured evidence for the claims of the study path.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run an experiment that measures a claim of the study path; prints a table and writes a picture.",
        subcommands: [Gradients.self]
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
}
