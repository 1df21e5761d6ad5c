import Foundation
@testable import LMKitChat
import Testing
import TestSupport

/// 14 real chat templates (Llama 3.1/3.2/3.3, Qwen2.5, Qwen3, Gemma 2, Mistral Nemo, Mistral Small
/// 3.2, SmolLM3, Phi-3.5, DeepSeek-R1-Distill, Granite 3.3, LFM2.5, Kimi K2, as llama.cpp ships them)
/// rendered by transformers 5.23's `render_jinja_template` with Jinja2 3.1.6
/// (`Tools/golden/chat_templates.py`, date fixed at 2026-11-22): six conversations each, with and
/// without the generation prompt; the output must be byte-identical, and the conversations a template
/// rejects must raise its own message.
@Suite struct ChatTemplateGoldenTests {
    struct Golden: Decodable {
        struct Template: Decodable { let template: String; let source: String }
        struct Case: Decodable {
            let template: String, conversation: String
            let bos_token: String?, eos_token: String?
            let add_generation_prompt: Bool
            let messages: [[String: String]]
            let rendered: String?
            let error: [String: String]?
        }
        let templates: [Template]
        let cases: [Case]
    }

    static let now = Date(timeIntervalSince1970: 1_795_305_600)  // 2026-11-22 00:00 UTC

    @Test func realTemplatesRenderLikeTransformers() throws {
        let golden = try JSONDecoder().decode(
            Golden.self, from: Data(contentsOf: URL(fileURLWithPath: fixturePath("chat/templates_golden.json"))))
        var sources: [String: JinjaTemplate] = [:]
        for t in golden.templates { sources[t.template] = try JinjaTemplate(t.source) }
        var failures = 0
        setenv("TZ", "UTC", 1)
        for c in golden.cases {
            var context: [String: JinjaValue] = [
                "messages": .array(
                    c.messages.map { m in .dict(JinjaDict(["role", "content"].compactMap { k in m[k].map { (k, JinjaValue.string($0)) } }))
                    }),
                "add_generation_prompt": .bool(c.add_generation_prompt),
            ]
            if let b = c.bos_token { context["bos_token"] = .string(b) }
            if let e = c.eos_token { context["eos_token"] = .string(e) }
            let template = try #require(sources[c.template])
            switch Result(catching: { () throws(TemplateError) -> String in try template.render(context, now: Self.now) }) {
            case .success(let text):
                if text != c.rendered {
                    failures += 1
                    Issue.record(
                        "\(c.template) \(c.conversation) generation=\(c.add_generation_prompt): \(text.debugDescription.prefix(400)) vs \((c.rendered ?? "an error").debugDescription.prefix(400))"
                    )
                }
            case .failure(let e):
                if c.error?["message"] != e.message || !e.raisedByTemplate {
                    failures += 1
                    Issue.record("\(c.template) \(c.conversation): error \(e.message) vs \(c.error.map { "\($0)" } ?? "a rendering")")
                }
            }
        }
        #expect(failures == 0, "\(failures) of \(golden.cases.count) renderings differ")
    }
}
