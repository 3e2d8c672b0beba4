"""Qwen3-Reranker-0.6B's dimensions at random init: parity and speed beside PyTorch on the same pairs, in one run
(reference venv; nothing here is committed).

  ref/bin/python bench/qwen3_reranker.py --out /tmp/qwen3-06b [--int8]      # ≈ 15 min on 2 cores (+ ≈ 10 min with --int8)

Builds a Qwen3ForSequenceClassification with Qwen3-Reranker-0.6B's config (hidden 1024, 28 layers, 16 heads over 8 kv
heads of 128, intermediate 3072, vocab 151,669, rope_theta 1,000,000, rms_norm_eps 1e-6, tied embeddings, one label: the
seq-cls conversion's score row) and transformers' own initialisation (seed 7; no published weights exist on PyPI, none are
downloaded), on golden/models/tiny-qwen3's tokenizer (its ids are a subset of the vocabulary), saved with
CrossEncoder.save into OUT/model (≈ 2.4 GB fp32). Then, one after the other on the same machine:
  1. the reference: CrossEncoder.predict of N pairs of golden/tiny-qwen3/golden.json (the 10 seed pairs, the 6 longest,
     every 4th of the rest) at batch 16 with 2 threads, tokenization included, in a child process (its wall time and
     peak RSS); OUT/golden.json holds its token ids and logits in the golden format, OUT/pairs.jsonl the pairs;
  2. `cetool verify OUT/model --golden OUT/golden.json` (max |Δlogit|, the fp32 profile);
  3. `cetool predict OUT/model --pairs OUT/pairs.jsonl --batch-size 16` under /usr/bin/time -v (wall time, peak RSS);
  4. with --int8: `cetool convert --dtype int8` (convert's defaults), then verify and predict as above.
Prints one JSON object: pairs, tokens, pairs/s and peak RSS per runtime, max |Δlogit|, the CPU flags that matter.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
CETOOL = REPO / ".build" / "release" / "cetool"
FLAGS = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16"]


def build(out: pathlib.Path) -> None:
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import AutoTokenizer, Qwen3Config, Qwen3ForSequenceClassification
    torch.set_num_threads(2)
    tok = AutoTokenizer.from_pretrained(str(REPO / "golden/models/tiny-qwen3"))
    cfg = Qwen3Config(vocab_size=151669, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16,
                      num_key_value_heads=8, head_dim=128, max_position_embeddings=40960, rms_norm_eps=1e-6,
                      rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, tie_word_embeddings=True,
                      pad_token_id=tok.pad_token_id, num_labels=1, architectures=["Qwen3ForSequenceClassification"])
    torch.manual_seed(7)
    model = Qwen3ForSequenceClassification(cfg).eval()
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if (out / "model").exists():
            shutil.rmtree(out / "model")
        CrossEncoder(tmp, device="cpu").save(str(out / "model"))
    readme = out / "model" / "README.md"
    if readme.exists():
        readme.unlink()


def reference(out: pathlib.Path, batch: int) -> None:
    """Child process: the reference's scores, timed (tokenization included)."""
    import numpy as np
    import torch
    from sentence_transformers import CrossEncoder
    torch.set_num_threads(2)
    ce = CrossEncoder(str(out / "model"), device="cpu")
    g = json.loads((REPO / "golden/tiny-qwen3/golden.json").read_text(encoding="utf-8"))
    rest = g["cases"][10:]
    cases = g["cases"][:10] + sorted(rest, key=lambda c: -len(c["input_ids"]))[:6] + rest[::4]
    pairs = [[c["query"], c["document"]] for c in cases]
    t0 = time.time()
    logits = np.asarray(ce.predict(pairs, batch_size=batch, activation_fn=torch.nn.Identity()), dtype=np.float32).reshape(len(pairs), -1)
    seconds = time.time() - t0
    rows = []
    for k, c in enumerate(cases):
        f = ce.preprocess([pairs[k]])
        rows.append({"id": c["id"], "kind": c["kind"], "query": c["query"], "document": c["document"],
                     "input_ids": f["input_ids"][0].tolist(), "attention_mask": f["attention_mask"][0].tolist(),
                     "logits": [float(v) for v in logits[k]], "scores": [float(1 / (1 + np.exp(-v))) for v in logits[k]]})
    golden = {"provenance": {"generator": "bench/qwen3_reranker.py", "note": "random init, not committed"},
              "model": "qwen3-reranker-0.6b-shape-random", "model_dir": str(out / "model"), "max_length": ce.max_seq_length,
              "num_labels": 1, "activation": "sigmoid", "batch_size": batch, "cases": rows, "rankings": [], "batches": []}
    (out / "golden.json").write_text(json.dumps(golden) + "\n", encoding="utf-8")
    (out / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    (out / "reference.json").write_text(json.dumps({"pairs": len(pairs), "tokens": sum(len(r["input_ids"]) for r in rows),
                                                    "seconds": seconds}) + "\n")


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of `cmd` under /usr/bin/time -v."""
    t0 = time.time()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    seconds = time.time() - t0
    if p.returncode not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed ({p.returncode}): {p.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return seconds, rss, p.stdout


def cetool_run(model: pathlib.Path, out: pathlib.Path, batch: int, pairs: int) -> dict:
    report = out / f"verify-{model.name}.json"
    subprocess.run([str(CETOOL), "verify", str(model), "--golden", str(out / "golden.json"), "--report", str(report)],
                   capture_output=True, text=True)
    r = json.loads(report.read_text())
    seconds, rss, _ = timed([str(CETOOL), "predict", str(model), "--pairs", str(out / "pairs.jsonl"), "--batch-size", str(batch),
                             "--no-progress"])
    s = r["sets"][0]
    return {"pairs_per_second": round(pairs / seconds, 2), "seconds": round(seconds, 1), "peak_rss_mb": round(rss),
            "verify_passed": s["passed"], "token_ids_identical": f"{s['token_ids_identical']}/{s['token_ids_checked']}",
            "max_abs_delta_logit": s["max_abs_delta_logit"], "mean_abs_delta_logit": s["mean_abs_delta_logit"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/qwen3-06b")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--int8", action="store_true")
    ap.add_argument("--reference-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    if args.reference_only:
        return reference(out, args.batch_size)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "model" / "model.safetensors").exists():
        build(out)
    seconds, rss, _ = timed([sys.executable, __file__, "--out", str(out), "--batch-size", str(args.batch_size), "--reference-only"])
    ref = json.loads((out / "reference.json").read_text())
    flags = set(open("/proc/cpuinfo").read().split())
    result = {"pairs": ref["pairs"], "tokens": ref["tokens"], "batch_size": args.batch_size,
              "cpu_flags": [f for f in FLAGS if f in flags],
              "pytorch_fp32": {"pairs_per_second": round(ref["pairs"] / ref["seconds"], 2), "predict_seconds": round(ref["seconds"], 1),
                               "process_peak_rss_mb": round(rss), "process_seconds": round(seconds, 1)},
              "cetool_fp32": cetool_run(out / "model", out, args.batch_size, ref["pairs"])}
    if args.int8:
        int8 = out / "model-int8"
        t0 = time.time()
        subprocess.run([str(CETOOL), "convert", str(out / "model"), "--dtype", "int8", "--output", str(int8), "--force", "--no-progress"],
                       check=True, capture_output=True)
        result["cetool_int8"] = dict(cetool_run(int8, out, args.batch_size, ref["pairs"]), convert_seconds=round(time.time() - t0, 1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
