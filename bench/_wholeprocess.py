"""Whole-process measurement for the real-size scripts (bench/qwen3_reranker.py, bench/deberta_base.py): each runtime
runs as its own process under /usr/bin/time -v, so wall seconds, CPU seconds (user + sys) and peak RSS cover loading,
tokenization and scoring alike; the load average is read before and after. On a shared machine the CPU seconds per
pair are the figure to compare: wall rates move with the other processes' load.
"""
from __future__ import annotations

import json
import pathlib
import re
import subprocess
import time

FLAGS = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16"]


def cpu_flags() -> list[str]:
    have = set(pathlib.Path("/proc/cpuinfo").read_text().split())
    return [f for f in FLAGS if f in have]


def loadavg() -> list[str]:
    return pathlib.Path("/proc/loadavg").read_text().split()[:3]


def timed(cmd: list[str]) -> dict:
    """`cmd` under /usr/bin/time -v: wall and CPU (user + sys) seconds, peak RSS (MB), stdout, load averages."""
    before = loadavg()
    t0 = time.time()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    seconds = time.time() - t0
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({p.returncode}): {p.stderr[-2000:]}")
    field = lambda name: float(re.search(name + r": ([\d.]+)", p.stderr).group(1))  # noqa: E731
    return {"seconds": seconds, "cpu_seconds": field(r"User time \(seconds\)") + field(r"System time \(seconds\)"),
            "peak_rss_mb": field(r"Maximum resident set size \(kbytes\)") / 1024, "stdout": p.stdout,
            "load_before": before, "load_after": loadavg()}


def figures(run: dict, pairs: int) -> dict:
    return {"pairs_per_second": round(pairs / run["seconds"], 4), "seconds": round(run["seconds"], 1),
            "cpu_seconds": round(run["cpu_seconds"], 1), "cpu_seconds_per_pair": round(run["cpu_seconds"] / pairs, 3),
            "peak_rss_mb": round(run["peak_rss_mb"]), "loadavg_before": run["load_before"], "loadavg_after": run["load_after"]}


def cetool_run(cetool: str, model: pathlib.Path, out: pathlib.Path, options: list[str], ref_logits: list[list[float]],
               verify: bool = True) -> dict:
    """`cetool predict --logits` on OUT/pairs.jsonl as one process (figures, max |Δlogit| against `ref_logits`), then
    with `verify` `cetool verify` against OUT/golden.json (token ids, the profile of the model's dtype)."""
    run = timed([cetool, "predict", str(model), "--pairs", str(out / "pairs.jsonl"), *options, "--logits", "--no-progress"])
    ours = [json.loads(line)["logits"] for line in run["stdout"].splitlines() if line.strip()]
    if len(ours) != len(ref_logits):
        raise SystemExit(f"cetool predict gave {len(ours)} rows for {len(ref_logits)} pairs")
    deltas = [abs(a - b) for x, y in zip(ours, ref_logits) for a, b in zip(x, y)]
    measured = dict(figures(run, len(ref_logits)), max_abs_delta_logit=max(deltas), mean_abs_delta_logit=sum(deltas) / len(deltas))
    if not verify:
        return measured
    report = out / f"verify-{model.name}.json"
    subprocess.run([cetool, "verify", str(model), "--golden", str(out / "golden.json"), "--report", str(report)],
                   capture_output=True, text=True)
    s = json.loads(report.read_text())["sets"][0]
    return dict(measured, verify_passed=s["passed"], verify_failures=s["failures"],
                token_ids_identical=f"{s['token_ids_identical']}/{s['token_ids_checked']}")


def convert(cetool: str, source: pathlib.Path, dtype: str, out: pathlib.Path, options: list[str] = ()) -> dict:
    """`cetool convert --dtype` with convert's defaults (or `options`), as one process."""
    run = timed([cetool, "convert", str(source), "--dtype", dtype, "--output", str(out), "--force", "--no-progress", *options])
    return {"convert_seconds": round(run["seconds"], 1), "convert_cpu_seconds": round(run["cpu_seconds"], 1),
            "convert_peak_rss_mb": round(run["peak_rss_mb"])}


def cetool_precisions(args, out: pathlib.Path, options: list[str], ref_logits: list[list[float]], result: dict,
                      dtypes: tuple[str, ...]) -> None:
    """result["cetool_<dtype>"] for fp32 (unless --skip-fp32) and each requested dtype: the artifact converted from
    out/model (int8 with --calibration when given), then timed and verified as cetool_run does."""
    if not args.skip_fp32:
        result["cetool_fp32"] = cetool_run(args.cetool, out / "model", out, options, ref_logits, not args.no_verify)
    for dtype in [d for d in dtypes if getattr(args, d)]:
        art = out / f"model-{dtype}"
        calibration = ["--calibration", args.calibration] if dtype == "int8" and args.calibration else []
        conv = dict(convert(args.cetool, out / "model", dtype, art, calibration), calibration=args.calibration or "built-in")
        result[f"cetool_{dtype}"] = dict(cetool_run(args.cetool, art, out, options, ref_logits, not args.no_verify), **conv)


def emit(result: dict, save: str | None, name: str) -> None:
    """Prints the result and, with --save DIR, writes DIR/<name>-<UTC stamp>.json."""
    text = json.dumps(result, indent=1)
    print(text)
    if save:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        (pathlib.Path(save) / f"{name}-{stamp}.json").write_text(text + "\n", encoding="utf-8")
