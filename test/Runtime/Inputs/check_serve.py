"""Drives a compiled model's --serve on 127.0.0.1 and checks what a client sees.

    check_serve.py BINARY CLI_GREEDY.json CLI_CHOICES.json

BINARY is started with --serve --port 0 (the port is read from its first
stderr line). CLI_GREEDY.json is `BINARY -p "Once upon a time" -n 12 --json`,
CLI_CHOICES.json is `BINARY -p "The king said" -n 10 --temp 0.9 --seed 5
--choices 3 --json`: the server must answer the same requests with the same
text. Uses OpenAI's own Python client for the API and http.client/sockets for
what a client library hides (status codes, disconnects). Exits non-zero with
a message on the first check that fails.
"""
import http.client
import json
import select
import signal
import socket
import subprocess
import sys
import threading
import time

import openai

BINARY, CLI_GREEDY, CLI_CHOICES = sys.argv[1:4]
BATCH, MAX_QUEUE, MAX_BODY, MAX_TOKENS = 4, 8, 4096, 250


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def start(*extra):
    p = subprocess.Popen([BINARY, "--serve", "--port", "0", "-t", "1", "--batch", str(BATCH), "--max-queue",
                          str(MAX_QUEUE), "--max-body", str(MAX_BODY), "--serve-max-tokens", str(MAX_TOKENS),
                          *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([p.stderr], [], [], 30)
    check(ready, "the server printed nothing in 30 s")
    line = p.stderr.readline()
    check(line.startswith("serving "), "unexpected first line: " + line)
    port = int(line.split("http://127.0.0.1:")[1].split(" ")[0])
    return p, port


def request(port, method, path, body=None, raw=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    c.request(method, path, body=data, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    payload = r.read()
    c.close()
    return r.status, payload


def health(port):
    status, payload = request(port, "GET", "/health")
    check(status == 200, "/health: %d" % status)
    return json.loads(payload)


def wait_idle(port, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        h = health(port)
        if h["in_flight"] == 0:
            return h
        time.sleep(0.05)
    fail("requests still in flight %d s after their clients left: %s" % (seconds, health(port)))


server, port = start()
try:
    client = openai.OpenAI(base_url="http://127.0.0.1:%d/v1" % port, api_key="none", max_retries=0)

    # /v1/models and /health.
    models = client.models.list()
    check([m.id for m in models.data] == ["tiny"], "models: %s" % models)
    check(health(port)["status"] == "ok", "health")

    # The same request as the command line gives the same text.
    greedy = json.load(open(CLI_GREEDY))
    r = client.completions.create(model="tiny", prompt="Once upon a time", max_tokens=12, temperature=0)
    check(r.choices[0].text == greedy["text"], "greedy: %r != CLI %r" % (r.choices[0].text, greedy["text"]))
    check(r.choices[0].finish_reason == "length", "finish_reason %s" % r.choices[0].finish_reason)
    check(r.usage.completion_tokens == 12 and r.usage.prompt_tokens == 4, "usage %s" % r.usage)
    check(r.object == "text_completion" and r.model == "tiny", "envelope %s" % r)

    # Streamed: server-sent events that add up to the same text, then usage.
    chunks = list(client.completions.create(model="tiny", prompt="Once upon a time", max_tokens=12,
                                            temperature=0, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    check(text == greedy["text"], "streamed %r != %r" % (text, greedy["text"]))
    check(len([c for c in chunks if c.choices and c.choices[0].text]) >= 5, "fewer chunks than tokens")
    check([c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length", "stream finish")
    check(chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 12, "stream usage")

    # n choices with a seed: the command line's --choices with the same seed.
    choices = json.load(open(CLI_CHOICES))["choices"]
    r = client.completions.create(model="tiny", prompt="The king said", max_tokens=10, temperature=0.9, seed=5, n=3)
    got = sorted(r.choices, key=lambda c: c.index)
    check([c.text for c in got] == [c["text"] for c in choices], "n=3: %s vs %s" % ([c.text for c in got], choices))
    check(len(set(c.text for c in got)) > 1, "three identical samples")

    # Stop sequences (never streamed past), penalties, logprobs.
    r = client.completions.create(model="tiny", prompt="Once upon a time", max_tokens=40, temperature=0, stop=[" have"])
    check(r.choices[0].finish_reason == "stop" and " have" not in r.choices[0].text, "stop: %s" % r.choices[0])
    s = "".join(c.choices[0].text for c in client.completions.create(
        model="tiny", prompt="Once upon a time", max_tokens=40, temperature=0, stop=[" have"], stream=True) if c.choices)
    check(s == r.choices[0].text, "streamed stop %r vs %r" % (s, r.choices[0].text))
    r = client.completions.create(model="tiny", prompt="Once upon a time", max_tokens=6, temperature=0, logprobs=3)
    lp = r.choices[0].logprobs
    check(len(lp.tokens) == 6 and len(lp.token_logprobs) == 6 and all(x <= 0 for x in lp.token_logprobs), "logprobs %s" % lp)
    check(all(len(t) == 3 for t in lp.top_logprobs), "top_logprobs %s" % lp.top_logprobs)
    check("".join(lp.tokens) == r.choices[0].text, "logprob tokens do not spell the text")
    # Greedy picks the most likely token: its logprob is the best of the top.
    check(all(abs(l - max(t.values())) < 1e-5 for l, t in zip(lp.token_logprobs, lp.top_logprobs)), "greedy logprobs")
    r = client.completions.create(model="tiny", prompt="Once upon a time", max_tokens=16, temperature=0,
                                  presence_penalty=1.5, frequency_penalty=1.0)
    check(r.choices[0].text != greedy["text"][:len(r.choices[0].text)], "penalties changed nothing")
    # logit_bias: +100 on token 464 ("The" in GPT-2's vocabulary) makes it every token.
    r = client.completions.create(model="tiny", prompt="Once upon a time", max_tokens=3, temperature=0,
                                  logit_bias={"464": 100})
    check(r.choices[0].text == "TheTheThe", "logit_bias: %r" % r.choices[0].text)

    # Concurrent requests share decoding steps and each gets its own answer.
    before = health(port)
    results = [None] * 6
    def one(i):
        results[i] = client.completions.create(model="tiny", prompt="Story number %d:" % i, max_tokens=30,
                                               temperature=0, extra_body={"ignore_eos": True})
    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(all(r is not None and r.usage.completion_tokens == 30 for r in results), "concurrent: %s" % results)
    after = health(port)
    steps, rows = after["steps"] - before["steps"], after["mean_batch"] * after["steps"] - before["mean_batch"] * before["steps"]
    check(rows / steps > 1.5, "concurrent requests were not batched (%.2f sequences per step)" % (rows / steps))

    # Bad requests: 4xx with a JSON error body, and the server carries on.
    def bad(body, status, words, raw=None, path="/v1/completions"):
        got, payload = request(port, "POST", path, body, raw)
        check(got == status, "%s: status %d, expected %d (%s)" % (body or raw, got, status, payload[:200]))
        err = json.loads(payload)["error"]
        check(words in err["message"], "%s: message %r lacks %r" % (body or raw, err["message"], words))
    bad(None, 400, "JSON object", raw=b"{not json")
    bad(None, 400, "JSON object", raw=b"[1, 2]")
    bad({"max_tokens": 4}, 400, '"prompt" is missing')
    bad({"prompt": 7}, 400, '"prompt" must be')
    bad({"prompt": [1, 2, 999999]}, 400, "token ids")
    bad({"prompt": "x", "top_p": 3}, 400, '"top_p"')
    bad({"prompt": "x", "temperature": "hot"}, 400, '"temperature"')
    bad({"prompt": "x", "max_tokens": MAX_TOKENS + 1}, 400, '"max_tokens" must be at most %d' % MAX_TOKENS)
    bad({"prompt": "x", "n": BATCH + 1}, 400, '"n" must be at most')
    bad({"prompt": "x", "stop": [""]}, 400, '"stop"')
    bad({"prompt": "x", "logit_bias": {"abc": 1}}, 400, '"logit_bias"')
    bad({"prompt": "x", "echo": True}, 400, '"echo" is not supported')
    bad({"prompt": "x", "stream": "yes"}, 400, '"stream"')
    bad({"prompt": ""}, 400, "empty")
    bad({"prompt": "word " * 300}, 400, "the model's context is 256")
    bad({"prompt": "x" * (MAX_BODY + 10)}, 413, "larger than %d bytes" % MAX_BODY)
    bad({"prompt": ["a"] * (MAX_QUEUE + 1)}, 503, "busy")
    bad({"prompt": "x"}, 404, "not supported", path="/v1/chat/completions")
    status, payload = request(port, "GET", "/v1/nothing")
    check(status == 404 and "no such endpoint" in json.loads(payload)["error"]["message"], "404 %s" % payload)
    # Invalid UTF-8 inside the JSON body.
    bad(None, 400, "JSON object", raw=b'{"prompt": "\xff\xfe"}')

    # A client that disconnects frees its sequences: a long request (8
    # prompts x 250 tokens, EOS ignored) dropped right after it is sent
    # stops decoding well before it would have finished.
    for stream in (False, True):
        before = wait_idle(port)["generated_tokens"]
        body = json.dumps({"prompt": ["Once upon a time"] * 8, "max_tokens": MAX_TOKENS, "temperature": 0,
                           "ignore_eos": True, "stream": stream}).encode()
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        if stream:
            s.settimeout(30)
            got = b""
            while b"data: " not in got:
                part = s.recv(4096)
                check(part, "no event before the disconnect")
                got += part
        else:
            time.sleep(0.05)
        s.close()
        generated = wait_idle(port)["generated_tokens"] - before
        check(generated < 8 * MAX_TOKENS, "stream=%s: all %d tokens were generated for a client that left" %
              (stream, generated))
    # ... and the server still answers.
    r = client.completions.create(model="tiny", prompt="Once upon a time", max_tokens=12, temperature=0)
    check(r.choices[0].text == greedy["text"], "after the disconnects")

    # A second server on the same port: one line, exit 1.
    p2 = subprocess.run([BINARY, "--serve", "--port", str(port)], capture_output=True, text=True, timeout=60)
    check(p2.returncode == 1 and "cannot listen on 127.0.0.1:%d" % port in p2.stderr, "port taken: %s" % p2.stderr)
finally:
    # SIGTERM with a long request in flight: it is cancelled, the server
    # stops cleanly and exits 0.
    def long_request():
        try:
            request(port, "POST", "/v1/completions", {"prompt": ["Once upon a time"] * 8, "max_tokens": MAX_TOKENS,
                                                      "ignore_eos": True})
        except Exception:
            pass
    pending = threading.Thread(target=long_request, daemon=True)
    pending.start()
    time.sleep(0.1)
    server.send_signal(signal.SIGTERM)
    try:
        rc = server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        fail("the server did not stop on SIGTERM")
rest = server.stderr.read()
check(rc == 0 and "stopped" in rest, "exit %d after SIGTERM: %s" % (rc, rest))
print("serve: all checks passed")
