"""DeBERTa-v3 at real size: parity, speed and memory beside PyTorch on the same pairs in the same run (reference venv;
nothing here is committed).

  swift build -c release
  ref/bin/python bench/deberta_base.py --out /tmp/debbase [--pairs 24] [--fp16] [--int8] [--save bench/results]
      [--cetool-only] [--skip-fp32] [--calibration FILE] [--no-verify]   # as bench/qwen3_reranker.py's

Builds a DebertaV2ForSequenceClassification with deberta-v3-base's configuration, which mixedbread's
mxbai-rerank-base-v1 keeps (hidden 768, 12 layers, 12 heads, intermediate 3072, vocab 128100, max_position_embeddings
512, relative_attention, position_buckets 256, max_relative_positions -1, pos_att_type p2c|c2p, share_att_key,
norm_rel_ebd layer_norm, position_biased_input false, type_vocab_size 0, layer_norm_eps 1e-7, gelu; 1 label), with
transformers' own initialisation (seed 11; no published weights are downloaded), on the tiny spm-deberta tokenizer
(golden/models/spm-deberta; ids stay below 601), saved with CrossEncoder.save into OUT/model (≈ 740 MB).

Pairs: 71 of golden/tiny-deberta-v3/golden.json (the 10 seed pairs, the 6 longest, every other of cases 10-119); with
--pairs N, N of those 71 evenly spaced. Max length 512, batch 32, 2 threads, each runtime one whole process under
/usr/bin/time -v (bench/_wholeprocess.py: wall and CPU seconds, peak RSS, load average before and after):
  1. the reference: CrossEncoder(OUT/model).predict of the pairs (loading and tokenization included) in a child
     process; OUT/golden.json holds its token ids and logits in the golden format, OUT/pairs.jsonl the pairs;
  2. `cetool predict OUT/model --logits` (max |Δlogit|), then `cetool verify` against OUT/golden.json;
  3. with --fp16 / --int8: `cetool convert --dtype fp16|int8` (convert's defaults), then 2 on the artifact.
Prints one JSON object (with --save DIR, also DIR/deberta-base-<UTC time>.json).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import sys
import tempfile
import time

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent

from _wholeprocess import cetool_precisions, cpu_flags, emit, figures, timed  # noqa: E402

from sentence_transformers import CrossEncoder  # noqa: E402
from transformers import AutoTokenizer, DebertaV2Config, DebertaV2ForSequenceClassification  # noqa: E402

# microsoft/deberta-v3-base's config.json (mxbai-rerank-base-v1 is a fine-tune of it with one label).
DEBERTA_V3_BASE = dict(vocab_size=128100, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                       hidden_act="gelu", max_position_embeddings=512, type_vocab_size=0, layer_norm_eps=1e-7, relative_attention=True,
                       position_buckets=256, max_relative_positions=-1, pos_att_type=["p2c", "c2p"], norm_rel_ebd="layer_norm",
                       share_att_key=True, position_biased_input=False, pooler_hidden_act="gelu", pooler_dropout=0, pad_token_id=0)


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


def select(n: int) -> list[dict]:
    g = json.loads((REPO / "golden" / "tiny-deberta-v3" / "golden.json").read_text(encoding="utf-8"))
    cases = g["cases"][:10] + sorted(g["cases"][10:], key=lambda c: -len(c["input_ids"]))[:6] + g["cases"][10:120:2]
    return [cases[k * len(cases) // n] for k in range(n)] if 0 < n < len(cases) else cases


def reference(out: pathlib.Path, n: int) -> None:
    """Child process: the reference's logits of the selected pairs (loading and tokenization included)."""
    torch.set_num_threads(2)
    ce = CrossEncoder(str(out / "model"), device="cpu", max_length=512)
    cases = select(n)
    pairs = [[c["query"], c["document"]] for c in cases]
    t0 = time.time()
    logits = np.asarray(ce.predict(pairs, batch_size=32, activation_fn=torch.nn.Identity()), dtype=np.float32).reshape(len(pairs), -1)
    seconds = time.time() - t0
    rows = []
    for k, c in enumerate(cases):
        f = ce.preprocess([pairs[k]])
        rows.append({"id": c["id"], "kind": c["kind"], "query": c["query"], "document": c["document"],
                     "input_ids": f["input_ids"][0].tolist(), "token_type_ids": f["token_type_ids"][0].tolist(),
                     "attention_mask": f["attention_mask"][0].tolist(),
                     "logits": [float(v) for v in logits[k]], "scores": [float(1 / (1 + np.exp(-v))) for v in logits[k]]})
    golden = {"provenance": {"generator": "bench/deberta_base.py", "note": "random init, not committed"}, "model": "deberta-v3-base-random",
              "model_dir": str(out / "model"), "max_length": 512, "num_labels": 1, "activation": "sigmoid", "batch_size": 32,
              "cases": rows, "rankings": [], "batches": []}
    (out / "golden.json").write_text(json.dumps(golden) + "\n", encoding="utf-8")
    (out / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    (out / "reference.json").write_text(json.dumps({"pairs": len(pairs), "tokens": sum(len(r["input_ids"]) for r in rows),
                                                    "seconds": seconds, "torch": torch.__version__}) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/debbase")
    ap.add_argument("--pairs", type=int, default=0, help="N of the 71 pairs, evenly spaced (default: all)")
    ap.add_argument("--cetool", default=str(REPO / ".build" / "release" / "cetool"))
    ap.add_argument("--fp16", action="store_true")
    ap.add_argument("--int8", action="store_true")
    ap.add_argument("--calibration", help="int8: convert's --calibration (default: convert's built-in pairs)")
    ap.add_argument("--cetool-only", action="store_true", help="reuse OUT/golden.json and OUT/pairs.jsonl of an earlier run")
    ap.add_argument("--no-verify", action="store_true", help="skip `cetool verify` (max |Δlogit| still from predict's logits)")
    ap.add_argument("--skip-fp32", action="store_true", help="only the --fp16 / --int8 artifacts")
    ap.add_argument("--save", help="directory for deberta-base-<UTC time>.json")
    ap.add_argument("--reference-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    if args.reference_only:
        return reference(out, args.pairs)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    if not (out / "model" / "config.json").exists():
        build(out)
    run = None if args.cetool_only else timed([sys.executable, __file__, "--out", str(out), "--pairs", str(args.pairs), "--reference-only"])
    ref = json.loads((out / "reference.json").read_text())
    ref_logits = [c["logits"] for c in json.loads((out / "golden.json").read_text())["cases"]]
    result = {"pairs": ref["pairs"], "tokens": ref["tokens"], "max_length": 512, "batch_size": 32, "threads": 2,
              "cpu_flags": cpu_flags(), "torch": ref["torch"], "cetool": args.cetool,
              "logit_range": [min(min(r) for r in ref_logits), max(max(r) for r in ref_logits)],
              "pytorch_fp32": dict(figures(run, ref["pairs"]), predict_seconds=round(ref["seconds"], 1)) if run else "not run"}
    options = ["--max-length", "512", "--batch-size", "32", "--threads", "2"]
    cetool_precisions(args, out, options, ref_logits, result, ("fp16", "int8"))
    emit(result, args.save, "deberta-base")


if __name__ == "__main__":
    main()
