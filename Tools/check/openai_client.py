#!/usr/bin/env python3
"""The official `openai` Python client (pinned in Tools/requirements-reference.txt) against `lmkit serve`.

Usage: openai_client.py LMKIT_BINARY DATABASE_PATH

Starts `LMKIT_BINARY serve` on a free loopback port with an API key and the given SQLite file,
waits for /health, then checks through the client:
  * models.list() names the served model;
  * chat.completions.create, non-streaming, greedy: an answer, a finish reason, token usage;
  * the same request streaming: the chunks' deltas join to the same text, the last chunk has a
    finish reason;
  * completions.create (non-streaming);
  * embeddings.create on two texts: two 384-dimensional unit vectors (MiniLM), when the server
    has the embedding model (otherwise the 503 it answers is checked instead);
  * error cases the client raises as its own exceptions: an unknown model (NotFoundError, 404),
    max_tokens 0 (BadRequestError, 400), a wrong API key (AuthenticationError, 401).
Prints one JSON line with what it saw; exits 1 on the first failed check.
"""
import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request

import openai


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def main() -> None:
    binary, database = sys.argv[1], sys.argv[2]
    port = free_port()
    log = open(database + ".log", "w")
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--database", database, "--api-key", "test-key"],
                              stdout=subprocess.DEVNULL, stderr=log, text=True)
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None:
                check(False, f"the server exited: {open(database + '.log').read()[-2000:]}")
            check(time.time() < deadline, "the server did not answer /health within 120 s")
            time.sleep(0.3)

        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="test-key", max_retries=0, timeout=120)
        seen = {}
        models = client.models.list()
        model = models.data[0].id
        check(len(models.data) == 1 and model, "models.list() returns the served model")
        seen["model"] = model

        messages = [{"role": "user", "content": "What is the capital of France?"}]
        reply = client.chat.completions.create(model=model, messages=messages, max_tokens=12, temperature=0)
        text = reply.choices[0].message.content
        check(reply.object == "chat.completion" and text and reply.choices[0].finish_reason in ("stop", "length"), "chat completion")
        check(reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0, "chat completion usage")
        seen["chat"] = text

        pieces, finish = [], None
        for chunk in client.chat.completions.create(model=model, messages=messages, max_tokens=12, temperature=0, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if chunk.choices and chunk.choices[0].finish_reason:
                finish = chunk.choices[0].finish_reason
        check("".join(pieces) == text, f"streamed text {''.join(pieces)!r} equals the non-streamed {text!r}")
        check(finish in ("stop", "length"), "the stream ends with a finish reason")
        seen["chunks"] = len(pieces)

        completion = client.completions.create(model=model, prompt="Once upon a time", max_tokens=8, temperature=0)
        check(completion.choices[0].text and completion.usage.completion_tokens > 0, "text completion")
        seen["completion"] = completion.choices[0].text

        try:
            embeddings = client.embeddings.create(model="all-MiniLM-L6-v2", input=["A cat sits on the mat.", "Stocks fell sharply."])
            vectors = [d.embedding for d in embeddings.data]
            check(len(vectors) == 2 and all(len(v) == 384 for v in vectors), "two 384-dimensional embeddings")
            check(all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-3 for v in vectors), "embeddings are unit vectors")
            seen["embedding_dimension"] = len(vectors[0])
        except openai.APIStatusError as e:
            check(e.status_code == 503, f"embeddings without a model answer 503, got {e.status_code}")
            seen["embedding_dimension"] = None

        try:
            client.chat.completions.create(model="no-such-model", messages=messages, max_tokens=4)
            check(False, "an unknown model is refused")
        except openai.NotFoundError as e:
            seen["unknown_model"] = e.status_code
        try:
            client.chat.completions.create(model=model, messages=messages, max_tokens=0)
            check(False, "max_tokens 0 is refused")
        except openai.BadRequestError as e:
            seen["max_tokens_0"] = e.status_code
        try:
            openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="wrong", max_retries=0).models.list()
            check(False, "a wrong API key is refused")
        except openai.AuthenticationError as e:
            seen["wrong_key"] = e.status_code
        check(server.poll() is None, "the server is still up")
        print(json.dumps(seen, ensure_ascii=False))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
