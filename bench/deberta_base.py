"""DeBERTa-v3 at real size: parity and speed beside PyTorch on the same pairs in the same run (reference venv; nothing
here is committed).

  swift build -c release
  ref/bin/python bench/deberta_base.py --out /tmp/debbase             # ≈ 10 min on 2 cores
  .build/release/cetool verify /tmp/debbase/model --golden /tmp/debbase/golden.json

Builds a DebertaV2ForSequenceClassification with deberta-v3-base's configuration, which mixedbread's
mxbai-rerank-base-v1 keeps (hidden 768, 12 layers, 12 heads, intermediate 3072, vocab 128100, max_position_embeddings
512, relative_attention, position_buckets 256, max_relative_positions -1, pos_att_type p2c|c2p, share_att_key,
norm_rel_ebd layer_norm, position_biased_input false, type_vocab_size 0, layer_norm_eps 1e-7, gelu; 1 label), with
transformers' own initialisation (seed 11; no published weights are downloaded), on the tiny spm-deberta tokenizer
(golden/models/spm-deberta; ids stay below 601), saved with CrossEncoder.save into OUT/model (≈ 740 MB).

On 71 pairs of golden/tiny-deberta-v3/golden.json (the 10 seed pairs, the 6 longest, every other of cases 10-119) at
max_length 512 and batch 32, 2 threads each: the reference's predict (median of `--runs`, tokenization included, after
one warm-up), then `cetool predict --logits` on the same pairs (parity) and `cetool bench` (fastest of `--runs`,
tokenization included, after a warm-up batch; its peak RSS is the process's VmHWM). Prints pairs/s of both, both peak
RSS figures (the reference's includes building the model), max |Δlogit| and the CPU flags; writes
OUT/golden.json (golden format, formats/golden.md) and OUT/pairs.jsonl.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent

from sentence_transformers import CrossEncoder  # noqa: E402
from transformers import AutoTokenizer, DebertaV2Config, DebertaV2ForSequenceClassification  # noqa: E402

# microsoft/deberta-v3-base's config.json (mxbai-rerank-base-v1 is a fine-tune of it with one label).
DEBERTA_V3_BASE = dict(vocab_size=128100, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                       hidden_act="gelu", max_position_embeddings=512, type_vocab_size=0, layer_norm_eps=1e-7, relative_attention=True,
                       position_buckets=256, max_relative_positions=-1, pos_att_type=["p2c", "c2p"], norm_rel_ebd="layer_norm",
                       share_att_key=True, position_biased_input=False, pooler_hidden_act="gelu", pooler_dropout=0, pad_token_id=0)


def cpu_flags() -> str:
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            have = set(line.split(":", 1)[1].split())
            return " ".join(f for f in ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16"] if f in have)
    return "unknown"


def build(out: pathlib.Path) -> None:
    tok = AutoTokenizer.from_pretrained(str(REPO / "golden" / "models" / "spm-deberta"), model_max_length=512)
    cfg = DebertaV2Config(**DEBERTA_V3_BASE, architectures=["DebertaV2ForSequenceClassification"], num_labels=1)
    torch.manual_seed(11)
    model = DebertaV2ForSequenceClassification(cfg).eval()
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if (out / "model").exists():
            shutil.rmtree(out / "model")
        CrossEncoder(tmp, device="cpu").save(str(out / "model"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/debbase")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cetool", default=str(REPO / ".build" / "release" / "cetool"))
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    if not (out / "model" / "config.json").exists():
        build(out)
    ce = CrossEncoder(str(out / "model"), device="cpu", max_length=512)
    g = json.loads((REPO / "golden" / "tiny-deberta-v3" / "golden.json").read_text(encoding="utf-8"))
    cases = g["cases"][:10] + sorted(g["cases"][10:], key=lambda c: -len(c["input_ids"]))[:6] + g["cases"][10:120:2]
    pairs = [[c["query"], c["document"]] for c in cases]
    (out / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")

    def reference() -> np.ndarray:
        return np.asarray(ce.predict(pairs, batch_size=32, activation_fn=torch.nn.Identity()), dtype=np.float32).reshape(len(pairs), -1)
    reference()
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        logits = reference()
        times.append(time.perf_counter() - t0)
    ref_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    scores = np.asarray(ce.predict(pairs, batch_size=32), dtype=np.float32).reshape(len(pairs), -1)
    rows = []
    for k, c in enumerate(cases):
        f = ce.preprocess([pairs[k]])
        rows.append({"id": c["id"], "kind": c["kind"], "query": c["query"], "document": c["document"],
                     "input_ids": f["input_ids"][0].tolist(), "token_type_ids": f["token_type_ids"][0].tolist(),
                     "attention_mask": f["attention_mask"][0].tolist(),
                     "logits": [float(v) for v in logits[k]], "scores": [float(v) for v in scores[k]]})
    golden = {"provenance": {"generator": "bench/deberta_base.py", "note": "random init, not committed"}, "model": "deberta-v3-base-random",
              "model_dir": str(out / "model"), "max_length": 512, "num_labels": 1, "activation": "sigmoid", "batch_size": 32,
              "cases": rows, "rankings": [], "batches": []}
    (out / "golden.json").write_text(json.dumps(golden) + "\n", encoding="utf-8")

    common = [str(out / "model"), "--pairs", str(out / "pairs.jsonl"), "--max-length", "512", "--batch-size", "32", "--threads", "2"]
    r = subprocess.run([args.cetool, "predict", *common, "--logits", "--no-progress"], capture_output=True, text=True, check=True)
    ours = np.asarray([json.loads(l)["logits"] for l in r.stdout.splitlines() if l], dtype=np.float32)
    b = subprocess.run([args.cetool, "bench", *common, "--repeat", str(args.runs)], capture_output=True, text=True, check=True)
    bench = json.loads(b.stdout)
    tokens = sum(len(r["input_ids"]) for r in rows)
    print(json.dumps({
        "cpu_flags": cpu_flags(), "threads": 2, "pairs": len(pairs), "tokens": tokens,
        "reference_pairs_per_s": round(len(pairs) / statistics.median(times), 2), "reference_seconds": [round(t, 2) for t in times],
        "reference_process_peak_rss_mb": round(ref_rss_mb), "torch": torch.__version__,
        "cetool_pairs_per_s": round(bench["pairs_per_second"], 2), "cetool_seconds_best": round(bench["seconds"], 2),
        "cetool_load_seconds": round(bench["load_seconds"], 2), "cetool_peak_rss_mb": round(bench["peak_rss_bytes"] / 2**20),
        "max_abs_delta_logit": float(np.abs(ours - logits).max()), "logit_range": [float(logits.min()), float(logits.max())]}))


if __name__ == "__main__":
    main()
