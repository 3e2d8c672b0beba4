"""How much of int8's outcome on a golden is chance: convert each model with the built-in calibration set and with
random subsets of it, verify every artifact against the model's golden, and tabulate.

GPTQ's rounding decisions depend on the calibration inputs. Subsets of the same real text give artifacts whose
error is the same in kind but differs in which weights round which way; the spread of mean |Δlogit| and of the
per-list ranking check across them says how far one conversion's pass or fail on the int8 profile is a property of
the method and how far it is the draw. Stdlib only; needs a release build of cetool and the models (`make models`).

    python3 bench/int8_spread.py                        # the five real-weight models, seeds 1-3, 300 pairs each
    python3 bench/int8_spread.py --models minilm-l6-rr --seeds 1 2 3 4 5

Writes bench/results/int8-spread-<UTC time>.json and prints a table.
"""
from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import random
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS = ["minilm-l6-rr", "minilm-l6-ce", "minilm-l6-rr-electra", "minilm-l6-rr-roberta", "minilm-l6-rr-distilbert"]


def corpus_pairs() -> list[list[str]]:
    """The 384 corpus pairs of the built-in calibration set (Sources/CEQuant/CalibrationCorpus.swift)."""
    text = (ROOT / "Sources" / "CEQuant" / "CalibrationCorpus.swift").read_text(encoding="utf-8")
    body = text.split('#"""\n', 1)[1].split('\n"""#', 1)[0]
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def run(cmd: list[str]) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True)
    # verify exits 1 on a failed profile and still prints its report
    if p.returncode not in (0, 1) or not p.stdout.strip():
        raise SystemExit(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr}")
    return p.stdout


def one(cetool: str, model: pathlib.Path, golden: pathlib.Path, calibration: pathlib.Path | None, work: pathlib.Path) -> dict:
    out = work / "artifact"
    cmd = [cetool, "convert", str(model), "--dtype", "int8", "--output", str(out), "--force", "--json"]
    if calibration is not None:
        cmd += ["--calibration", str(calibration)]
    t = time.monotonic()
    conv = json.loads(run(cmd))
    seconds = time.monotonic() - t
    report = json.loads(run([cetool, "verify", str(out), "--golden", str(golden), "--json"]))
    shutil.rmtree(out)
    s = report["summary"]
    return {
        "passed": s["passed"], "size_ratio": conv["size_ratio"], "convert_seconds": round(seconds, 1),
        "mean_abs_delta_logit": s["mean_abs_delta_logit"], "max_abs_delta_logit": s["max_abs_delta_logit"],
        "min_spearman": s["min_spearman"], "top1_agreement": s["top1_agreement"], "ranked_lists": s["ranked_lists"],
        "lists_failing_ranking": s["lists_failing_ranking"],
        "reordered_pairs_beyond_near_tie": s["reordered_pairs_beyond_near_tie"],
        "failing_lists": sorted({l["id"] for st in report["sets"] for l in st.get("lists", [])
                                 if isinstance(l, dict) and l.get("ranking_passes") is False}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=MODELS, help="folders under .models/ with a golden under golden/")
    ap.add_argument("--seeds", nargs="*", type=int, default=[1, 2, 3])
    ap.add_argument("--corpus-only", action="store_true",
                    help="also convert with the 384 corpus pairs alone, in order (the built-in set without its 33 hand-written pairs)")
    ap.add_argument("--no-built-in", action="store_true", help="skip the conversion with the built-in set")
    ap.add_argument("--subset", type=int, default=300, help="pairs per random subset of the 384 corpus pairs")
    ap.add_argument("--cetool", default=str(ROOT / ".build" / "x86_64-unknown-linux-gnu" / "release" / "cetool"))
    args = ap.parse_args()
    pairs = corpus_pairs()
    rows = []
    with tempfile.TemporaryDirectory(prefix="int8-spread-") as tmp:
        work = pathlib.Path(tmp)
        for seed in args.seeds:
            sub = random.Random(seed).sample(pairs, args.subset)
            (work / f"cal{seed}.jsonl").write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in sub), encoding="utf-8")
        (work / "corpus.jsonl").write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8")
        draws: list[tuple[str, pathlib.Path | None]] = [] if args.no_built_in else [("built-in", None)]
        draws += [(f"subset seed {seed}, {args.subset} pairs", work / f"cal{seed}.jsonl") for seed in args.seeds]
        if args.corpus_only:
            draws.append((f"corpus only, {len(pairs)} pairs", work / "corpus.jsonl"))
        for m in args.models:
            model, golden = ROOT / ".models" / m, ROOT / "golden" / m
            for name, cal in draws:
                r = one(args.cetool, model, golden, cal, work)
                r.update(model=m, calibration=name)
                rows.append(r)
                print(f"{m:26} {r['calibration']:26} mean {r['mean_abs_delta_logit']:.4f} max {r['max_abs_delta_logit']:.3f} "
                      f"min Spearman {r['min_spearman']:.4f} lists failing {r['lists_failing_ranking']} "
                      f"{'pass' if r['passed'] else 'FAIL'} {','.join(r['failing_lists'])}", flush=True)
    summary = {}
    for m in args.models:
        rs = [r for r in rows if r["model"] == m]
        means = [r["mean_abs_delta_logit"] for r in rs]
        summary[m] = {"conversions": len(rs), "passed": sum(r["passed"] for r in rs),
                      "mean_abs_delta_logit_min": min(means), "mean_abs_delta_logit_max": max(means),
                      "mean_abs_delta_logit_mean": statistics.fmean(means)}
        print(f"{m:26} passes {summary[m]['passed']}/{len(rs)}; mean |Δlogit| {min(means):.4f}…{max(means):.4f}")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    git = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = ROOT / "bench" / "results" / f"int8-spread-{stamp}.json"
    out.write_text(json.dumps({"script": "bench/int8_spread.py", "commit": git, "date": stamp, "subset": args.subset,
                               "seeds": args.seeds, "draws": [d[0] for d in draws], "rows": rows, "summary": summary}, indent=1) + "\n", encoding="utf-8")
    print(out.relative_to(ROOT))


if __name__ == "__main__":
    main()
