import LMKitNN

/// What makes a training run a fine-tuning run: the pre-trained model it starts from, how much of
/// it trains, and how its examples are read. Stored in ``TrainingConfig/fineTune`` (the config
/// file's `fine_tune`), so a resumed run rebuilds the same model and adapters.
public struct FineTuneConfig: Codable, Sendable, Equatable {
    /// How much of the model trains.
    public enum Method: String, Codable, Sendable, CaseIterable {
        /// Every weight (a GGUF model is expanded to float32 first).
        case full
        /// LoRA adapters on a frozen float32 base (a GGUF model is expanded to float32).
        case lora
        /// LoRA adapters on a base that stays in its GGUF blocks (memory ≈ the file's size).
        case qlora
    }

    /// The model to start from: a model folder, a GGUF file, or `gemma` (`model`).
    public var model: String
    /// Full fine-tuning, LoRA or QLoRA (`method`).
    public var method: Method
    /// The adapters' shape and targets, for LoRA and QLoRA (`lora`, peft's keys).
    public var lora: LoRAConfig?
    /// Train on prompts and user turns too, not only on completions and assistant turns (`train_on_prompt`).
    public var trainOnPrompt = false
    /// Validation examples; nil: `validation_fraction` of the data (`validation`).
    public var validation: String?
    /// A chat template replacing the model's own: a built-in family or a `.jinja` file (`template`).
    public var template: String?
    /// Passes over the training examples; when set, `max_steps` is derived from it once the examples
    /// are read (`epochs`).
    public var epochs: Double?
    /// Keep every weight that is exactly zero at the start at zero (full fine-tuning of a pruned
    /// model: recovery training that keeps its masks, unstructured or N:M) (`keep_sparsity`).
    public var keepSparsity = false

    /// A fine-tuning of `model` by `method` (`lora` for LoRA and QLoRA).
    public init(model: String, method: Method, lora: LoRAConfig? = nil) {
        (self.model, self.method, self.lora) = (model, method, lora)
    }

    enum CodingKeys: String, CodingKey {
        case model, method, lora, trainOnPrompt = "train_on_prompt", validation, template, epochs
        case keepSparsity = "keep_sparsity"
    }

    /// Reads the `fine_tune` object of a config file.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        method = try c.decode(Method.self, forKey: .method)
        lora = try c.decodeIfPresent(LoRAConfig.self, forKey: .lora)
        trainOnPrompt = try c.decodeIfPresent(Bool.self, forKey: .trainOnPrompt) ?? false
        validation = try c.decodeIfPresent(String.self, forKey: .validation)
        template = try c.decodeIfPresent(String.self, forKey: .template)
        epochs = try c.decodeIfPresent(Double.self, forKey: .epochs)
        keepSparsity = try c.decodeIfPresent(Bool.self, forKey: .keepSparsity) ?? false
    }
}
