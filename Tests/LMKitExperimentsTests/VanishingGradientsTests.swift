import Foundation
import LMKitExperiments
import Testing

/// The vanishing-gradient experiment measures what the study path claims: at initialization the
/// RNN's gradient k steps back falls fastest, the LSTM's (forget bias 1) slowest.
@Suite struct VanishingGradientsTests {
    @Test func rnnGradientsVanishFasterThanLSTMs() {
        var e = VanishingGradientsExperiment()
        e.hiddenSize = 16; e.inputSize = 4; e.sequenceLength = 30; e.batchSize = 4
        e.distances = [1, 10, 30]
        let rows = e.run()
        #expect(rows.count == 9)
        func relative(_ cell: String, _ k: Int) -> Double { rows.first { $0.cell == cell && $0.distance == k }?.relative ?? .nan }
        for cell in ["rnn", "lstm", "gru"] {
            #expect(relative(cell, 1) == 1)
            #expect(relative(cell, 30) < relative(cell, 10) && relative(cell, 10) < 1, "\(cell) should decay with k")
        }
        #expect(relative("rnn", 30) < relative("lstm", 30) / 100, "rnn \(relative("rnn", 30)) vs lstm \(relative("lstm", 30))")
        #expect(e.picture(rows).contains("<polyline"))
    }
}

@Suite struct ParallelismTests {
    @Test func bothModelsAreMeasuredAtEveryLength() throws {
        var e = ParallelismExperiment()
        e.lengths = [8, 16]; e.batchSize = 2; e.steps = 1; e.lstmHidden = 16; e.transformerWidth = 16
        let rows = try e.run()
        #expect(rows.count == 4)
        #expect(rows.allSatisfy { $0.tokensPerSecond > 0 && $0.parameters > 0 })
        #expect(Set(rows.map(\.model)) == ["LSTM", "transformer"])
        #expect(e.picture(rows).contains("<polyline"))
    }
}

@Suite struct LongRangeMemoryTests {
    /// At a short distance every model learns delayed recall; the budget of parameters is shared.
    @Test func shortDistancesAreLearnedByAll() throws {
        var e = LongRangeMemoryExperiment()
        e.distances = [2]; e.steps = 150; e.batchSize = 16; e.symbols = 4
        let rows = try e.run()
        #expect(rows.count == 4)
        for r in rows { #expect(r.accuracy > 0.9, "\(r.model): \(r.accuracy)") }
        let sizes = rows.map(\.parameters)
        #expect(Double(sizes.max()!) / Double(sizes.min()!) < 1.6, "\(sizes)")
        #expect(e.picture(rows).contains("chance"))
    }
}
