#!/usr/bin/env python3
"""The chat page of `lmkit serve` in a real browser: headless Chromium driven over the DevTools Protocol.

Usage: browser_chat.py LMKIT_BINARY OUTPUT_DIR

Python 3 standard library only (CI has the system python3 and nothing else), so the WebSocket that
the DevTools Protocol runs over is implemented here, as much of RFC 6455 as a client needs.

Starts `LMKIT_BINARY serve` on a free loopback port with a fresh OUTPUT_DIR/browser.sqlite (its log in
OUTPUT_DIR/server.log), waits for /health, starts `chromium --headless=new` (its log in
OUTPUT_DIR/chromium.log), then, in a 1280x800 page:
  * opens http://127.0.0.1:PORT/, types "What is the capital of France?" into #input and submits the
    form; waits (up to 120 s) until the last `.msg.assistant` bubble has text and its `.meta` line,
    which the page adds when the streamed reply is complete. A MutationObserver records every length
    the bubble's text had before then: a reply that grew at least once while it was shown is
    streamed (polling alone every 200 ms can miss a reply that takes 0.3 s);
  * reloads the page and waits until the saved conversation is listed in #conversations and reopened
    (#messages holds the question and the reply, #tokens the last message's tokens);
  * writes a screenshot to OUTPUT_DIR/browser-chat.png.
Prints one JSON line {"reply", "lengths_seen", "streamed", "conversations_after_reload", "screenshot"}
where lengths_seen is the bubble's text lengths in order, ending with the complete reply's.

Exit status: 0 every check passed; 1 a check failed (the reason on stderr); 3 skipped, because no
`chromium` or `chromium-browser` is on PATH or the one there exits before it opens DevTools (as
Ubuntu's snap wrapper does in a container); the reason is printed as "SKIPPED: ...".
The browser and the server are stopped in every case.
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

QUESTION = "What is the capital of France?"
SKIPPED = 3


class CheckFailed(Exception):
    pass


class Skipped(Exception):
    pass


def check(condition, what):
    if not condition:
        raise CheckFailed(what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, characters=2000) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()[-characters:]
    except OSError:
        return ""


# --- WebSocket (RFC 6455), client side -------------------------------------------------------------

class WebSocket:
    """A blocking WebSocket client: text messages out (masked, as a client must), whole messages in."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, url: str):
        check(url.startswith("ws://"), f"a ws:// DevTools URL, got {url!r}")
        address, _, path = url[len("ws://"):].partition("/")
        host, _, port = address.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.buffer = b""
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        deadline = time.time() + 10
        while b"\r\n\r\n" not in self.buffer:
            self._fill(deadline)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)  # what follows is already frames
        lines = head.decode("latin-1").split("\r\n")
        check(lines[0].split(" ")[1:2] == ["101"], f"the DevTools WebSocket handshake answered {lines[0]!r}")
        headers = {name.strip().lower(): value.strip() for name, _, value in (l.partition(":") for l in lines[1:])}
        accept = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        check(headers.get("sec-websocket-accept") == accept, "the handshake's Sec-WebSocket-Accept matches the key")

    def _fill(self, deadline):
        remaining = deadline - time.time()
        if remaining <= 0:
            raise CheckFailed("timed out waiting for the browser")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise CheckFailed("timed out waiting for the browser") from None
        if not chunk:
            raise CheckFailed("the browser closed the DevTools connection")
        self.buffer += chunk

    def _read(self, n, deadline) -> bytes:
        while len(self.buffer) < n:
            self._fill(deadline)
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _send_frame(self, opcode, payload: bytes):
        header = bytes([0x80 | opcode])  # FIN: never fragmented
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])  # 0x80: masked
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        mask = os.urandom(4)
        self.sock.sendall(header + mask + xor(payload, mask))

    def send(self, text: str):
        self._send_frame(0x1, text.encode())

    def receive(self, deadline) -> str:
        """The next whole data message; answers pings and skips pongs on the way."""
        parts, opcode = [], None
        while True:
            b0, b1 = self._read(2, deadline)
            fin, frame_opcode = b0 & 0x80, b0 & 0x0F
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._read(2, deadline), "big")
            elif n == 127:
                n = int.from_bytes(self._read(8, deadline), "big")
            mask = self._read(4, deadline) if b1 & 0x80 else None  # servers do not mask, but may
            payload = self._read(n, deadline)
            if mask:
                payload = xor(payload, mask)
            if frame_opcode == 0x8:
                raise CheckFailed("the browser closed the DevTools connection")
            if frame_opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if frame_opcode == 0xA:
                continue
            if frame_opcode != 0x0:  # the first frame of a message; continuation frames (0) follow it
                opcode = frame_opcode
            parts.append(payload)
            if fin:
                check(opcode == 0x1, f"a text message from the browser, got opcode {opcode}")
                return b"".join(parts).decode()

    def close(self):
        try:
            self._send_frame(0x8, b"")
        except OSError:
            pass
        self.sock.close()


def xor(data: bytes, mask: bytes) -> bytes:
    key = (mask * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(len(data), "big")


# --- DevTools Protocol ---------------------------------------------------------------------------

class DevTools:
    """Commands to one page target; events are kept until `wait_event` looks for them."""

    def __init__(self, url: str):
        self.ws = WebSocket(url)
        self.last_id = 0
        self.events = []

    def call(self, method, params=None, timeout=30):
        self.last_id += 1
        ident = self.last_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        deadline = time.time() + timeout
        while True:
            message = json.loads(self.ws.receive(deadline))
            if message.get("id") == ident:
                check("error" not in message, f"{method}: {message.get('error')}")
                return message["result"]
            if "method" in message:
                self.events.append(message["method"])

    def wait_event(self, name, timeout=60):
        deadline = time.time() + timeout
        while name not in self.events:
            message = json.loads(self.ws.receive(deadline))
            if "method" in message:
                self.events.append(message["method"])
        self.events.clear()

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CheckFailed(f"the page's script failed: {details.get('exception', {}).get('description') or details.get('text')}")
        return result["result"].get("value")

    def poll(self, what, expression, until, timeout=120, every=0.2):
        """Evaluates `expression` until `until(value)` holds; returns that value."""
        deadline = time.time() + timeout
        while True:
            value = self.evaluate(expression)
            if until(value):
                return value
            check(time.time() < deadline, f"{what} within {timeout} s; last seen: {json.dumps(value)[:500]}")
            time.sleep(every)

    def navigate(self, url):
        self.events.clear()
        result = self.call("Page.navigate", {"url": url})
        check("errorText" not in result, f"opening {url}: {result.get('errorText')}")
        self.wait_event("Page.loadEventFired")

    def reload(self):
        self.events.clear()
        self.call("Page.reload", {"ignoreCache": True})
        self.wait_event("Page.loadEventFired")


# --- The page's state, read in the page ----------------------------------------------------------

# The last assistant bubble: its own text (the .meta line is a child element and left out), whether
# it is complete, and whether the send has ended without completing it (the page then shows "Error: …").
REPLY_STATE = """(() => {
  const all = document.querySelectorAll('#messages .msg.assistant');
  const last = all[all.length - 1];
  if (!last) return { text: '', done: false, ended: false, lengths: window.lengthsSeen || [] };
  const text = Array.from(last.childNodes).filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.data).join('');
  const done = last.querySelector('.meta') !== null;
  return { text, done, ended: !done && !document.getElementById('sendButton').disabled, lengths: window.lengthsSeen || [] };
})()"""

# Records each length the last assistant bubble's text has until it is complete: the observer runs
# after every change to the DOM, so no intermediate state the page showed is missed.
RECORD_LENGTHS = """(() => {
  window.lengthsSeen = [];
  const messages = document.getElementById('messages');
  new MutationObserver(() => {
    const all = messages.querySelectorAll('.msg.assistant');
    const last = all[all.length - 1];
    if (!last || last.querySelector('.meta')) return;
    const n = last.textContent.length;
    if (n > 0 && window.lengthsSeen[window.lengthsSeen.length - 1] !== n) window.lengthsSeen.push(n);
  }).observe(messages, { childList: true, subtree: true, characterData: true });
})()"""

REOPENED_STATE = """(() => ({
  conversations: document.querySelectorAll('#conversations li').length,
  messages: document.getElementById('messages').textContent,
  tokens: document.querySelectorAll('#tokens span').length,
}))()"""


# --- Processes -----------------------------------------------------------------------------------

def start_server(binary, output):
    database = os.path.join(output, "browser.sqlite")
    for suffix in ("", "-wal", "-shm", "-journal"):  # a fresh database: the page reopens the newest conversation
        if os.path.exists(database + suffix):
            os.remove(database + suffix)
    port = free_port()
    log_path = os.path.join(output, "server.log")
    with open(log_path, "w") as log:
        server = subprocess.Popen([binary, "serve", "--port", str(port), "--database", database],
                                  stdout=subprocess.DEVNULL, stderr=log)
    return server, port, log_path


def wait_for_health(server, port, log_path):
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        check(server.poll() is None, f"the server exited with {server.returncode}: {tail(log_path)}")
        check(time.time() < deadline, f"the server answered /health within 120 s: {tail(log_path)}")
        time.sleep(0.2)


def find_browser():
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        raise Skipped("no chromium (neither `chromium` nor `chromium-browser` is on PATH)")
    return executable


def start_browser(executable, profile, output):
    """Chromium in its own process group (so that stopping it stops its renderers too), and the page's
    DevTools WebSocket URL. Port 0 and the DevToolsActivePort file it then writes, rather than a port
    picked here, so that no other process can take the port in between."""
    log_path = os.path.join(output, "chromium.log")
    with open(log_path, "w") as log:
        browser = subprocess.Popen([executable, "--headless=new", "--no-sandbox", "--disable-gpu",
                                    "--disable-dev-shm-usage",  # containers often have a 64 MB /dev/shm
                                    "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
                                    "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    port_file = os.path.join(profile, "DevToolsActivePort")
    deadline = time.time() + 60
    while True:
        if browser.poll() is not None:
            raise Skipped(f"no working chromium: {executable} exited with {browser.returncode} before opening "
                          f"DevTools: {tail(log_path, 300).strip()}")
        check(time.time() < deadline, f"chromium opened DevTools within 60 s: {tail(log_path)}")
        try:
            with open(port_file) as f:
                port = int(f.readline())
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return browser, pages[0]["webSocketDebuggerUrl"]
        except (OSError, ValueError):
            pass
        time.sleep(0.2)


def stop(process, group=False):
    """Stops `process`, or with `group` every process in its group (Chromium's renderers and helpers
    too, even when the browser itself has already exited)."""
    if process is None:
        return
    def signal_it(number):
        try:
            os.killpg(process.pid, number) if group else process.send_signal(number)
        except ProcessLookupError:
            pass
    if process.poll() is None or group:
        signal_it(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        signal_it(signal.SIGKILL)
        process.wait()


# --- The check -----------------------------------------------------------------------------------

def chat_in_the_browser(page, port, output):
    page.call("Page.enable")
    page.call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    page.navigate(f"http://127.0.0.1:{port}/")
    # The page's start-up script asks /health and lists the conversations; sending before it has
    # finished would race with it.
    page.poll("the page shows the model's name", "document.getElementById('status').textContent",
              lambda status: status.startswith("model: "), timeout=30)
    page.evaluate(RECORD_LENGTHS)
    page.evaluate(f"document.getElementById('input').value = {json.dumps(QUESTION)}; "
                  "document.getElementById('send').requestSubmit()")

    state = page.poll("a complete assistant reply (with its .meta line)", REPLY_STATE,
                      lambda s: (s["done"] and s["text"].strip()) or s["ended"])
    check(state["done"], f"the reply completed, but the page shows {state['text']!r}")
    reply, partial = state["text"], state["lengths"]
    streamed = len(partial) >= 2 and partial == sorted(partial)
    check(streamed, f"the reply was shown growing before it was complete (lengths seen: {partial})")

    page.reload()
    reopened = page.poll("the saved conversation, listed and reopened after a reload", REOPENED_STATE,
                         lambda s: s["conversations"] >= 1 and QUESTION in s["messages"] and s["tokens"] > 0)
    check(reopened["conversations"] == 1, f"one conversation listed after the reload, got {reopened['conversations']}")
    check(reply.strip() in reopened["messages"], f"the reopened conversation shows the reply {reply!r}")

    png = base64.b64decode(page.call("Page.captureScreenshot", {"format": "png"})["data"])
    check(png.startswith(b"\x89PNG\r\n\x1a\n"), "the screenshot is a PNG")
    screenshot = os.path.join(output, "browser-chat.png")
    with open(screenshot, "wb") as f:
        f.write(png)
    lengths = partial if partial and partial[-1] == len(reply) else partial + [len(reply)]
    return {"reply": reply, "lengths_seen": lengths, "streamed": streamed,
            "conversations_after_reload": reopened["conversations"], "screenshot": screenshot}


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    binary, output = sys.argv[1], os.path.abspath(sys.argv[2])
    os.makedirs(output, exist_ok=True)
    server = browser = page = None
    profile = tempfile.mkdtemp(prefix="lmkit-chromium-")
    try:
        executable = find_browser()
        server, port, log_path = start_server(binary, output)
        browser, url = start_browser(executable, profile, output)
        wait_for_health(server, port, log_path)
        page = DevTools(url)
        seen = chat_in_the_browser(page, port, output)
        check(server.poll() is None, "the server is still up")
        print(json.dumps(seen, ensure_ascii=False))
        return 0
    except Skipped as e:
        print(f"SKIPPED: {e}")
        return SKIPPED
    except CheckFailed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        if page:
            page.ws.close()
        stop(browser, group=True)
        stop(server)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
