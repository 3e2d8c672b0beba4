#!/usr/bin/env python3
"""Load test for a rerank server on loopback: N concurrent clients, bounded in requests and seconds.

Each client thread keeps one HTTP/1.1 connection (http.client) and posts rerank requests of one query (the first
--query-words words of a text) and --docs documents (the first --doc-words words of a text each), texts drawn
(seeded) from golden/inputs/pairs.jsonl. Reports throughput (requests/s, pairs/s),
latency p50/p99 (ms) and, with --pid, the server's peak RSS (VmHWM of /proc/PID/status, MiB).

  python3 bench/serve_load.py --url http://127.0.0.1:8080 --api tei --clients 16 --requests 2000 --seconds 60 \
      --pid $(pgrep -n cetool) --label cetool-int8 --output bench/results/serve-....json

--api tei posts TEI's {"query", "texts"} to /rerank; --api cohere posts {"query", "documents"} to /v1/rerank
(infinity serves the latter, Cohere's shape). Embedding: --api tei-embed posts TEI's {"inputs": [--docs texts]} to
/embed; --api openai-embed posts {"model", "input": [...]} to /embeddings (infinity's route); throughput is then
texts/s. Stdlib only. Only loopback URLs are accepted.
"""
import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def texts():
    out = []
    with open(os.path.join(ROOT, "golden/inputs/pairs.jsonl"), encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            out += [row["query"], row["document"]]
    return [t for t in out if t.strip()]


def vm_hwm_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def percentile(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--api", choices=["tei", "cohere", "tei-embed", "openai-embed"], default="tei")
    ap.add_argument("--path", default=None, help="route (default: /rerank for tei, /v1/rerank for cohere, /embed for "
                    "tei-embed, /embeddings for openai-embed; infinity's rerank: /rerank)")
    ap.add_argument("--model", default=None, help="'model' member for --api cohere / openai-embed")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--docs", type=int, default=10, help="documents (embedding: texts) per request")
    ap.add_argument("--query-words", type=int, default=12, help="words of a text kept for a query")
    ap.add_argument("--doc-words", type=int, default=120, help="words of a text kept for a document")
    ap.add_argument("--requests", type=int, default=1000, help="requests in all, at most")
    ap.add_argument("--seconds", type=float, default=60, help="wall time at most")
    ap.add_argument("--warmup", type=int, default=4, help="requests sent (one client) before timing")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pid", type=int, default=None, help="server process id, for its peak RSS")
    ap.add_argument("--label", default="")
    ap.add_argument("--output", default=None, help="append the result to this JSON file (a list)")
    a = ap.parse_args()

    u = urllib.parse.urlparse(a.url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"loopback URLs only; got {u.hostname}")
    if not (1 <= a.clients <= 256 and 1 <= a.requests <= 100_000 and 0 < a.seconds <= 3600):
        sys.exit("bounds: 1..256 clients, 1..100000 requests, 0..3600 seconds")
    path = a.path or {"tei": "/rerank", "cohere": "/v1/rerank", "tei-embed": "/embed", "openai-embed": "/embeddings"}[a.api]
    embedding = a.api.endswith("-embed")
    pool = texts()
    rng = random.Random(a.seed)
    bodies = []
    for _ in range(min(a.requests, 512)):
        q = " ".join(rng.choice(pool).split()[:a.query_words])
        docs = [" ".join(t.split()[:a.doc_words]) for t in rng.sample(pool, a.docs)]
        body = {"tei": {"query": q, "texts": docs}, "cohere": {"query": q, "documents": docs},
                "tei-embed": {"inputs": docs, "truncate": True}, "openai-embed": {"input": docs}}[a.api]
        if a.api in ("cohere", "openai-embed") and a.model:
            body["model"] = a.model
        bodies.append(json.dumps(body).encode())

    def post(conn, body):
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        return r.status, data

    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
    for i in range(a.warmup):
        status, data = post(conn, bodies[i % len(bodies)])
        if status != 200:
            sys.exit(f"warm-up request failed: {status} {data[:200]!r}")
    conn.close()

    lock = threading.Lock()
    next_index = [0]
    latencies, errors = [], []
    deadline = time.monotonic() + a.seconds

    def client():
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
        while time.monotonic() < deadline:
            with lock:
                i = next_index[0]
                if i >= a.requests:
                    break
                next_index[0] += 1
            t0 = time.perf_counter()
            try:
                status, data = post(c, bodies[i % len(bodies)])
            except (OSError, http.client.HTTPException) as e:
                status, data = -1, str(e).encode()
                c.close()
                c = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
            dt = time.perf_counter() - t0
            with lock:
                if status == 200:
                    latencies.append(dt)
                else:
                    errors.append(f"{status} {data[:120]!r}")
        c.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start

    result = {
        "label": a.label, "url": a.url, "api": a.api, "clients": a.clients, "docs_per_request": a.docs,
        "query_words": a.query_words, "doc_words": a.doc_words,
        "requests_ok": len(latencies), "errors": len(errors), "first_errors": errors[:3],
        "seconds": round(wall, 3),
        "requests_per_second": round(len(latencies) / wall, 2),
        ("texts_per_second" if embedding else "pairs_per_second"): round(len(latencies) * a.docs / wall, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 99) * 1000, 2) if latencies else None,
        "server_peak_rss_mib": round(vm_hwm_mib(a.pid), 1) if a.pid and vm_hwm_mib(a.pid) is not None else None,
    }
    print(json.dumps(result))
    if a.output:
        existing = []
        if os.path.exists(a.output):
            with open(a.output) as f:
                existing = json.load(f)
        existing.append(result)
        with open(a.output, "w") as f:
            json.dump(existing, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
