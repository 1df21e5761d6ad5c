#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Where LMKit's real models and data live on disk, and a clear error when one is missing.
///
/// `scripts/fetch-assets` fills the cache folder (`$LMKIT_HOME`, default `~/.cache/lmkit`) from the
/// PyPI packages listed in the project's asset list; nothing downloads at run time. Code asks this
/// module for a file, and a missing file becomes an error that names the script to run.
public enum Asset: String, CaseIterable, Sendable {
    /// GPT-2 byte-level BPE: `vocab.json`, `merges.txt`, `gpt2.tiktoken`.
    case gpt2
    /// all-MiniLM-L6-v2, a 6-layer BERT sentence encoder (Hugging Face folder).
    case minilm
    /// Gemma 3 270M, Q4_K_M GGUF.
    case gemma
    /// GloVe 6B 50d vectors (`.npy`, Fortran order) and their word list.
    case glove
    /// Word-similarity and analogy test sets and small corpora from gensim's test data.
    case gensimData = "gensim-data"
    /// The complete works of Shakespeare, plain text.
    case shakespeare
    /// NLTK punkt sentence-splitter parameters for English.
    case punkt
    /// llama.cpp's tokenizer test data and chat templates, from the llama.cpp source in the
    /// llama-cpp-python 0.3.36 sdist: `vocab/ggml-vocab-{llama-bpe,qwen2,gpt-2,llama-spm}.gguf`
    /// (vocabulary-only GGUF files) with their `.gguf.inp` test texts and `.gguf.out` token ids,
    /// `templates/*.jinja` (Hugging Face chat templates) and llama.cpp's `LICENSE`.
    case llamaCpp = "llama-cpp"

    /// A file that must exist for the asset to count as present; a path relative to the asset's folder.
    public var marker: String {
        switch self {
        case .gpt2: return "vocab.json"
        case .minilm: return "model.safetensors"
        case .gemma: return "gemma-3-270m-q4_k_m.gguf"
        case .glove: return "glove_6B_50d_words.txt"
        case .gensimData: return "questions-words.txt"
        case .shakespeare: return "shakespeare.txt"
        case .punkt: return "english.py"
        case .llamaCpp: return "vocab/ggml-vocab-llama-bpe.gguf"
        }
    }

    /// What the asset is, in a few words.
    public var summary: String {
        switch self {
        case .gpt2: return "GPT-2 byte-level BPE vocabulary and merges"
        case .minilm: return "all-MiniLM-L6-v2 sentence encoder (BERT, 22.7M parameters)"
        case .gemma: return "Gemma 3 270M base model, Q4_K_M GGUF"
        case .glove: return "GloVe 6B 50-dimensional word vectors"
        case .gensimData: return "WordSim-353, SimLex-999, Google analogies, small corpora"
        case .shakespeare: return "complete works of Shakespeare (5 MB of text)"
        case .punkt: return "NLTK punkt parameters for English"
        case .llamaCpp: return "llama.cpp's tokenizer test vocabularies and chat templates (from llama-cpp-python 0.3.36)"
        }
    }
}

/// A missing asset, with what to run to get it.
public struct AssetError: Error, CustomStringConvertible, Sendable {
    /// The asset that was looked up.
    public let asset: Asset
    /// The file path that was expected but not found.
    public let path: String

    /// The message: the missing asset and path, and the `scripts/fetch-assets` command that fetches it.
    public var description: String {
        "missing asset '\(asset.rawValue)' (\(asset.summary)): expected \(path). Run `scripts/fetch-assets --only \(asset.rawValue)` (or `make demo`), or set LMKIT_HOME to the cache folder that has it."
    }
}

/// The asset cache folder and lookups inside it.
public struct AssetStore: Sendable {
    /// The cache folder.
    public let root: String

    /// The store at `root`, or at `$LMKIT_HOME`, or at `~/.cache/lmkit`.
    public init(root: String? = nil) {
        if let root {
            self.root = root
        } else if let env = getenv("LMKIT_HOME"), !String(cString: env).isEmpty {
            self.root = String(cString: env)
        } else {
            let home = getenv("HOME").map { String(cString: $0) } ?? "."
            self.root = home + "/.cache/lmkit"
        }
    }

    /// The folder of `asset`.
    public func folder(_ asset: Asset) -> String { root + "/" + asset.rawValue }

    /// Whether `asset` has been fetched.
    public func isPresent(_ asset: Asset) -> Bool {
        access(folder(asset) + "/" + asset.marker, F_OK) == 0
    }

    /// The path of `file` inside `asset`'s folder; throws ``AssetError`` naming the fetch command if absent.
    public func path(_ asset: Asset, _ file: String? = nil) throws(AssetError) -> String {
        let path = folder(asset) + "/" + (file ?? asset.marker)
        guard access(path, F_OK) == 0 else { throw AssetError(asset: asset, path: path) }
        return path
    }
}
