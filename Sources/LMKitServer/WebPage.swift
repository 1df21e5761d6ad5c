/// The chat page `lmkit serve` shows at `/`: one self-contained HTML file (no CDN, no build step)
/// talking to the same server's conversation API, with streamed replies, the list of saved
/// conversations, sampling settings, and the tokens of the last message.
enum WebPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>LMKit chat</title>
        <style>
          :root { --bg: #f6f6f3; --panel: #fff; --ink: #1d1d1b; --muted: #6b6b66; --accent: #2f5d8a; --line: #deded8; }
          * { box-sizing: border-box; }
          body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--ink); background: var(--bg); display: grid; grid-template-columns: 260px 1fr 280px; height: 100vh; }
          aside, section { overflow: auto; }
          aside { border-right: 1px solid var(--line); background: var(--panel); padding: 12px; }
          #side { border-left: 1px solid var(--line); border-right: none; }
          h1 { font-size: 16px; margin: 0 0 10px; } h2 { font-size: 13px; text-transform: uppercase; color: var(--muted); margin: 16px 0 6px; }
          button { font: inherit; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 6px; padding: 6px 12px; cursor: pointer; }
          button.plain { background: none; color: var(--accent); }
          #conversations { list-style: none; padding: 0; margin: 10px 0; }
          #conversations li { padding: 6px 8px; border-radius: 6px; cursor: pointer; display: flex; justify-content: space-between; gap: 6px; }
          #conversations li.active { background: #e6edf4; }
          #conversations li span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
          #conversations li small { color: var(--muted); }
          main { display: flex; flex-direction: column; height: 100vh; }
          #messages { flex: 1; overflow: auto; padding: 18px 24px; }
          .msg { max-width: 760px; margin: 0 0 12px; padding: 10px 14px; border-radius: 10px; white-space: pre-wrap; }
          .user { background: #e6edf4; margin-left: auto; } .assistant { background: var(--panel); border: 1px solid var(--line); }
          .meta { color: var(--muted); font-size: 12px; margin-top: 4px; }
          form { display: flex; gap: 8px; padding: 12px 24px; border-top: 1px solid var(--line); background: var(--panel); }
          textarea { flex: 1; font: inherit; padding: 8px; border: 1px solid var(--line); border-radius: 6px; resize: vertical; min-height: 44px; }
          label { display: block; margin: 8px 0 2px; font-size: 13px; color: var(--muted); }
          input[type=number], input[type=text] { width: 100%; font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 6px; }
          #tokens { display: flex; flex-wrap: wrap; gap: 3px; }
          #tokens span { font: 12px ui-monospace, monospace; background: #eef0e8; border: 1px solid var(--line); border-radius: 4px; padding: 1px 4px; white-space: pre; }
          #status { color: var(--muted); font-size: 12px; }
        </style>
        </head>
        <body>
        <aside>
          <h1>LMKit chat</h1>
          <button id="new">New conversation</button>
          <ul id="conversations"></ul>
          <div id="status"></div>
        </aside>
        <main>
          <div id="messages"></div>
          <form id="send">
            <textarea id="input" placeholder="Write a message (Enter sends, Shift+Enter for a new line)"></textarea>
            <button type="submit" id="sendButton">Send</button>
          </form>
        </main>
        <aside id="side">
          <h2>Settings</h2>
          <label for="temperature">Temperature</label><input id="temperature" type="number" min="0" max="2" step="0.1" value="0.7">
          <label for="topP">Top-p</label><input id="topP" type="number" min="0.01" max="1" step="0.05" value="0.95">
          <label for="maxTokens">Max tokens</label><input id="maxTokens" type="number" min="1" max="1024" step="1" value="200">
          <label for="system">System prompt (new conversations)</label><input id="system" type="text" placeholder="the model's default">
          <h2>Tokens of the last message</h2>
          <div id="tokens"></div>
        </aside>
        <script>
        const $ = (id) => document.getElementById(id);
        let current = null;
        function headers() {
          const h = { "Content-Type": "application/json" };
          const key = localStorage.getItem("lmkit-api-key");
          if (key) h["Authorization"] = "Bearer " + key;
          return h;
        }
        async function api(method, path, body) {
          const response = await fetch(path, { method, headers: headers(), body: body ? JSON.stringify(body) : undefined });
          if (response.status === 401) {
            const key = prompt("This server needs an API key:");
            if (key) { localStorage.setItem("lmkit-api-key", key); return api(method, path, body); }
          }
          const data = await response.json();
          if (!response.ok) throw new Error(data.error ? data.error.message : response.statusText);
          return data;
        }
        function bubble(role, text) {
          const div = document.createElement("div");
          div.className = "msg " + role;
          div.textContent = text;
          $("messages").appendChild(div);
          $("messages").scrollTop = $("messages").scrollHeight;
          return div;
        }
        async function refreshList() {
          const list = await api("GET", "/v1/conversations");
          const ul = $("conversations");
          ul.innerHTML = "";
          for (const c of list.data) {
            const li = document.createElement("li");
            li.dataset.id = c.id;
            if (c.id === current) li.className = "active";
            const title = document.createElement("span");
            title.textContent = c.title || "(new conversation)";
            const remove = document.createElement("small");
            remove.textContent = "✕";
            remove.title = "delete";
            remove.onclick = async (e) => { e.stopPropagation(); await api("DELETE", "/v1/conversations/" + c.id); if (c.id === current) { current = null; $("messages").innerHTML = ""; } refreshList(); };
            li.append(title, remove);
            li.onclick = () => open(c.id);
            ul.appendChild(li);
          }
          return list.data;
        }
        async function open(id) {
          current = id;
          const c = await api("GET", "/v1/conversations/" + id);
          $("messages").innerHTML = "";
          for (const m of c.messages) bubble(m.role, m.content);
          const last = c.messages[c.messages.length - 1];
          if (last) showTokens(last.content);
          refreshList();
        }
        async function showTokens(text) {
          const t = await api("POST", "/tokenize", { content: text });
          const box = $("tokens");
          box.innerHTML = "";
          t.pieces.forEach((piece, i) => { const s = document.createElement("span"); s.textContent = piece; s.title = "id " + t.tokens[i]; box.appendChild(s); });
        }
        async function send(text) {
          if (!current) {
            const system = $("system").value.trim();
            current = (await api("POST", "/v1/conversations", system ? { system } : {})).id;
          }
          bubble("user", text);
          const reply = bubble("assistant", "");
          $("sendButton").disabled = true;
          try {
            const response = await fetch("/v1/conversations/" + current + "/messages", {
              method: "POST", headers: headers(),
              body: JSON.stringify({ content: text, stream: true, temperature: Number($("temperature").value),
                                     top_p: Number($("topP").value), max_tokens: Number($("maxTokens").value) }) });
            if (!response.ok) { const e = await response.json(); throw new Error(e.error ? e.error.message : response.statusText); }
            const reader = response.body.getReader();
            const decoder = new TextDecoder();
            let buffer = "";
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              buffer += decoder.decode(value, { stream: true });
              let cut;
              while ((cut = buffer.indexOf("\n\n")) >= 0) {
                const line = buffer.slice(0, cut).replace(/^data: /, "");
                buffer = buffer.slice(cut + 2);
                if (line === "[DONE]") continue;
                const event = JSON.parse(line);
                if (event.error) throw new Error(event.error.message);
                if (event.delta) reply.textContent += event.delta.content;
                if (event.message) {
                  reply.textContent = event.message.content;
                  const meta = document.createElement("div");
                  meta.className = "meta";
                  meta.textContent = event.usage.completion_tokens + " tokens · " + event.usage.cached_tokens + " of " + event.usage.prompt_tokens + " prompt tokens from the cache" + (event.dropped_messages ? " · " + event.dropped_messages + " oldest messages left out" : "");
                  reply.appendChild(meta);
                  showTokens(event.message.content);
                }
                $("messages").scrollTop = $("messages").scrollHeight;
              }
            }
          } catch (e) {
            reply.textContent = "Error: " + e.message;
          } finally {
            $("sendButton").disabled = false;
            refreshList();
          }
        }
        $("send").onsubmit = (e) => { e.preventDefault(); const text = $("input").value.trim(); if (text) { $("input").value = ""; send(text); } };
        $("input").onkeydown = (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("send").requestSubmit(); } };
        $("new").onclick = () => { current = null; $("messages").innerHTML = ""; $("tokens").innerHTML = ""; refreshList(); $("input").focus(); };
        (async () => {
          try {
            const health = await (await fetch("/health")).json();
            $("status").textContent = "model: " + health.model;
            const list = await refreshList();
            if (list.length) await open(list[0].id);
          } catch (e) { $("status").textContent = "error: " + e.message; }
        })();
        </script>
        </body>
        </html>
        """#
}
