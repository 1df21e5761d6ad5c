import ArgumentParser
import LMKitBench
import LMKitEmbeddings
import LMKitTour

extension EmbedCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train word vectors on a text corpus (word2vec skip-gram or CBOW, or GloVe).",
            discussion: """
                The corpus is plain text, one sentence per line, tokens separated by whitespace (as gensim's
                LineSentence); --lowercase folds case. Vectors are written as word2vec binary, or word2vec
                text when --out ends in .txt. Progress (epoch, words/s, ETA; GloVe: cost per epoch) goes to
                standard error. Defaults per method: word2vec window 5, 5 epochs, alpha 0.025; GloVe (as its demo.sh)
                window 15, 15 epochs, learning rate 0.05 (AdaGrad), x_max 10 (--negative and --sample are word2vec's).
                --json prints {"method": String, "words": Int, "vocabulary": Int, "epochs": Int,
                  "seconds": Double, "wordsPerSecond": Double, "out": String}
                (words: corpus tokens; seconds: training time; wordsPerSecond: words × epochs / seconds).
                """)
        @Argument(help: "The corpus file.") var corpus: String
        @Option(help: "Where to write the vectors.") var out: String
        @Option(help: "skipgram, cbow or glove.") var method = "skipgram"
        @Option(help: "Vector size.") var dim = 100
        @Option(help: "Maximum context distance (default: 5, GloVe 15).") var window: Int?
        @Option(help: "Negative samples per positive.") var negative = 5
        @Option(help: "Subsampling threshold for frequent words (0: off).") var sample = 1e-3
        @Option(name: .customLong("min-count"), help: "Ignore words rarer than this.") var minCount = 5
        @Option(help: "Passes over the corpus (default: 5, GloVe 15).") var epochs: Int?
        @Option(help: "Learning rate (word2vec: 0.025, falling linearly to 0.0001; GloVe: 0.05, AdaGrad).") var alpha: Double?
        @Option(help: "Training threads (default: all cores).") var threads: Int?
        @Option(
            name: .customLong("x-max"),
            help:
                "GloVe: co-occurrence count at which the weight reaches 1 (10 as GloVe's demo.sh; the paper used 100 on billions of words)."
        ) var xMax = 10.0
        @Option(help: "Random seed.") var seed: UInt64 = 1
        @Flag(help: "Lower-case the corpus.") var lowercase = false
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard Word2Vec.Method(rawValue: method) != nil || method == "glove" else {
                throw ValidationError("--method must be skipgram, cbow or glove")
            }
            guard dim > 0, (window ?? 1) > 0, negative > 0, (epochs ?? 1) > 0, minCount > 0 else {
                throw ValidationError("--dim, --window, --negative, --epochs and --min-count must be positive")
            }
            guard (alpha ?? 1) > 0, sample >= 0, xMax > 0 else {
                throw ValidationError("--alpha and --x-max must be positive and --sample not negative")
            }
            if let threads { guard threads > 0 else { throw ValidationError("--threads must be positive") } }
        }

        struct Output: Encodable {
            let method: String, words: Int, vocabulary: Int, epochs: Int
            let seconds: Double, wordsPerSecond: Double, out: String
        }

        func run() throws {
            let t0 = Timing.now()
            let data = try TrainingCorpus(path: corpus, minCount: minCount, lowercase: lowercase)
            if !json {
                printError(
                    "corpus: \(data.rawTokenCount) tokens, \(data.sentenceCount) sentences, \(data.words.count) words occur at least \(minCount) times (read in \(Format.fixed(Timing.now() - t0, 1)) s)"
                )
            }
            let bar = ProgressBar(enabled: !json)
            let t1 = Timing.now()
            let vectors: WordVectors
            let passes: Int
            if method == "glove" {
                var glove = GloVe()
                glove.dimension = dim; glove.seed = seed; glove.xMax = xMax
                if let window { glove.window = window }
                if let epochs { glove.epochs = epochs }
                if let alpha { glove.learningRate = alpha }
                if let threads { glove.threads = threads }
                passes = glove.epochs
                let quiet = json
                vectors = glove.train(data) { p in
                    if !quiet { printError("  epoch \(p.epoch)/\(p.epochs)  cost \(Format.fixed(p.cost, 4))") }
                }
            } else {
                var w2v = Word2Vec()
                w2v.method = Word2Vec.Method(rawValue: method)!
                w2v.dimension = dim; w2v.negative = negative; w2v.sample = sample; w2v.seed = seed
                if let window { w2v.window = window }
                if let epochs { w2v.epochs = epochs }
                if let alpha { w2v.alpha = alpha }
                if let threads { w2v.threads = threads }
                passes = w2v.epochs
                vectors = w2v.train(data) { p in bar.update(p) }
            }
            let seconds = Timing.now() - t1
            bar.finish()
            try vectors.write(to: out, format: out.hasSuffix(".txt") ? .word2vecText : .word2vecBinary)
            let rate = Double(data.rawTokenCount * passes) / seconds
            if json {
                try printJSON(
                    Output(
                        method: method, words: data.rawTokenCount, vocabulary: data.words.count, epochs: passes,
                        seconds: seconds, wordsPerSecond: rate, out: out))
            } else {
                print(
                    "trained \(method) in \(Format.fixed(seconds, 1)) s (\(Int(rate)) words/s); \(vectors.count) vectors of \(dim) written to \(out)"
                )
            }
        }
    }
}
