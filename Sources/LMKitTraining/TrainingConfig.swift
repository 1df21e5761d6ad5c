/// Everything a language-model training run is set up with; the coding keys are the config file's
/// (`lmkit train gpt --config run.json`), and every field is also a command-line flag.
///
/// The defaults train a 3.2M-parameter character-level model (4 layers, 256 wide, 128 characters of
/// context), sized so that two CPU cores reach a Shakespeare validation loss near 1.6 nats/char in
/// about a quarter of an hour.
public struct TrainingConfig: Codable, Sendable, Equatable {
    // Model.
    /// "gpt" (GPT-2 architecture), "llama" (the Llama architecture: RMSNorm, rotary positions,
    /// SwiGLU MLP, untied output; what llama.cpp and vLLM run natively), or a recurrent network:
    /// "rnn", "lstm", "gru".
    public var architecture = "gpt"
    /// Transformer blocks, or stacked recurrent layers.
    public var layers = 4
    /// Width of each token vector; for a recurrent network, both the embedding and the hidden state size.
    public var width = 256
    /// Attention heads per block (transformers only; must divide `width`).
    public var heads = 4
    /// Key/value heads of a Llama (grouped-query attention; must divide `heads`); nil: `heads`.
    public var kvHeads: Int?
    /// Tokens per training window and the model's longest context (at least 2).
    public var context = 128
    /// Dropout on embeddings and residual branches (attention probabilities are not dropped).
    public var dropout = 0.1
    /// LSTM forget-gate bias at initialization (nil: PyTorch's uniform initialization).
    public var forgetBias: Double? = nil
    /// "char" (a character vocabulary built from the corpus), "gpt2" (the GPT-2 BPE asset), or the
    /// path of a tokenizer file or folder.
    public var tokenizer = "char"

    // Optimization.
    /// Windows per micro-batch (`batch_size`).
    public var batchSize = 32
    /// Micro-batches per optimizer step (the effective batch is batchSize × gradientAccumulation).
    public var gradientAccumulation = 1
    /// Peak learning rate, reached at the end of warm-up (`learning_rate`).
    public var learningRate = 2e-3
    /// Learning rate the cosine decay reaches at `maxSteps` (`min_learning_rate`).
    public var minLearningRate = 2e-4
    /// Steps of linear warm-up from 0 to `learningRate` (`warmup_steps`).
    public var warmupSteps = 100
    /// Optimizer steps in the whole run, where the cosine decay ends (`max_steps`).
    public var maxSteps = 3000
    /// AdamW's decoupled weight decay (`weight_decay`).
    public var weightDecay = 0.1
    /// AdamW's decay rate for the running mean of gradients.
    public var beta1 = 0.9
    /// AdamW's decay rate for the running mean of squared gradients.
    public var beta2 = 0.99
    /// Largest global gradient norm (0: no clipping).
    public var gradientClip = 1.0
    /// Recompute each transformer block's activations in backward instead of keeping them
    /// (``GradientCheckpointing``): less memory, about a third more compute. nil: on for QLoRA, whose
    /// point is memory (as peft's `prepare_model_for_kbit_training`), off otherwise (`gradient_checkpointing`).
    public var gradientCheckpointing: Bool?

    // Evaluation and stopping.
    /// Steps between evaluations; each writes the log and checkpoint, and the model if it improved (`eval_interval`).
    public var evalInterval = 100
    /// Validation batches averaged per evaluation.
    public var evalBatches = 20
    /// Stop after this many evaluations without a new best validation loss (0: never).
    public var patience = 5
    /// Stop after this many minutes of training (0: no limit).
    public var maxMinutes = 0.0
    /// Share of the corpus, from its end, held out for validation; in (0, 0.5) (`validation_fraction`).
    public var validationFraction = 0.1
    /// Seed of the weight initialization, and of the batch and dropout random streams.
    public var seed: UInt64 = 1337

    // Fine-tuning.
    /// Set when the run fine-tunes a pre-trained model on examples instead of pretraining a new one
    /// on a corpus; the model fields above (architecture, layers, width, heads, dropout, tokenizer)
    /// are then the loaded model's, and `context` is the longest example in tokens.
    public var fineTune: FineTuneConfig?

    // Distillation.
    /// Set when the run distills a teacher into the model being pretrained (`lmkit distill`): the
    /// loss mixes the teacher's soft targets with the text's next tokens, and the teacher's tokenizer
    /// is the model's (`tokenizer` is then ignored).
    public var distillation: DistillationConfig?

    enum CodingKeys: String, CodingKey {
        case architecture, layers, width, heads, kvHeads = "kv_heads", context, dropout, tokenizer, forgetBias = "forget_bias"
        case batchSize = "batch_size", gradientAccumulation = "gradient_accumulation", learningRate = "learning_rate"
        case minLearningRate = "min_learning_rate", warmupSteps = "warmup_steps", maxSteps = "max_steps"
        case weightDecay = "weight_decay", beta1, beta2, gradientClip = "gradient_clip"
        case gradientCheckpointing = "gradient_checkpointing"
        case evalInterval = "eval_interval", evalBatches = "eval_batches", patience, maxMinutes = "max_minutes"
        case validationFraction = "validation_fraction", seed, fineTune = "fine_tune", distillation
    }

    /// The defaults: a 4-layer, 256-wide character-level GPT with 128 tokens of context.
    public init() {}

    /// Reads a config file; keys it does not give keep their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var d = TrainingConfig()
        func read<T: Decodable>(_ key: CodingKeys, _ into: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { into = v }
        }
        try read(.architecture, &d.architecture); d.forgetBias = try c.decodeIfPresent(Double.self, forKey: .forgetBias)
        try read(.layers, &d.layers); try read(.width, &d.width); try read(.heads, &d.heads); try read(.context, &d.context)
        d.kvHeads = try c.decodeIfPresent(Int.self, forKey: .kvHeads)
        try read(.dropout, &d.dropout); try read(.tokenizer, &d.tokenizer); try read(.batchSize, &d.batchSize)
        try read(.gradientAccumulation, &d.gradientAccumulation); try read(.learningRate, &d.learningRate)
        try read(.minLearningRate, &d.minLearningRate); try read(.warmupSteps, &d.warmupSteps); try read(.maxSteps, &d.maxSteps)
        try read(.weightDecay, &d.weightDecay); try read(.beta1, &d.beta1); try read(.beta2, &d.beta2)
        try read(.gradientClip, &d.gradientClip); try read(.evalInterval, &d.evalInterval); try read(.evalBatches, &d.evalBatches)
        try read(.patience, &d.patience); try read(.maxMinutes, &d.maxMinutes); try read(.validationFraction, &d.validationFraction)
        try read(.seed, &d.seed)
        d.gradientCheckpointing = try c.decodeIfPresent(Bool.self, forKey: .gradientCheckpointing)
        d.fineTune = try c.decodeIfPresent(FineTuneConfig.self, forKey: .fineTune)
        d.distillation = try c.decodeIfPresent(DistillationConfig.self, forKey: .distillation)
        self = d
    }

    /// Whether the run recomputes activations in backward: `gradient_checkpointing`, or its default.
    public var recomputesActivations: Bool { gradientCheckpointing ?? (fineTune?.method == .qlora) }

    /// Checks the values before anything is built.
    public func validate() throws(TrainingError) {
        func need(_ ok: Bool, _ what: String) throws(TrainingError) { if !ok { throw TrainingError(what) } }
        try need(context > 1, "context must be at least 2")
        if let fineTune {
            try need((fineTune.method == .full) == (fineTune.lora == nil), "LoRA settings go with the lora and qlora methods only")
            do { try fineTune.lora?.validate() } catch { throw TrainingError(error.description) }
            try need(
                !fineTune.keepSparsity || fineTune.method == .full,
                "keeping a pruned model's zeros goes with full fine-tuning (LoRA leaves the base weights as they are)")
        } else {
            try need(layers > 0 && width > 0 && heads > 0, "layers, width, heads must be positive")
            try need(
                ["gpt", "llama", "rnn", "lstm", "gru"].contains(architecture),
                "architecture \"\(architecture)\" is not gpt, llama, rnn, lstm or gru")
            try need(!["gpt", "llama"].contains(architecture) || width % heads == 0, "width \(width) is not a multiple of heads \(heads)")
            if let kvHeads {
                try need(architecture == "llama", "key/value heads are a Llama setting")
                try need(kvHeads > 0 && heads % kvHeads == 0, "heads \(heads) is not a multiple of key/value heads \(kvHeads)")
            }
        }
        if let distillation {
            try need(fineTune == nil, "distillation pretrains a student; it does not go with fine-tuning")
            try need(architecture == "gpt", "the distilled student is a GPT (architecture gpt), not \(architecture)")
            do { try distillation.loss.validate() } catch { throw TrainingError(error.description) }
        }
        try need(dropout >= 0 && dropout < 1, "dropout \(dropout) must be in [0, 1)")
        try need(batchSize > 0 && gradientAccumulation > 0, "batch size and gradient accumulation must be positive")
        try need(
            learningRate > 0 && minLearningRate >= 0 && minLearningRate <= learningRate,
            "need 0 ≤ min learning rate (\(minLearningRate)) ≤ learning rate (\(learningRate)), learning rate > 0")
        try need(
            maxSteps > 0 && warmupSteps >= 0 && warmupSteps < maxSteps,
            "warmup steps (\(warmupSteps)) must be at least 0 and less than max steps (\(maxSteps))")
        try need(evalInterval > 0 && evalBatches > 0 && patience >= 0 && maxMinutes >= 0, "eval interval and eval batches must be positive")
        try need(
            beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && weightDecay >= 0 && gradientClip >= 0,
            "betas in [0, 1), weight decay and clip ≥ 0")
    }
}
