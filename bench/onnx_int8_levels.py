#!/usr/bin/env python3
"""Which ONNX form of cetool's int8 export ONNX Runtime runs fastest, and how each scores (formats/onnx.md, "int8").

    ref/bin/python bench/onnx_int8_levels.py --export DIR [--export LABEL=DIR ...] [--onnx LABEL=FILE ...]
        [--golden golden/minilm-l6-ce/golden.json] [--levels 0,4] [--pairs 128]

DIR is a `cetool export-onnx` folder of an int8 artifact (MatMulNBits bits 8). For each accuracy_level in --levels a
copy of its model.onnx with every MatMulNBits' accuracy_level set to it is scored (level 0: weights dequantized, fp32
arithmetic; 4: ONNX Runtime quantizes each input row per block to int8 and multiplies in int8). --onnx adds other
models on the same tokenizer (bench/export_onnx.py's model.onnx / model-int8.onnx: ONNX Runtime's quantize_dynamic,
DynamicQuantizeLinear + MatMulInteger).

Per model: the golden's cases (max / mean |Δlogit| against the PyTorch reference, the int8 profile's each-logit and mean
rules, golden.md) and its ranked lists (pairs reordered whose reference logits are more than 0.1 apart, the int8
near-tie bound); speed: the first --pairs pairs of golden/inputs/pairs.jsonl, batch 32, best of --repeat, wall seconds
and this process's CPU seconds (user + sys) over the timed runs, /proc/loadavg beside. One process, models in turn.
Writes bench/results/onnx-int8-levels-<stamp>.json.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import pathlib
import platform
import resource
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "golden"))
import roundtrip_onnx as rt  # noqa: E402  (OrtScorer: the folder's tokenizer + an ONNX Runtime session)


def with_level(src: pathlib.Path, dst: pathlib.Path, level: int) -> int:
    import onnx
    m = onnx.load(str(src / "onnx" / "model.onnx"))
    n = 0
    for node in m.graph.node:
        if node.op_type == "MatMulNBits":
            for a in node.attribute:
                if a.name == "accuracy_level":
                    a.i = level
                    n += 1
    folder(src, dst, lambda p: onnx.save(m, str(p)))
    return n


def folder(src: pathlib.Path, dst: pathlib.Path, write_model) -> None:
    """dst: src's tokenizer and config files (links) with onnx/model.onnx written by write_model."""
    (dst / "onnx").mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file():
            (dst / f.name).symlink_to(f.resolve())
    write_model(dst / "onnx" / "model.onnx")


def fidelity(scorer, golden: dict) -> dict:
    pairs = [[c["query"], c["document"]] for c in golden["cases"]]
    ref = np.array([c["logits"] for c in golden["cases"]], dtype=np.float64)
    got = scorer.logits(pairs).astype(np.float64)
    d = np.abs(got - ref)
    out = {"max_abs_dlogit": float(d.max()), "mean_abs_dlogit": float(d.mean()),
           "each_logit_rule_failures": int((d > 0.25 * np.maximum(1, np.abs(ref))).sum()),
           "mean_rule_bound": float(0.05 * ref.std()), "mean_rule_passes": bool(d.mean() <= 0.05 * ref.std())}
    act = golden["activation"]
    reordered, lists_failing = 0, []
    for r in golden.get("rankings", []):
        docs = r["documents"]
        s = np.array([x["score"] for x in sorted(r["result"], key=lambda x: x["corpus_id"])], dtype=np.float64)
        with np.errstate(divide="ignore"):
            # A saturated score (0 or 1) has no recoverable logit and is never judged (golden.md, "Near-ties").
            ref_l = np.where((s > 0) & (s < 1), np.log(s / (1 - s)), np.nan) if act == "sigmoid" else s
        mine = scorer.logits([[r["query"], doc] for doc in docs])[:, 0].astype(np.float64)
        bad = sum(1 for i in range(len(docs)) for j in range(len(docs))
                  if ref_l[i] - ref_l[j] > 0.1 and mine[i] < mine[j])
        reordered += bad
        if bad:
            lists_failing.append(r["id"])
    out["pairs_reordered_beyond_near_tie"] = reordered
    out["lists_failing"] = lists_failing
    return out


def speed(scorer, pairs: list, repeat: int) -> dict:
    scorer.logits(pairs[:32])  # warm-up
    best, cpu_total, wall_total = None, 0.0, 0.0
    for _ in range(repeat):
        r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        scorer.logits(pairs)
        t, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        cpu_total, wall_total = cpu_total + cpu, wall_total + t
        best = t if best is None else min(best, t)
    return {"best_wall_seconds": round(best, 3), "pairs_per_second": round(len(pairs) / best, 2),
            "cpu_seconds_per_run": round(cpu_total / repeat, 3), "cpu_per_wall": round(cpu_total / wall_total, 2),
            "loadavg": open("/proc/loadavg").read().split()[:3]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export", action="append", required=True, metavar="[LABEL=]DIR")
    ap.add_argument("--onnx", action="append", default=[], metavar="LABEL=FILE")
    ap.add_argument("--golden", default="golden/minilm-l6-ce/golden.json")
    ap.add_argument("--levels", default="0,4")
    ap.add_argument("--pairs", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    os.chdir(ROOT)
    import onnxruntime
    golden = json.loads(pathlib.Path(args.golden).read_text(encoding="utf-8"))
    rows = [json.loads(l) for l in pathlib.Path("golden/inputs/pairs.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    pairs = [[r["query"], r["document"]] for r in rows[:args.pairs]]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        models = []
        for spec in args.export:
            label, _, d = spec.rpartition("=")
            src = pathlib.Path(d)
            for lvl in [int(x) for x in args.levels.split(",")]:
                dst = pathlib.Path(tmp) / f"{label or src.name}-level{lvl}"
                n = with_level(src, dst, lvl)
                models.append((f"{label or 'cetool-int8'} accuracy_level {lvl}", dst, {"matmulnbits_nodes": n}))
        for spec in args.onnx:
            label, _, f = spec.partition("=")
            dst = pathlib.Path(tmp) / label
            src = pathlib.Path(args.export[0].rpartition("=")[2])
            folder(src, dst, lambda p, f=f: p.symlink_to(pathlib.Path(f).resolve()))
            models.append((label, dst, {"file": f}))
        for label, dst, extra in models:
            scorer = rt.OrtScorer(dst, golden["max_length"])
            rec = {"model": label, **extra, "fidelity": fidelity(scorer, golden), "speed": speed(scorer, pairs, args.repeat)}
            results.append(rec)
            print(json.dumps(rec), flush=True)
    out = {"generator": "bench/onnx_int8_levels.py", "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "golden": args.golden, "timing_pairs": len(pairs), "batch_size": 32, "ort_threads": 2,
           "onnxruntime": onnxruntime.__version__, "python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
           "cpu_flags": sorted({f for l in open("/proc/cpuinfo") if l.startswith("flags") for f in l.split()
                                if f in ("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16")}),
           "results": results}
    if not args.no_save:
        p = ROOT / "bench/results" / f"onnx-int8-levels-{_dt.datetime.now(_dt.timezone.utc).strftime('%Y%m%dT%H%M%SZ')}.json"
        p.write_text(json.dumps(out, indent=1) + "\n")
        print(f"results: {p}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
