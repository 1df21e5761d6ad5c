import ArgumentParser
import LMKitAssets
import LMKitEmbeddings
import LMKitTour

/// `lmkit embed`: word vectors — similarity, neighbours, analogies.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Word vectors: similarity, nearest neighbours, analogies (GloVe 6B 50d by default); sentence embeddings.",
        subcommands: [Sentence.self, Similarity.self, Similar.self, Analogy.self, DoesntMatch.self, Evaluate.self, Train.self, Plot.self]
    )

    /// Where the vectors come from.
    struct Vectors: ParsableArguments {
        @Option(
            name: .long,
            help: "Vector file: GloVe text, word2vec text or binary, or a .npy matrix (with --words). Default: the GloVe 6B 50d asset.")
        var vectors: String?

        @Option(name: .long, help: "Word list for a .npy matrix, one word per line.")
        var words: String?

        @Option(name: .long, help: "File format: glove, word2vec, word2vec-binary (default: detected).")
        var format: String?

        func load(_ file: String? = nil) throws -> WordVectors {
            guard let vectors = file ?? vectors else {
                let store = AssetStore()
                return try WordVectors(
                    numpy: try store.path(.glove, "glove_6B_50d_emb.npy"),
                    words: try store.path(.glove, "glove_6B_50d_words.txt"))
            }
            if vectors.hasSuffix(".npy") {
                guard let words else {
                    throw ValidationError("--vectors \(vectors) is a NumPy matrix: give its word list with --words FILE")
                }
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
        for r in results { print("\(r.word.padding(width))  \(Format.fixed(r.score, 4))") }
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
            if json { try printJSON(["similarity": s]) } else { print(Format.fixed(s, 4)) }
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
            let results =
                method == "add"
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
                print(
                    "\(name.padding(16)) Spearman \(Format.fixed(p.spearman, 4)) (p \(p.spearmanP))  Pearson \(Format.fixed(p.pearson, 4))  OOV \(Format.fixed(p.oovRatio, 1))% of \(p.pairs + p.oov) pairs"
                )
            }
            print("\nGoogle analogies, 3CosAdd over the \(analogies.restrictVocab) most frequent words:")
            for s in analogies.sections {
                print("  \(s.section.padding(28)) \(Format.fixed(s.accuracy * 100, 1))%  (\(s.correct)/\(s.correct + s.incorrect))")
            }
            print(
                "  \("total".padding(28)) \(Format.fixed(analogies.accuracy * 100, 1))%  (\(analogies.correct)/\(analogies.correct + analogies.incorrect)); \(Format.fixed(analogies.oovRatio, 1))% of questions out of vocabulary"
            )
        }
    }
}
