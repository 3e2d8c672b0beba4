"""llama.cpp beside cetool on the same cross-encoder: score fidelity against the reference golden, and speed on the
same pairs in one run (stdlib only; see bench/README.md, "llama.cpp").

  python3 bench/llamacpp.py --llama-embedding PATH/llama-embedding --gguf f16=M-f16.gguf --gguf q8_0=M-q8_0.gguf \
      --cetool .build-edge/release/cetool --cetool-model fp16=.models/minilm-l6-ce-fp16 --cetool-model int8=.models/minilm-l6-ce-int8

llama.cpp is not on PyPI as a binary: build `llama-embedding` from the sources llama-cpp-python's sdist vendors, and
convert the model with their convert_hf_to_gguf.py (commands in bench/README.md). Both tools run as processes with 2
threads on the same texts; each timing is the whole process (load included), best of --repeats. llama.cpp runs with
-c 512 -b 512 -ub 512, its fastest setting here: a sequence must fit one ubatch, and larger batches were slower (128
pairs, q8_0: 30.5 pairs/s at 512, 24.3 at 1024, 21.0 at 2048; llama.cpp attends over the whole batch with a mask).

Fidelity: every case of the golden (default golden/minilm-l6-ce/golden.json) whose reference encoding was not cut at
max_length, scored by `llama-embedding --pooling rank --embd-normalize -1` (the score is the classifier's raw output, the
golden's `logits`), and by `cetool predict --activation identity`.
Speed: the first --n-pairs pairs of golden/inputs/pairs.jsonl (cycling), as bench/run.py's main set, without the pairs
llama.cpp cannot take (longer than its 512-token context), the same list for both tools.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
EMBD_SEP = "<#sep#>"
CLS_SEP = "<#seq#>"


def llama_scores(binary: str, gguf: str, pairs: list[tuple[str, str]], threads: int) -> tuple[list[float], float]:
    prompt = EMBD_SEP.join(f"{q}{CLS_SEP}{d}" for q, d in pairs)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
        f.write(prompt)
        path = f.name
    try:
        t0 = time.perf_counter()
        out = subprocess.run([binary, "-m", gguf, "--pooling", "rank", "--embd-normalize", "-1", "-t", str(threads), "-f", path,
                              "--embd-separator", EMBD_SEP, "--cls-separator", CLS_SEP, "-c", "512", "-b", "512", "-ub", "512",
                              "--no-warmup"], capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    finally:
        os.unlink(path)
    if out.returncode != 0:
        raise SystemExit(f"llama-embedding failed ({out.returncode}): {out.stderr[-2000:]}")
    scores = [float(m.group(2)) for m in re.finditer(r"rerank score (\d+):\s+(-?[\d.]+)", out.stdout + out.stderr)]
    if len(scores) != len(pairs):
        raise SystemExit(f"llama-embedding printed {len(scores)} scores for {len(pairs)} pairs")
    return scores, seconds


def cetool_scores(binary: str, model: str, pairs: list[tuple[str, str]], threads: int) -> tuple[list[float], float]:
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".jsonl", delete=False) as f:
        for q, d in pairs:
            f.write(json.dumps({"query": q, "document": d}, ensure_ascii=False) + "\n")
        path = f.name
    try:
        t0 = time.perf_counter()
        out = subprocess.run([binary, "predict", model, "--pairs", path, "--activation", "identity", "--threads", str(threads),
                              "--batch-size", "32", "--no-progress"], capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    finally:
        os.unlink(path)
    if out.returncode != 0:
        raise SystemExit(f"cetool predict failed ({out.returncode}): {out.stderr[-2000:]}")
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
    if len(rows) == 1 and isinstance(rows[0], list):
        rows = rows[0]
    return [float(r["score"]) for r in rows], seconds


def spearman(a: list[float], b: list[float]) -> float:
    def ranks(x):
        order = sorted(range(len(x)), key=lambda i: x[i])
        r = [0.0] * len(x)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2
            i = j + 1
        return r
    ra, rb = ranks(a), ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = math.sqrt(sum((x - ma) ** 2 for x in ra))
    vb = math.sqrt(sum((y - mb) ** 2 for y in rb))
    return cov / (va * vb) if va and vb else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-embedding", required=True)
    ap.add_argument("--gguf", action="append", default=[], help="LABEL=FILE.gguf")
    ap.add_argument("--cetool", default=str(REPO / ".build-edge/release/cetool"))
    ap.add_argument("--cetool-model", action="append", default=[], help="LABEL=FOLDER")
    ap.add_argument("--golden", default=str(REPO / "golden/minilm-l6-ce/golden.json"))
    ap.add_argument("--pairs", default=str(REPO / "golden/inputs/pairs.jsonl"))
    ap.add_argument("--n-pairs", type=int, default=512)
    ap.add_argument("--speed-set", choices=["main", "golden"], default="main",
                    help="main: bench/run.py's main set (its pairs must be cases of --golden to know their length); "
                         "golden: the fidelity cases themselves")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None, help="JSON results (default bench/results/llamacpp-<UTC>.json)")
    args = ap.parse_args()

    golden = json.loads(pathlib.Path(args.golden).read_text(encoding="utf-8"))
    max_len = golden["max_length"]
    cases = [c for c in golden["cases"] if len(c["input_ids"]) < max_len]
    ref = [c["logits"][0] for c in cases]
    fid_pairs = [(c["query"], c["document"]) for c in cases]
    seed = [i for i, c in enumerate(cases) if c["id"].startswith("seed-")]

    if args.speed_set == "main":
        rows = [json.loads(l) for l in pathlib.Path(args.pairs).read_text(encoding="utf-8").split("\n") if l]
        fits = {(c["query"], c["document"]) for c in golden["cases"] if len(c["input_ids"]) < max_len}
        main_set = [(rows[i % len(rows)]["query"], rows[i % len(rows)]["document"]) for i in range(args.n_pairs)]
        speed_pairs = [p for p in main_set if p in fits]
    else:
        main_set = speed_pairs = fid_pairs

    systems = [("llama.cpp " + l, "llama", f) for l, f in (g.split("=", 1) for g in args.gguf)]
    systems += [("cetool " + l, "cetool", m) for l, m in (c.split("=", 1) for c in args.cetool_model)]
    results = {"golden": os.path.relpath(args.golden, REPO), "fidelity_cases": len(cases), "speed_set": args.speed_set,
               "speed_pairs": len(speed_pairs),
               "speed_pairs_dropped": len(main_set) - len(speed_pairs), "threads": args.threads, "systems": []}
    for label, kind, target in systems:
        run = (lambda p: llama_scores(args.llama_embedding, target, p, args.threads)) if kind == "llama" else \
              (lambda p: cetool_scores(args.cetool, target, p, args.threads))
        scores, _ = run(fid_pairs)
        deltas = [abs(a - b) for a, b in zip(scores, ref)]
        seed_rho = spearman([scores[i] for i in seed], [ref[i] for i in seed]) if len(seed) > 1 else float("nan")
        times = [run(speed_pairs)[1] for _ in range(args.repeats)]
        r = {"system": label, "target": target, "max_abs_delta_logit": max(deltas), "mean_abs_delta_logit": sum(deltas) / len(deltas),
             "seed_spearman": seed_rho, "seed_top1_same": max(seed, key=lambda i: scores[i]) == max(seed, key=lambda i: ref[i]),
             "seconds": times, "pairs_per_s": len(speed_pairs) / min(times)}
        results["systems"].append(r)
        print(f"{label:24s} |Δlogit| max {r['max_abs_delta_logit']:.4g} mean {r['mean_abs_delta_logit']:.4g}  seed Spearman "
              f"{seed_rho:.4f} top-1 {'same' if r['seed_top1_same'] else 'DIFFERENT'}  {r['pairs_per_s']:.1f} pairs/s "
              f"(best of {args.repeats}: {min(times):.2f} s)", flush=True)
    out = pathlib.Path(args.out) if args.out else REPO / "bench/results" / time.strftime("llamacpp-%Y%m%dT%H%M%SZ.json", time.gmtime())
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")


if __name__ == "__main__":
    main()
