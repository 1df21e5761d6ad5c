import Foundation
import LMKitModels
import Testing

/// `config.json` files read into the decoder families' configurations: transformers 4 and 5
/// spellings, and errors that name the key at fault instead of a silent default.
@Suite struct DecoderConfigTests {
    static let llama =
        #"{"model_type": "llama", "vocab_size": 96, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 48"#

    func llama(_ extra: String) throws(ModelError) -> LlamaConfig {
        try LlamaConfig(json: Data((Self.llama + extra + "}").utf8), source: "config.json")
    }

    func error(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "no error"
    }

    @Test func defaultsAndBothRopeSpellings() throws {
        let plain = try llama("")
        #expect(plain.kvHeads == 4 && plain.headSize == 8 && plain.ropeBase == 10_000 && !plain.tieWordEmbeddings)
        #expect(try llama(#", "rope_theta": 500000"#).ropeBase == 500_000)  // an integer where a number is asked
        #expect(try llama(#", "rope_parameters": {"rope_theta": 1e6, "rope_type": "default"}"#).ropeBase == 1e6)
        let scaled = try llama(#", "rope_scaling": {"rope_type": "llama3", "factor": 8, "original_max_position_embeddings": 16}"#)
        #expect(scaled.llama3Scaling == Llama3RopeScaling(factor: 8, originalContext: 16))
        #expect(try llama(#", "eos_token_id": [5, 6], "head_dim": null"#).eosTokenID == 5)
    }

    @Test func aWrongTypeOrUnsupportedValueNamesTheKey() {
        #expect(error { _ = try llama(#", "rope_theta": "big""#) } == #"config.json: "rope_theta" must be a number"#)
        #expect(error { _ = try llama(#", "num_key_value_heads": 2.5"#) } == #"config.json: "num_key_value_heads" must be an integer"#)
        #expect(error { _ = try llama(#", "tie_word_embeddings": "yes""#) } == #"config.json: "tie_word_embeddings" must be true or false"#)
        #expect(
            error { _ = try llama(#", "rope_scaling": {"rope_type": "yarn", "factor": 4}"#) }.contains(
                #""rope_scaling": rope_type "yarn" is not supported"#))
        #expect(error { _ = try llama(#", "hidden_act": "gelu""#) }.contains(#""hidden_act": "gelu" is not supported (silu)"#))
        #expect(
            error { _ = try LlamaConfig(json: Data(#"{"model_type": "llama", "vocab_size": 9}"#.utf8), source: "c.json") }
                == #"c.json: "hidden_size" is missing"#)
        #expect(
            error { _ = try LlamaConfig(json: Data(#"{"model_type": "bert"}"#.utf8), source: "c.json") }.contains(
                #""model_type": "bert" is not a Llama-family model_type"#))
        #expect(error { _ = try LlamaConfig(json: Data("[1]".utf8), source: "c.json") }.hasPrefix("c.json: "))
    }

    @Test func gemmaReadsItsTextConfigAndRefusesSoftCapping() throws {
        let text =
            #"{"model_type": "gemma3_text", "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "intermediate_size": 32, "sliding_window_pattern": 2"#
        let nested = try Gemma3Config(json: Data((#"{"model_type": "gemma3", "text_config": "# + text + "}}").utf8), source: "config.json")
        #expect(nested.width == 16 && nested.globalLayers == [false, true] && nested.headSize == 4 && nested.tieWordEmbeddings)
        #expect(
            error { _ = try Gemma3Config(json: Data((text + #", "final_logit_softcapping": 30.0}"#).utf8), source: "config.json") }
                .contains(#""final_logit_softcapping": logit soft-capping is not supported"#))
        #expect(
            error {
                _ = try Gemma3Config(
                    json: Data((#"{"model_type": "gemma3", "text_config": "# + text + #", "rope_theta": true}}"#).utf8),
                    source: "config.json")
            }
                == #"config.json: "text_config.rope_theta" must be a number"#)
    }
}
