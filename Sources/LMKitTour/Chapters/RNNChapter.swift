import Foundation
import LMKitAssets
import LMKitExperiments

/// Recurrent networks and why transformers replaced them (study path: RNNs and LSTMs).
struct RNNChapter: TourChapter {
    let name = "rnn"
    let title = "RNNs and LSTMs: memory through time, and why transformers replaced them"

    func run(_ c: TourContext) throws -> [String: Double] {
        var results: [String: Double] = [:]
        c.say(
            """
            A recurrent network reads a sequence one step at a time, folding each token into a hidden state:
            h' = tanh(W x + U h + b). Everything it remembers must survive every later update. Three claims
            from the study path, measured here.

            1. Gradients vanish. Training needs ∂loss/∂h for states far back; each step multiplies that
            gradient by a Jacobian whose size is usually below 1, so it shrinks exponentially with distance.
            LSTMs (and GRUs) add gated, additive paths that let it survive longer. Measured at initialization
            (norm of the gradient reaching the hidden state k steps back, relative to k = 1):
            """)
        var vg = VanishingGradientsExperiment()
        if c.quick {
            vg.hiddenSize = 32; vg.sequenceLength = 50; vg.distances = [1, 10, 25, 50]
        } else {
            vg.distances = [1, 10, 25, 50, 100]
        }
        let rows = vg.run()
        for k in vg.distances {
            let cells = ["rnn", "lstm", "gru"].map { cell in
                "\(cell.uppercased()) \(String(format: "%.1e", rows.first { $0.cell == cell && $0.distance == k }?.relative ?? .nan))"
            }
            c.say("  k = \(String(k).padding(toLength: 4, withPad: " ", startingAt: 0)) " + cells.joined(separator: "   "))
        }
        let last = vg.distances.last ?? 1
        results["gradient_relative_rnn_k\(last)"] = rows.first { $0.cell == "rnn" && $0.distance == last }?.relative ?? .nan
        results["gradient_relative_lstm_k\(last)"] = rows.first { $0.cell == "lstm" && $0.distance == last }?.relative ?? .nan

        c.say(
            """

            2. Memory over distance. Read k + 1 random symbols, then name the first. Each model (about 20,000
            parameters) trains from scratch for every k; accuracy on new sequences (chance 0.125):
            """)
        var mem = LongRangeMemoryExperiment()
        mem.distances = c.quick ? [3, 12] : [5, 20, 40]
        mem.steps = c.quick ? 60 : 400
        let m = try mem.run()
        for k in mem.distances {
            let cells = ["RNN", "LSTM", "GRU", "transformer"].map { n in
                "\(n) \(String(format: "%.2f", m.first { $0.model == n && $0.distance == k }?.accuracy ?? .nan))"
            }
            c.say("  k = \(String(k).padding(toLength: 3, withPad: " ", startingAt: 0))  " + cells.joined(separator: "   "))
        }
        if let k = mem.distances.last {
            for n in ["RNN", "LSTM", "transformer"] {
                results["recall_accuracy_\(n.lowercased())_k\(k)"] = m.first { $0.model == n && $0.distance == k }?.accuracy ?? .nan
            }
        }

        c.say(
            """

            3. Parallelism. A transformer computes every position in the same large matrix products; a
            recurrent network must finish step t before step t + 1. Training speed of a 2-layer LSTM and a
            4-layer transformer with the same number of parameters, by sequence length:
            """)
        var par = ParallelismExperiment()
        if c.quick {
            par.lengths = [16, 64]; par.lstmHidden = 64; par.transformerWidth = 36; par.steps = 1
        } else {
            par.lengths = [32, 128, 256]
        }
        let p = try par.run()
        for t in par.lengths {
            guard let a = p.first(where: { $0.model == "LSTM" && $0.length == t }),
                let b = p.first(where: { $0.model == "transformer" && $0.length == t })
            else { continue }
            c.say(
                "  length \(String(t).padding(toLength: 4, withPad: " ", startingAt: 0)) LSTM \(Int(a.tokensPerSecond)) tokens/s, transformer \(Int(b.tokensPerSecond)) tokens/s (\(String(format: "%.1f", b.tokensPerSecond / a.tokensPerSecond))×)"
            )
            results["throughput_ratio_t\(t)"] = b.tokensPerSecond / a.tokensPerSecond
        }
        c.say(
            """

            Gates fix much of the vanishing gradient, but memory still has to pass through every step, and
            the steps cannot run in parallel: with the same parameters and the same minutes, the transformer
            sees more text and reaches further back. `lmkit experiment memory|gradients|throughput|quality`
            run the full versions (pictures included); `lmkit train rnn --cell lstm` trains a recurrent
            language model on Shakespeare with the GPT trainer's features.
            """)
        return results
    }
}
