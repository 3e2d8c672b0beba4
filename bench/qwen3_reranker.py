"""Qwen3-Reranker-0.6B's dimensions at random init: parity and speed beside PyTorch on the same pairs, in one run
(reference venv; nothing here is committed).

  ref/bin/python bench/qwen3_reranker.py --out /tmp/qwen3-06b [--pairs 16] [--int8] [--fp16] [--save bench/results]
  ref/bin/python bench/qwen3_reranker.py --out /tmp/qwen3-06b --cetool-only --skip-fp32 --int8 [--calibration FILE] [--no-verify]
      # artifacts only, on the pairs and reference logits of an earlier run (slow machines: a smaller calibration set)

Builds a Qwen3ForSequenceClassification with Qwen3-Reranker-0.6B's config (hidden 1024, 28 layers, 16 heads over 8 kv
heads of 128, intermediate 3072, vocab 151,669, rope_theta 1,000,000, rms_norm_eps 1e-6, tied embeddings, one label: the
seq-cls conversion's score row) and transformers' own initialisation (seed 7; no published weights exist on PyPI, none are
downloaded), on golden/models/tiny-qwen3's tokenizer (its ids are a subset of the vocabulary), saved with
CrossEncoder.save into OUT/model (≈ 2.4 GB fp32). Then, one after the other on the same machine:
  1. the reference: CrossEncoder.predict of the pairs of golden/tiny-qwen3/golden.json (the 10 seed pairs, the 6 longest,
     every 4th of the rest: 109; with --pairs N, N of those 109 evenly spaced) at batch 16 with 2 threads, tokenization
     included, in a child process under /usr/bin/time -v (whole process: load + predict; wall and CPU seconds, peak
     RSS); OUT/golden.json holds its token ids and logits in the golden format, OUT/pairs.jsonl the pairs;
  2. `cetool predict OUT/model --pairs OUT/pairs.jsonl --batch-size 16 --threads 2 --logits` under /usr/bin/time -v
     (whole process: wall and CPU seconds, peak RSS; max |Δlogit| from its logits);
  3. `cetool verify OUT/model --golden OUT/golden.json` (token ids, the profile of the artifact's dtype);
  4. with --int8 / --fp16: `cetool convert --dtype int8|fp16` (convert's defaults), then 2 and 3 on the artifact.
Prints one JSON object (with --save DIR, also DIR/qwen3-reranker-<UTC time>.json): pairs, tokens, per runtime pairs/s,
CPU seconds (user + sys) per pair, peak RSS, max |Δlogit|; the CPU flags and the load average around each step. On a
shared machine CPU seconds per pair are the figure to compare: wall rates move with the other processes' load.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import sys
import tempfile
import time

from _wholeprocess import cetool_precisions, cpu_flags, emit, figures, timed

REPO = pathlib.Path(__file__).resolve().parent.parent
CETOOL = REPO / ".build" / "release" / "cetool"


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


def reference(out: pathlib.Path, batch: int, n: int) -> None:
    """Child process: the reference's scores, timed (tokenization included)."""
    import numpy as np
    import torch
    from sentence_transformers import CrossEncoder
    torch.set_num_threads(2)
    ce = CrossEncoder(str(out / "model"), device="cpu")
    g = json.loads((REPO / "golden/tiny-qwen3/golden.json").read_text(encoding="utf-8"))
    rest = g["cases"][10:]
    cases = g["cases"][:10] + sorted(rest, key=lambda c: -len(c["input_ids"]))[:6] + rest[::4]
    if 0 < n < len(cases):
        cases = [cases[k * len(cases) // n] for k in range(n)]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/qwen3-06b")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--pairs", type=int, default=0, help="N of the 109 pairs, evenly spaced (default: all)")
    ap.add_argument("--cetool", default=str(CETOOL))
    ap.add_argument("--int8", action="store_true")
    ap.add_argument("--fp16", action="store_true")
    ap.add_argument("--calibration", help="int8: convert's --calibration (default: convert's built-in pairs)")
    ap.add_argument("--cetool-only", action="store_true", help="reuse OUT/golden.json and OUT/pairs.jsonl of an earlier run")
    ap.add_argument("--no-verify", action="store_true", help="skip `cetool verify` (max |Δlogit| still from predict's logits)")
    ap.add_argument("--skip-fp32", action="store_true", help="only the --fp16 / --int8 artifacts")
    ap.add_argument("--save", help="directory for qwen3-reranker-<UTC time>.json")
    ap.add_argument("--reference-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    if args.reference_only:
        return reference(out, args.batch_size, args.pairs)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "model" / "model.safetensors").exists():
        build(out)
    run = None if args.cetool_only else timed([sys.executable, __file__, "--out", str(out), "--batch-size", str(args.batch_size),
                                               "--pairs", str(args.pairs), "--reference-only"])
    ref = json.loads((out / "reference.json").read_text())
    golden = json.loads((out / "golden.json").read_text())
    ref_logits = [c["logits"] for c in golden["cases"]]
    result = {"pairs": ref["pairs"], "tokens": ref["tokens"], "batch_size": args.batch_size, "threads": 2,
              "cpu_flags": cpu_flags(), "cetool": args.cetool,
              "pytorch_fp32": dict(figures(run, ref["pairs"]), predict_seconds=round(ref["seconds"], 1)) if run else "not run"}
    options = ["--batch-size", str(args.batch_size), "--threads", "2"]
    cetool_precisions(args, out, options, ref_logits, result, ("int8", "fp16"))
    emit(result, args.save, "qwen3-reranker")


if __name__ == "__main__":
    main()
