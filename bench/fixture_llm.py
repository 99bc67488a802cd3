#!/usr/bin/env python3
"""A scripted OpenAI-compatible Chat Completions server that answers with a
fixture's labelled (true) changes, each quoting a sentence of the fixture.

usage: fixture_llm.py PORT FIXTURE_DIR MODE
MODE: true      the labelled changes only
      invented  the labelled changes plus invented ones (a quote not in the
                article, a party the article never names, an unknown kind)

The article is recognised by the sentences of the request that belong to a
fixture; the evidence for each labelled change is the fixture sentence that
names most of its names. Used by bench/extract-llm-score.sh."""
import json, os, re, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, DIR, MODE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
FIELDS = ("parties", "licensor", "licensee", "payer", "payee", "product", "platform",
          "status", "exclusive", "until", "effective")

def plain(raw, is_html):
    if not is_html:
        return raw
    raw = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", raw)
    raw = re.sub(r"(?i)<(br|/p|/li|/h\d|/div|/tr)\b[^>]*>", "\n", raw)
    return re.sub(r"<[^>]+>", " ", raw)

def sentences(text):
    out = []
    for line in text.splitlines():
        line = line.strip().lstrip("-*| ").strip()
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])", line):
            s = s.strip()
            if len(s) >= 12 and " " in s:
                out.append(s)
    return out

def fold(s):
    return re.sub(r"\s+", " ", s).strip()

def evidence(change, sents):
    names = [change.get(k) for k in ("product", "platform", "licensor", "licensee", "payer", "payee")]
    names += change.get("parties") or []
    names = [n.lower() for n in names if isinstance(n, str) and n]
    def score(s):
        low = s.lower()
        sc = sum(1 for n in names if n in low)
        for slot in ("until", "effective"):
            v = change.get(slot)
            if isinstance(v, str) and v[:4] in s:
                sc += 0.5
        return sc
    return max(sents, key=score) if sents else ""

FIXTURES = []
for f in sorted(os.listdir(DIR)):
    if not f.endswith(".json"):
        continue
    base = f[:-5]
    doc = next((base + e for e in (".txt", ".html", ".htm") if os.path.exists(os.path.join(DIR, base + e))), None)
    if doc is None:
        continue
    label = json.load(open(os.path.join(DIR, f)))
    raw = open(os.path.join(DIR, doc), encoding="utf-8").read()
    sents = sentences(plain(raw, not doc.endswith(".txt")))
    changes = []
    for c in label["changes"]:
        m = {k: c.get(k) for k in FIELDS}
        m["kind"] = c["kind"]
        m["parties"] = c.get("parties") or []
        m["status"] = c.get("status") or "changed"
        m["evidence"] = evidence(c, sents)
        changes.append(m)
    FIXTURES.append((base, [fold(s) for s in sents], changes))

def invented(changes):
    out = list(changes)
    real = changes[0]["evidence"] if changes else "The partners said nothing new today."
    blank = {k: None for k in FIELDS}
    out.append(dict(blank, kind="license", parties=["Oracle", "Zephyrine Holdings"], licensor="Zephyrine Holdings",
                    licensee="Oracle", status="started", exclusive=True, until="2031",
                    evidence="Zephyrine Holdings grants Oracle an exclusive licence to its weights through 2031."))
    out.append(dict(blank, kind="investment", parties=["Zephyrine Holdings"], status="started", evidence=real))
    out.append(dict(blank, kind="merger", parties=[], status="started", evidence=real))
    return out

class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0) or 0)))
        user = fold(next(m["content"] for m in body["messages"] if m["role"] == "user"))
        best = max(FIXTURES, key=lambda f: sum(1 for s in f[1] if s in user), default=None)
        changes = best[2] if best else []
        if MODE == "invented":
            changes = invented(changes)
        out = json.dumps({"id": "chatcmpl-fixture", "object": "chat.completion", "created": 0, "model": "fixture",
                          "choices": [{"index": 0, "finish_reason": "stop",
                                       "message": {"role": "assistant", "content": json.dumps({"changes": changes})}}],
                          "usage": {"prompt_tokens": len(user) // 4, "completion_tokens": 100}}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out))); self.end_headers(); self.wfile.write(out)

ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
