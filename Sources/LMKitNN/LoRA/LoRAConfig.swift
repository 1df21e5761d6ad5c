import Foundation

/// How a LoRA adapter is shaped and where it goes; the coding keys are peft's `adapter_config.json`
/// (`LoraConfig` in peft/tuners/lora/config.py), so a file either tool writes configures the other.
///
/// ```swift
/// var c = LoRAConfig(targets: .names(["q_proj", "v_proj"]))   // or .allLinear
/// c.rank = 16; c.alpha = 32                                     // scaling = alpha / rank = 2
/// ```
public struct LoRAConfig: Codable, Sendable, Equatable {
    /// Which linear layers get an adapter (`target_modules`).
    public enum Targets: Sendable, Equatable, Codable {
        /// Layers whose path is one of these names or ends with `.` + one of them (peft's list form).
        case names([String])
        /// Layers whose whole path matches this regular expression (peft's string form).
        case regex(String)
        /// Every linear layer but the output layer `lm_head` (peft's `"all-linear"`).
        case allLinear

        /// A list, `"all-linear"`, or any other string as a regular expression.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let list = try? c.decode([String].self) {
                self = .names(list)
            } else {
                let s = try c.decode(String.self)
                self = s == "all-linear" ? .allLinear : .regex(s)
            }
        }

        /// The form peft writes: a list, or a string.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .names(let names): try c.encode(names)
            case .regex(let pattern): try c.encode(pattern)
            case .allLinear: try c.encode("all-linear")
            }
        }
    }

    /// Rank of each update (`r`).
    public var rank = 8
    /// The update's scale numerator (`lora_alpha`): scaling = alpha / rank, or alpha / √rank with rsLoRA.
    public var alpha = 16.0
    /// Dropout on each adapter's input in training (`lora_dropout`).
    public var dropout = 0.05
    /// Where adapters go (`target_modules`).
    public var targets: Targets
    /// rsLoRA: scale by alpha / √rank, which keeps high ranks learning (`use_rslora`).
    public var useRSLoRA = false
    /// Whether the base layers store weights `[in, out]` (GPT-2's Conv1D; `fan_in_fan_out`). LMKit's
    /// layers are `[out, in]` either way; the flag tells peft how to merge.
    public var fanInFanOut = false
    /// The model the adapter was trained on (`base_model_name_or_path`).
    public var baseModel: String?
    /// peft's task (`task_type`): "CAUSAL_LM" for the decoders here.
    public var taskType: String? = "CAUSAL_LM"
    /// Ranks for layers matching these patterns (`rank_pattern`; peft matches `(.*\.)?(key)$`).
    public var rankPattern: [String: Int] = [:]
    /// Alphas for layers matching these patterns (`alpha_pattern`).
    public var alphaPattern: [String: Double] = [:]
    /// Layers left without an adapter although ``targets`` match them (`exclude_modules`).
    public var excluded: Targets?

    enum CodingKeys: String, CodingKey {
        case rank = "r", alpha = "lora_alpha", dropout = "lora_dropout", targets = "target_modules", useRSLoRA = "use_rslora"
        case fanInFanOut = "fan_in_fan_out", baseModel = "base_model_name_or_path", taskType = "task_type"
        case rankPattern = "rank_pattern", alphaPattern = "alpha_pattern"
        // Read to refuse what LMKit does not do, written with peft's values for what it does.
        case peftType = "peft_type", bias, useDoRA = "use_dora", modulesToSave = "modules_to_save"
        case layersToTransform = "layers_to_transform", inferenceMode = "inference_mode", initWeights = "init_lora_weights"
        case loraBias = "lora_bias", layerReplication = "layer_replication", targetParameters = "target_parameters"
        case trainableTokens = "trainable_token_indices", useQALoRA = "use_qalora", activatedLoRA = "alora_invocation_tokens"
        case excludeModules = "exclude_modules"
    }

    /// An adapter config for `targets` with the defaults above (rank 8, alpha 16, dropout 0.05).
    public init(targets: Targets) { self.targets = targets }

    /// Reads an `adapter_config.json`; peft options that change what the adapter computes and that
    /// LMKit does not implement (DoRA, trained biases, saved modules, a subset of layers) are errors
    /// naming the key.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func refuse(_ key: CodingKeys, _ why: String) throws {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: why)
        }
        if let type = try c.decodeIfPresent(String.self, forKey: .peftType), type != "LORA" {
            try refuse(.peftType, "peft_type \"\(type)\": only LORA adapters are supported")
        }
        if let bias = try c.decodeIfPresent(String.self, forKey: .bias), bias != "none" {
            try refuse(.bias, "bias \"\(bias)\": adapters that train biases are not supported (only \"none\")")
        }
        if try c.decodeIfPresent(Bool.self, forKey: .useDoRA) == true {
            try refuse(.useDoRA, "use_dora: DoRA adapters are not supported")
        }
        if let saved = try c.decodeIfPresent([String].self, forKey: .modulesToSave), !saved.isEmpty {
            try refuse(.modulesToSave, "modules_to_save \(saved): adapters that carry whole modules are not supported")
        }
        // Options that change what the adapter computes: present and set, they are refused by name.
        let unsupported: [(CodingKeys, String)] = [
            (.layersToTransform, "adapters on a subset of layers"), (.loraBias, "a bias on lora_B"),
            (.layerReplication, "replicated layers"), (.targetParameters, "adapters on parameters"),
            (.trainableTokens, "trainable token embeddings"), (.useQALoRA, "QA-LoRA"), (.activatedLoRA, "activated LoRA"),
        ]
        for (key, what) in unsupported where c.contains(key) {
            if try c.decodeNil(forKey: key) { continue }
            if let flag = try? c.decode(Bool.self, forKey: key), !flag { continue }
            if let list = try? c.decode([Int].self, forKey: key), list.isEmpty { continue }
            try refuse(key, "\(key.stringValue): \(what) is not supported")
        }
        targets = try c.decode(Targets.self, forKey: .targets)
        rank = try c.decodeIfPresent(Int.self, forKey: .rank) ?? 8
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha) ?? 8
        dropout = try c.decodeIfPresent(Double.self, forKey: .dropout) ?? 0
        useRSLoRA = try c.decodeIfPresent(Bool.self, forKey: .useRSLoRA) ?? false
        fanInFanOut = try c.decodeIfPresent(Bool.self, forKey: .fanInFanOut) ?? false
        baseModel = try c.decodeIfPresent(String.self, forKey: .baseModel)
        taskType = try c.decodeIfPresent(String.self, forKey: .taskType)
        rankPattern = try c.decodeIfPresent([String: Int].self, forKey: .rankPattern) ?? [:]
        alphaPattern = try c.decodeIfPresent([String: Double].self, forKey: .alphaPattern) ?? [:]
        excluded = try c.decodeIfPresent(Targets.self, forKey: .excludeModules)
        guard rank > 0 && rankPattern.values.allSatisfy({ $0 > 0 }) else { try refuse(.rank, "r must be positive"); return }
        guard dropout >= 0 && dropout < 1 else { try refuse(.dropout, "lora_dropout \(dropout) must be in [0, 1)"); return }
    }

    /// The keys peft writes, with its values for the options LMKit does not use.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("LORA", forKey: .peftType)
        try c.encode(taskType, forKey: .taskType)
        try c.encode(baseModel, forKey: .baseModel)
        try c.encode(rank, forKey: .rank)
        try c.encode(alpha, forKey: .alpha)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(targets, forKey: .targets)
        try c.encode(useRSLoRA, forKey: .useRSLoRA)
        try c.encode(fanInFanOut, forKey: .fanInFanOut)
        try c.encode(rankPattern, forKey: .rankPattern)
        try c.encode(alphaPattern, forKey: .alphaPattern)
        try c.encode(excluded, forKey: .excludeModules)
        try c.encode("none", forKey: .bias)
        try c.encode(false, forKey: .useDoRA)
        try c.encodeNil(forKey: .modulesToSave)
        try c.encodeNil(forKey: .layersToTransform)
        try c.encode(true, forKey: .inferenceMode)
        try c.encode(true, forKey: .initWeights)
    }

    /// Checks the values a user gives on the command line.
    public func validate() throws(LoRAError) {
        guard rank > 0 else { throw LoRAError("LoRA rank must be positive, got \(rank)") }
        guard alpha > 0 else { throw LoRAError("LoRA alpha must be positive, got \(alpha)") }
        guard dropout >= 0 && dropout < 1 else { throw LoRAError("LoRA dropout \(dropout) must be in [0, 1)") }
        if case .names(let names) = targets, names.isEmpty { throw LoRAError("no LoRA target modules given") }
    }

    /// Whether the layer at `path` (dotted, as the checkpoint names it) gets an adapter.
    public func targets(_ path: String) -> Bool {
        if let excluded, Self.matches(excluded, path) { return false }
        return Self.matches(targets, path)
    }

    static func matches(_ targets: Targets, _ path: String) -> Bool {
        switch targets {
        case .allLinear: return path != "lm_head" && !path.hasSuffix(".lm_head")
        case .names(let names): return names.contains { path == $0 || path.hasSuffix("." + $0) }
        case .regex(let pattern): return Self.fullMatch(pattern, path)
        }
    }

    /// Rank and scaling of the adapter at `path`, with `rank_pattern` / `alpha_pattern` applied.
    public func shape(at path: String) -> (rank: Int, scaling: Double) {
        func pattern<V>(_ table: [String: V]) -> V? {
            // peft takes the first key (in the file's order; here sorted, for determinism) that matches.
            table.keys.sorted().first { Self.fullMatch("(.*\\.)?(\($0))", path) }.flatMap { table[$0] }
        }
        let r = pattern(rankPattern) ?? rank
        let a = pattern(alphaPattern) ?? alpha
        return (r, useRSLoRA ? a / Double(r).squareRoot() : a / Double(r))
    }

    static func fullMatch(_ pattern: String, _ text: String) -> Bool {
        guard let re = try? NSRegularExpression(pattern: "^(?:" + pattern + ")$") else { return false }
        return re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}

/// A LoRA adapter that cannot be built, loaded or merged, with the reason.
public struct LoRAError: Error, CustomStringConvertible, Sendable {
    /// The reason, as a sentence for the user.
    public let description: String
    /// An error that reports `description`.
    public init(_ description: String) { self.description = description }
}
