import Foundation
@testable import LMKitChat
import LMKitTensor
import Testing

/// The Jinja2 subset on small templates whose output is known from Jinja2 itself (trim_blocks and
/// lstrip_blocks on, as Hugging Face renders chat templates).
@Suite struct JinjaTests {
    func render(_ source: String, _ context: [String: JinjaValue] = [:]) throws -> String {
        try JinjaTemplate(source).render(context, now: Date(timeIntervalSince1970: 1_795_000_000))
    }

    @Test func whitespaceControl() throws {
        #expect(try render("a\n  {% if true %}\n  b\n  {% endif %}\nc") == "a\n  b\nc")
        #expect(try render("a  {%- if true -%}  b  {%- endif -%}  c") == "abc")
        #expect(try render("{{ 'x' }}\n{{ 'y' }}") == "x\ny")
        #expect(try render("{% for i in range(3) %}{{ i }},{% endfor %}") == "0,1,2,")
        #expect(try render("  {%+ if true %}x{% endif %}") == "  x")
    }

    @Test func expressions() throws {
        let m: JinjaValue = .array([.dict(JinjaDict([("role", .string("user")), ("content", .string("  Hi  "))]))])
        #expect(try render("{{ messages[0]['content'] | trim }}|{{ messages[0].role | upper }}", ["messages": m]) == "Hi|USER")
        #expect(try render("{{ 'a' ~ 1 ~ none }}") == "a1None")
        #expect(try render("{{ [1, 2, 3][::-1] }}") == "[3, 2, 1]")
        #expect(try render("{{ 'abc'[1:] }}{{ 7 // 2 }}{{ 7 % 3 }}{{ 2 * 3 + 1 }}") == "bc317")
        #expect(try render("{{ x is defined }}{{ x is not defined }}{{ none is none }}{{ 'a' in 'cat' }}") == "FalseTrueTrueTrue")
        #expect(try render("{{ 'yes' if 1 > 2 else 'no' }}") == "no")
        #expect(try render("{{ ' a b '.strip().split(' ') }}{{ 'x,y'.split(',') | length }}") == "['a', 'b']2")
        #expect(try render("{{ {'a': 1, 'b': [true, none, 'é\"']} | tojson }}") == "{\"a\": 1, \"b\": [true, null, \"é\\\"\"]}")
        #expect(try render("{{ {'a': 1} | tojson(indent=2) }}") == "{\n  \"a\": 1\n}")
        // Control characters as Python's json.dumps writes them (JSONLiteral, shared with safetensors headers).
        #expect(JSONLiteral.string("a\u{08}\u{0C}\u{01}\n\\é") == #""a\b\f\u0001\n\\é""#)
    }

    @Test func statements() throws {
        let source = """
            {%- set ns = namespace(count=0) -%}
            {%- for m in messages if m.role != 'system' -%}
            {%- set ns.count = ns.count + 1 -%}
            {{ loop.index }}/{{ loop.length }}:{{ m.role }}{{ ',' if not loop.last }}
            {%- endfor -%}
            ={{ ns.count }}
            {%- macro greet(name, mark='!') %} hi {{ name }}{{ mark }}{% endmacro -%}
            {{ greet('you') }}
            """
        let messages: JinjaValue = .array(["system", "user", "assistant"].map { .dict(JinjaDict([("role", .string($0))])) })
        #expect(try render(source, ["messages": messages]) == "1/2:user,2/2:assistant=2 hi you!")
        #expect(try render("{% for x in [1,2,3,4] %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}") == "12")
        #expect(try render("{% for x in [] %}a{% else %}empty{% endfor %}") == "empty")
        #expect(try render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}") == "a=1;b=2;")
    }

    @Test func errorsNameTheConstruct() throws {
        #expect(throws: TemplateError.self) { try render("{% include 'x' %}") }
        do { _ = try render("{{ raise_exception('Conversation roles must alternate') }}"); Issue.record("no error") } catch let e
            as TemplateError
        {
            #expect(e.raisedByTemplate && e.message == "Conversation roles must alternate")
        }
        do { _ = try render("{{ x | nosuchfilter }}"); Issue.record("no error") } catch let e as TemplateError {
            #expect(e.message.contains("nosuchfilter"))
        }
        do { _ = try render("{% if x %}a"); Issue.record("no error") } catch let e as TemplateError {
            #expect(e.message.contains("endif"))
        }
    }
}
