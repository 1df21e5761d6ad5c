import LMKitAssets
import LMKitNN
import LMKitTensor
#if canImport(Glibc)
    import Glibc
#endif

/// Chapter 0: the engine underneath everything — tensors, automatic gradients, and training.
///
/// 1. Autograd on a three-number example, so the learner sees what `backward()` computes.
/// 2. A small MLP learns to separate two interleaved spirals, loss printed as it falls, and a map of
///    what it learned drawn in the terminal.
/// 3. The smallest language model there is — a bigram table over characters — trained on Shakespeare,
///    then asked to write. Everything later in the tour is this idea with a better model.
struct TensorsChapter: TourChapter {
    let name = "tensors"
    let title = "Tensors, gradients and training: the engine under every model"

    func run(_ c: TourContext) throws -> [String: Double] {
        var results: [String: Double] = [:]
        autogradDemo(c)
        results.merge(spirals(c)) { $1 }
        results.merge(try bigram(c)) { $1 }
        return results
    }

    func autogradDemo(_ c: TourContext) {
        c.say(
            """
            A tensor is an array of numbers with a shape. Models are functions built from tensor operations,
            and training needs the gradient of a loss with respect to every weight. LMKit records each
            operation on a tape as it runs; `backward()` replays the tape in reverse, applying one gradient
            rule per operation (the chain rule).

            Example: loss = sum(w * x) with x = [1, 2, 3]. The gradient of the loss with respect to w is x.
            """)
        let x = Tensor(shape: [3], scalars: [1, 2, 3] as [Float])
        let w = Tensor(shape: [3], scalars: [0.5, -1, 2] as [Float]).requiringGradient()
        let loss = (w * x).sum()
        loss.backward()
        c.say(
            "  loss = \(Format.fixed(loss.item(), 2)),  d loss / d w = \(w.gradient!.floats.map { Format.fixed(Double($0), 1) })  (= x, as expected)\n"
        )
    }

    /// Two interleaved spirals, 2 classes.
    static func spiralData(points: Int, generator: inout RandomGenerator) -> (x: Tensor, y: Tensor, labels: [Int]) {
        var coords: [Float] = []
        var labels: [Int] = []
        for i in 0..<points {
            let cls = i % 2
            let t = Double(i / 2) / Double(points / 2) * 3.2 + 0.3
            let r = t / 3.5
            let angle = t * 2.2 + Double(cls) * Double.pi
            coords.append(Float(r * cosine(angle) + 0.03 * generator.nextNormal()))
            coords.append(Float(r * sine(angle) + 0.03 * generator.nextNormal()))
            labels.append(cls)
        }
        return (Tensor(shape: [points, 2], scalars: coords), Tensor(indices: labels, shape: [points]), labels)
    }

    final class SpiralNet: Module {
        let fc1: Linear, fc2: Linear, fc3: Linear
        init(generator: inout RandomGenerator) {
            fc1 = Linear(2, 64, generator: &generator)
            fc2 = Linear(64, 64, generator: &generator)
            fc3 = Linear(64, 2, generator: &generator)
            super.init()
            register("fc1", fc1); register("fc2", fc2); register("fc3", fc3)
        }
        func callAsFunction(_ x: Tensor) -> Tensor { fc3(fc2(fc1(x).gelu()).gelu()) }
    }

    func spirals(_ c: TourContext) -> [String: Double] {
        c.say(
            """
            Now a real training loop. 400 points on two interleaved spirals, two classes. No straight line
            separates them; a small neural network (2 → 64 → 64 → 2, GELU) has to bend its boundary.
            Each step: forward pass, cross-entropy loss, backward pass, AdamW update.
            """)
        var g = RandomGenerator(seed: c.seed)
        let (x, y, labels) = Self.spiralData(points: 400, generator: &g)
        let net = SpiralNet(generator: &g)
        let optimizer = Adam.adamW(net.namedParameters(), learningRate: 0.01, weightDecay: 0.0)
        let steps = 600
        let schedule = WarmupCosineSchedule(peak: 0.01, floor: 0.001, warmupSteps: 20, totalSteps: steps)
        var first = 0.0, last = 0.0
        for step in 0..<steps {
            net.zeroGradients()
            let loss = net(x).crossEntropy(targets: y)
            loss.backward()
            optimizer.learningRate = schedule.learningRate(at: step)
            optimizer.step()
            if step == 0 { first = loss.item() }
            last = loss.item()
            if step % 100 == 0 || step == steps - 1 {
                c.say("  step \(String(step).leftPadded(3))  loss \(Format.fixed(loss.item(), 4))  \(bar(loss.item(), max: first))")
            }
        }
        let predicted = GradMode.withoutGradient { net(x).argmax(axis: 1).indexValues }
        let accuracy = Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(labels.count)
        c.say("  accuracy on the 400 points: \(Format.fixed(accuracy * 100, 1))%\n")
        c.say("What the network learned (shaded: it says class 1; o = class 0 point, x = class 1 point):")
        c.say(decisionMap(net, x: x, labels: labels))
        return ["spiral_initial_loss": first, "spiral_final_loss": last, "spiral_accuracy": accuracy]
    }

    func decisionMap(_ net: SpiralNet, x: Tensor, labels: [Int]) -> String {
        let cols = 56, rows = 22
        var grid: [Float] = []
        for r in 0..<rows {
            for col in 0..<cols {
                grid.append(Float(-1.1 + 2.2 * Double(col) / Double(cols - 1)))
                grid.append(Float(1.1 - 2.2 * Double(r) / Double(rows - 1)))
            }
        }
        let classes = GradMode.withoutGradient { net(Tensor(shape: [rows * cols, 2], scalars: grid)).argmax(axis: 1).indexValues }
        var canvas = classes.map { $0 == 1 ? Character("░") : Character(" ") }
        let points = x.floats
        for (i, label) in labels.enumerated() {
            let col = Int(((Double(points[2 * i]) + 1.1) / 2.2 * Double(cols - 1)).rounded())
            let row = Int(((1.1 - Double(points[2 * i + 1])) / 2.2 * Double(rows - 1)).rounded())
            if (0..<cols).contains(col) && (0..<rows).contains(row) { canvas[row * cols + col] = label == 1 ? "x" : "o" }
        }
        return (0..<rows).map { r in "  |" + String(canvas[(r * cols)..<((r + 1) * cols)]) + "|" }.joined(separator: "\n")
    }

    /// A bigram character model: logits for the next character = a row of a learned table.
    func bigram(_ c: TourContext) throws -> [String: Double] {
        c.say(
            """

            Finally, a language model. A language model predicts the next token from the ones before. The
            simplest possible one looks at one previous character only: a table with one row of scores per
            character (a "bigram" model). We train that table on the complete works of Shakespeare with the
            same loop: pick random positions, predict the next character, cross-entropy, backward, update.
            """)
        guard c.assets.isPresent(.shakespeare) else {
            c.say("  (skipped: the Shakespeare text is not in \(c.assets.root); run `scripts/fetch-assets --only shakespeare`)")
            return [:]
        }
        let path = try c.assets.path(.shakespeare)
        let bytes = try readBytes(path)
        var vocabulary = Array(Set(bytes)).sorted()
        if vocabulary.isEmpty { vocabulary = [10] }
        var index = [Int](repeating: 0, count: 256)
        for (i, b) in vocabulary.enumerated() { index[Int(b)] = i }
        let ids = bytes.map { index[Int($0)] }
        let v = vocabulary.count
        c.say(
            "  \(bytes.count) characters, \(v) distinct. A model that knows nothing scores ln(\(v)) = \(Format.fixed(logarithm(Double(v)), 2)) nats per character."
        )
        var g = RandomGenerator(seed: c.seed &+ 1)
        let table = Parameter(Tensor.zeros([v, v]))
        let optimizer = Adam([ParameterGroup([("table", table)], weightDecay: 0)], learningRate: 0.1)
        let batch = 8192, steps = 300
        var first = 0.0, last = 0.0
        for step in 0..<steps {
            var prev: [Int] = [], next: [Int] = []
            prev.reserveCapacity(batch); next.reserveCapacity(batch)
            for _ in 0..<batch {
                let i = Int(g.next() % UInt64(ids.count - 1))
                prev.append(ids[i]); next.append(ids[i + 1])
            }
            table.zeroGradient()
            let logits = table.value.gatheringRows(Tensor(indices: prev, shape: [batch]))  // (batch, V)
            let loss = logits.crossEntropy(targets: Tensor(indices: next, shape: [batch]))
            loss.backward()
            optimizer.step()
            if step == 0 { first = loss.item() }
            last = loss.item()
            if step % 50 == 0 || step == steps - 1 {
                c.say("  step \(String(step).leftPadded(3))  loss \(Format.fixed(loss.item(), 3))  \(bar(loss.item(), max: first))")
            }
        }
        // What follows 'q'?
        if let q = vocabulary.firstIndex(of: UInt8(ascii: "q")) {
            let probs = table.value.selected(axis: 0, index: q).softmax().floats
            let top = probs.enumerated().sorted { $0.element > $1.element }.prefix(3)
            let shown = top.map { "'\(printable(vocabulary[$0.offset]))' \(Format.fixed(Double($0.element) * 100, 1))%" }.joined(
                separator: ", ")
            c.say("  After 'q' the model expects: \(shown). It learned English spelling from counts alone.")
        }
        var text: [UInt8] = [UInt8(ascii: "T")]
        var current = index[Int(UInt8(ascii: "T"))]
        for _ in 0..<240 {
            let probs = table.value.selected(axis: 0, index: current).softmax().floats
            var u = Float(g.nextUniform()), choice = probs.count - 1
            for (i, p) in probs.enumerated() {
                u -= p
                if u <= 0 { choice = i; break }
            }
            text.append(vocabulary[choice])
            current = choice
        }
        c.say("  A sample, one character at a time:\n")
        c.say(
            String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(
                separator: "\n"))
        c.say(
            """

            Letters and word-like chunks, but no memory beyond one character. Everything later in the tour —
            word vectors, recurrent networks, attention, GPT — is about giving the model a longer and richer
            view of the context while keeping this same training loop.
            """)
        return ["bigram_initial_loss": first, "bigram_final_loss": last, "bigram_vocabulary": Double(v)]
    }
}

func bar(_ value: Double, max: Double) -> String {
    let n = max > 0 ? Int((value / max * 40).rounded()) : 0
    return String(repeating: "█", count: Swift.max(0, Swift.min(40, n)))
}

func printable(_ b: UInt8) -> String {
    switch b {
    case 10: return "\\n"
    case 32: return "␣"
    default: return String(UnicodeScalar(b))
    }
}

func readBytes(_ path: String) throws -> [UInt8] {
    let file = try MappedFile(path: path)
    guard let base = file.base else { return [] }
    return Array(UnsafeRawBufferPointer(start: base, count: file.size))
}

import RealModule
func cosine(_ x: Double) -> Double { Double.cos(x) }
func sine(_ x: Double) -> Double { Double.sin(x) }
func logarithm(_ x: Double) -> Double { Double.log(x) }

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: Swift.max(0, width - count)) + self }
}
