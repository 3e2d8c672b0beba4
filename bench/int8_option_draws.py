"""convert's int8 options against calibration draws: for each model, option set and calibration subset, `cetool convert
--dtype int8` then `cetool verify` against the model's golden folder; prints one JSON line per (model, options, draw)
with the verdict, max / mean |Δlogit| and the widest reordered reference-logit gap of any ranked list (the int8 profile
lets pairs up to 0.1 apart reorder; formats/golden.md). Stdlib only; nothing here is committed by it.

  python3 bench/int8_option_draws.py --models tiny-deberta-c2p,tiny-deberta-v3 \\
      --options '{"defaults": [], "keep-attention": ["--keep-fp32", "attention"]}' [--draws all,h0,h1,q0,q1,q2] [--out DIR]

Draws are subsets of convert's built-in calibration pairs (Sources/CEQuant/CalibrationCorpus.swift plus the
hand-written pairs of Calibration.swift, 417 in all, read here from the Swift sources): `all` (the built-in set itself:
the same artifact as convert's default), `h0`/`h1` (every other pair from the first / second), `q0`…`q3` (every fourth
pair from the k-th). An option set that only passes on some draws passes by the draw, not by the option.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import re
import subprocess

REPO = pathlib.Path(__file__).resolve().parent.parent


def builtin_pairs() -> list[list[str]]:
    """Calibration.defaultPairs: the corpus lines, then each hand-written query with 4 passages and the long pair."""
    corpus = (REPO / "Sources/CEQuant/CalibrationCorpus.swift").read_text(encoding="utf-8")
    body = corpus.split('#"""\n', 1)[1].rsplit('\n"""#', 1)[0]
    pairs = [json.loads(line) for line in body.split("\n") if line.strip()]
    swift = (REPO / "Sources/CEQuant/Calibration.swift").read_text(encoding="utf-8")
    block = swift.split("static let handWrittenPairs", 1)[1]
    lists = re.findall(r"let (queries|passages) = \[(.*?)\n        \]", block, re.S)
    found = {name: [json.loads(s) for s in re.findall(r'"(?:[^"\\]|\\.)*"', text)] for name, text in lists}
    queries, passages = found["queries"], found["passages"]
    for i, q in enumerate(queries):
        pairs += [[q, passages[(i * 3 + j * 5) % len(passages)]] for j in range(4)]
    pairs.append([queries[0], " ".join(passages) + " " + " ".join(reversed(passages))])
    return pairs


def draw(pairs: list, name: str) -> list:
    if name == "all":
        return pairs
    step = {"h": 2, "q": 4}[name[0]]
    return pairs[int(name[1:])::step]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True, help="comma-separated model names with a golden/<name> folder; the weights from .models/<name> (fetched) or golden/models/<name>")
    ap.add_argument("--options", required=True, help='JSON object: name -> list of convert options')
    ap.add_argument("--draws", default="all,h0,h1,q0,q1,q2")
    ap.add_argument("--cetool", default=str(REPO / ".build" / "release" / "cetool"))
    ap.add_argument("--out", default="/tmp/int8-option-draws")
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pairs = builtin_pairs()
    for d in args.draws.split(","):
        (out / f"calibration-{d}.jsonl").write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in draw(pairs, d)),
                                                    encoding="utf-8")
    for model in args.models.split(","):
        for name, options in json.loads(args.options).items():
            for d in args.draws.split(","):
                art = out / f"{model}-{name}-{d}"
                src = REPO / ".models" / model if (REPO / ".models" / model / "model.safetensors").exists() else REPO / "golden/models" / model
                subprocess.run([args.cetool, "convert", str(src), "--dtype", "int8", "--output", str(art),
                                "--force", "--no-progress", "--threads", "2", "--calibration", str(out / f"calibration-{d}.jsonl"),
                                *options], check=True, capture_output=True)
                subprocess.run([args.cetool, "verify", str(art), "--golden", str(REPO / "golden" / model), "--report", f"{art}.json"],
                               capture_output=True)
                for s in json.loads(pathlib.Path(f"{art}.json").read_text())["sets"]:
                    gaps = [l["widest_reordered_reference_logit_gap"] for l in s["lists"]]
                    print(json.dumps({"model": model, "options": name, "draw": d, "passed": s["passed"],
                                      "max_abs_delta_logit": round(s["max_abs_delta_logit"], 4),
                                      "mean_abs_delta_logit": round(s["mean_abs_delta_logit"], 5),
                                      "widest_reordered_gap": round(max(gaps, default=0.0), 4),
                                      "failures": [f.split(":")[0] for f in s["failures"]]}), flush=True)


if __name__ == "__main__":
    main()
