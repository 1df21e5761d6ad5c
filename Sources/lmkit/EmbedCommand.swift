import ArgumentParser
import Dispatch
import Foundation
import LMKitAssets
import LMKitEmbeddings
import LMKitPlot
import LMKitTensor

/// `lmkit embed`: word vectors — similarity, neighbours, analogies.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Word vectors: similarity, nearest neighbours, analogies (GloVe 6B 50d by default).",
        subcommands: [Similarity.self, Similar.self, Analogy.self, DoesntMatch.self, Evaluate.self, Train.self, Plot.self]
    )

    /// Where the vectors come from.
    struct Vectors: ParsableArguments {
        @Option(name: .long, help: "Vector file: GloVe text, word2vec text or binary, or a .npy matrix (with --words). Default: the GloVe 6B 50d asset.")
        var vectors: String?

        @Option(name: .long, help: "Word list for a .npy matrix, one word per line.")
        var words: String?

        @Option(name: .long, help: "File format: glove, word2vec, word2vec-binary (default: detected).")
        var format: String?

        func load(_ file: String? = nil) throws -> WordVectors {
            guard let vectors = file ?? vectors else {
                let store = AssetStore()
                return try WordVectors(numpy: try store.path(.glove, "glove_6B_50d_emb.npy"),
                                       words: try store.path(.glove, "glove_6B_50d_words.txt"))
            }
            if vectors.hasSuffix(".npy") {
                guard let words else { throw ValidationError("--vectors \(vectors) is a NumPy matrix: give its word list with --words FILE") }
                return try WordVectors(numpy: vectors, words: words)
            }
            var f: WordVectors.Format?
            if let format {
                guard let parsed = WordVectors.Format(rawValue: format) else {
                    throw ValidationError("--format must be one of \(WordVectors.Format.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                f = parsed
            }
            return try WordVectors(contentsOf: vectors, format: f)
        }
    }

    struct Scored: Encodable { let word: String; let score: Double }

    static func show(_ results: [(word: String, score: Double)], json: Bool) throws {
        if json { return try printJSON(results.map { Scored(word: $0.word, score: $0.score) }) }
        let width = results.map(\.word.count).max() ?? 0
        for r in results { print("\(r.word.padding(width))  \(number(r.score, 4))") }
    }

    struct Similarity: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cosine similarity of two words.",
            discussion: "--json prints {\"similarity\": Double}.")
        @OptionGroup var source: Vectors
        @Argument(help: "The first word.") var a: String
        @Argument(help: "The second word.") var b: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let s = try source.load().similarity(a, b)
            if json { try printJSON(["similarity": s]) } else { print(number(s, 4)) }
        }
    }

    struct Similar: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The words nearest to a word (cosine similarity over the whole vocabulary).",
            discussion: "--json prints [{\"word\": String, \"score\": Double}, …], best first.")
        @OptionGroup var source: Vectors
        @Argument(help: "The word.") var word: String
        @Option(name: .short, help: "How many neighbours.") var n = 10
        @Option(name: .long, help: "Only consider the N most frequent words.") var restrict: Int?
        @Flag(help: "Print JSON.") var json = false

        func validate() throws { guard n > 0 else { throw ValidationError("-n must be positive") } }

        func run() throws {
            try show(try source.load().mostSimilar(positive: [word], count: n, restrictTo: restrict), json: json)
        }
    }

    struct Analogy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Solve a : b :: ? : c as a − b + c (king man woman → queen).",
            discussion: """
            3CosAdd (--method add, default) ranks words by cos(w, a − b + c) over normalized vectors;
            3CosMul (--method mul) by cos(w,a)·cos(w,c) / cos(w,b), cosines shifted to [0, 1].
            --json prints [{"word": String, "score": Double}, …], best first.
            """)
        @OptionGroup var source: Vectors
        @Argument(help: "a, as in king.") var a: String
        @Argument(help: "b, as in man.") var b: String
        @Argument(help: "c, as in woman.") var c: String
        @Option(name: .short, help: "How many answers.") var n = 5
        @Option(help: "add (3CosAdd) or mul (3CosMul).") var method = "add"
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard n > 0 else { throw ValidationError("-n must be positive") }
            guard ["add", "mul"].contains(method) else { throw ValidationError("--method must be add or mul") }
        }

        func run() throws {
            let v = try source.load()
            let results = method == "add"
                ? try v.mostSimilar(positive: [a, c], negative: [b], count: n)
                : try v.mostSimilarCosMul(positive: [a, c], negative: [b], count: n)
            try show(results, json: json)
        }
    }

    struct DoesntMatch: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "doesnt-match",
            abstract: "The word that fits least with the others.",
            discussion: "--json prints {\"word\": String}.")
        @OptionGroup var source: Vectors
        @Argument(help: "Two or more words.") var words: [String]
        @Flag(help: "Print JSON.") var json = false

        func validate() throws { guard words.count >= 2 else { throw ValidationError("give at least two words") } }

        func run() throws {
            let odd = try source.load().doesntMatch(words)
            if json { try printJSON(["word": odd]) } else { print(odd) }
        }
    }

    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate vectors as gensim does: WordSim-353, SimLex-999 and the Google analogies.",
            discussion: """
            Word pairs: Pearson and Spearman correlation of human scores with cosines, with p-values; pairs
            with a word outside the 300,000 most frequent are skipped and counted (OOV %). Analogies:
            3CosAdd accuracy per section and overall over the --restrict most frequent words (default
            30,000); questions outside that vocabulary are skipped and counted. Words are matched
            case-insensitively. The test sets come from the asset cache (gensim's test data).
            --json prints {"word_pairs": [{"file", "pearson", "pearsonP", "spearman", "spearmanP",
              "oovRatio", "pairs", "oov"}], "analogies": {"file", "restrictVocab", "sections": [{"section",
              "correct", "incorrect"}], "correct", "incorrect", "oovRatio"}}
            """)
        @OptionGroup var source: Vectors
        @Argument(help: "The vectors to evaluate (as --vectors; default: the GloVe asset).") var file: String?
        @Option(help: "Analogy candidates: the N most frequent words.") var restrict = 30_000
        @Flag(help: "Print JSON.") var json = false

        func validate() throws { guard restrict > 0 else { throw ValidationError("--restrict must be positive") } }

        struct Output: Encodable {
            let word_pairs: [WordVectors.WordPairScore]
            let analogies: WordVectors.AnalogyScore
        }

        func run() throws {
            let v = try source.load(file)
            let store = AssetStore()
            let pairs = try ["wordsim353.tsv", "simlex999.txt"].map { try v.evaluateWordPairs(try store.path(.gensimData, $0)) }
            let analogies = try v.evaluateAnalogies(try store.path(.gensimData, "questions-words.txt"), restrictTo: restrict)
            if json { return try printJSON(Output(word_pairs: pairs, analogies: analogies)) }
            for p in pairs {
                let name = p.file.split(separator: "/").last.map(String.init) ?? p.file
                print("\(name.padding(16)) Spearman \(number(p.spearman, 4)) (p \(p.spearmanP))  Pearson \(number(p.pearson, 4))  OOV \(number(p.oovRatio, 1))% of \(p.pairs + p.oov) pairs")
            }
            print("\nGoogle analogies, 3CosAdd over the \(analogies.restrictVocab) most frequent words:")
            for s in analogies.sections {
                print("  \(s.section.padding(28)) \(number(s.accuracy * 100, 1))%  (\(s.correct)/\(s.correct + s.incorrect))")
            }
            print("  \("total".padding(28)) \(number(analogies.accuracy * 100, 1))%  (\(analogies.correct)/\(analogies.correct + analogies.incorrect)); \(number(analogies.oovRatio, 1))% of questions out of vocabulary")
        }
    }
}

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
        @Option(name: .customLong("x-max"), help: "GloVe: co-occurrence count at which the weight reaches 1 (10 as GloVe's demo.sh; the paper used 100 on billions of words).") var xMax = 10.0
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
            let t0 = Clock.now()
            let data = try TrainingCorpus(path: corpus, minCount: minCount, lowercase: lowercase)
            if !json {
                printError("corpus: \(data.rawTokenCount) tokens, \(data.sentenceCount) sentences, \(data.words.count) words occur at least \(minCount) times (read in \(number(Clock.now() - t0, 1)) s)")
            }
            let bar = ProgressBar(enabled: !json)
            let t1 = Clock.now()
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
                    if !quiet { printError("  epoch \(p.epoch)/\(p.epochs)  cost \(number(p.cost, 4))") }
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
            let seconds = Clock.now() - t1
            bar.finish()
            try vectors.write(to: out, format: out.hasSuffix(".txt") ? .word2vecText : .word2vecBinary)
            let rate = Double(data.rawTokenCount * passes) / seconds
            if json {
                try printJSON(Output(method: method, words: data.rawTokenCount, vocabulary: data.words.count, epochs: passes,
                                     seconds: seconds, wordsPerSecond: rate, out: out))
            } else {
                print("trained \(method) in \(number(seconds, 1)) s (\(Int(rate)) words/s); \(vectors.count) vectors of \(dim) written to \(out)")
            }
        }
    }
}

/// A one-line progress bar on standard error (only on a terminal).
final class ProgressBar: @unchecked Sendable {
    let enabled: Bool
    init(enabled: Bool) { self.enabled = enabled && isatty(2) != 0 }

    func update(_ p: Word2Vec.Progress) {
        guard enabled else { return }
        let width = 30, filled = Int(p.fraction * Double(width))
        let eta = p.fraction > 0 ? p.elapsed * (1 - p.fraction) / p.fraction : 0
        let line = "\r  epoch \(p.epoch)/\(p.epochs) [\(String(repeating: "█", count: filled))\(String(repeating: " ", count: max(0, width - filled)))] \(Int(p.fraction * 100))%  \(Int(p.wordsPerSecond / 1000))k words/s  ETA \(Int(eta))s  "
        writeStandardError(line)
    }

    func finish() { if enabled { writeStandardError("\n") } }
}

func printError(_ text: String) { writeStandardError(text + "\n") }

/// Writes to file descriptor 2 (the C `stderr` global is not concurrency-safe in Swift 6).
func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

enum Clock {
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
}

extension EmbedCommand {
    struct Plot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw chosen words in 2-D (PCA of their vectors) as an SVG picture.",
            discussion: """
            Example: lmkit embed plot king queen man woman prince princess --pairs --out royals.svg
            --pairs joins the words two by two (king→queen, man→woman, …) so parallel offsets show.
            --json prints {"out": String, "explained": [Double, Double], "points": [{"word", "x", "y"}]}.
            """)
        @OptionGroup var source: Vectors
        @Argument(help: "The words to draw.") var words: [String]
        @Option(help: "The SVG file to write.") var out: String
        @Flag(help: "Join consecutive words in pairs with a line.") var pairs = false
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard words.count >= 2 else { throw ValidationError("give at least two words") }
            guard out.hasSuffix(".svg") else { throw ValidationError("--out must name an .svg file") }
        }

        struct Placed: Encodable { let word: String; let x: Double; let y: Double }
        struct Output: Encodable { let out: String; let explained: [Double]; let points: [Placed] }

        func run() throws {
            let v = try source.load()
            let (points, explained) = try v.principalComponents(of: words)
            let plotted = zip(words, points).enumerated().map { i, wp in
                ScatterPlot.Point(x: wp.1.x, y: wp.1.y, label: wp.0, group: pairs ? i % 2 : 0)
            }
            let segments = pairs ? stride(from: 0, to: words.count - 1, by: 2).map { ($0, $0 + 1) } : []
            let plot = ScatterPlot(title: "Word vectors, first two principal components",
                                   xLabel: "PC 1 (\(Int((explained.0 * 100).rounded()))% of variance)",
                                   yLabel: "PC 2 (\(Int((explained.1 * 100).rounded()))% of variance)",
                                   points: plotted, segments: segments)
            try AtomicFile.write(Array(plot.svg().utf8), to: out)
            if json {
                try printJSON(Output(out: out, explained: [explained.0, explained.1],
                                     points: zip(words, points).map { Placed(word: $0, x: $1.x, y: $1.y) }))
            } else {
                print("wrote \(out): \(words.count) words; the two axes explain \(number(explained.0 * 100, 1))% and \(number(explained.1 * 100, 1))% of their variance")
            }
        }
    }
}
