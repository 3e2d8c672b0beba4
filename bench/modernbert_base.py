"""ModernBERT at real size: parity and speed outside the tiny goldens (reference venv; nothing here is committed).

  ref/bin/python bench/modernbert_base.py --out /tmp/mbbase        # ≈ 5 min on 2 cores
  .build/release/cetool verify /tmp/mbbase/model --golden /tmp/mbbase/golden.json
  /usr/bin/time -v .build/release/cetool predict /tmp/mbbase/model --pairs /tmp/mbbase/pairs.jsonl --max-length 1024 \
      --batch-size 32 --no-progress > /dev/null

Builds a ModernBertForSequenceClassification with ModernBERT-base's dimensions (22 layers, hidden 768, 12 heads of 64,
intermediate 1152, every third layer global, local_attention 128, θ 160,000 / 10,000, no biases) and transformers' own
initialisation (seed 11; no published weights are downloaded), on the tiny-modernbert tokenizer, saved with
CrossEncoder.save into OUT/model (453 MB). The reference scores 71 pairs of golden/tiny-modernbert/golden.json (the
10 seed pairs, the 6 longest, every other of cases 10-119) at max_length 1024 and batch 32 with 2 threads; OUT/golden.json
holds its token ids and logits in the golden format (formats/golden.md), OUT/pairs.jsonl the same pairs for cetool.
The reference's predict time is printed (one run, tokenization included).
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
sys.path.insert(0, str(HERE.parent / "golden"))
import make_models_arch  # noqa: E402

from sentence_transformers import CrossEncoder  # noqa: E402
from transformers import ModernBertConfig, ModernBertForSequenceClassification  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/mbbase")
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    tok = make_models_arch.modernbert_tokenizer(8192)
    cfg = ModernBertConfig(vocab_size=3072, hidden_size=768, intermediate_size=1152, num_hidden_layers=22, num_attention_heads=12,
                           global_attn_every_n_layers=3, local_attention=128, pad_token_id=tok.pad_token_id,
                           cls_token_id=tok.cls_token_id, sep_token_id=tok.sep_token_id, bos_token_id=tok.cls_token_id,
                           eos_token_id=tok.sep_token_id, architectures=["ModernBertForSequenceClassification"], num_labels=1)
    torch.manual_seed(11)
    model = ModernBertForSequenceClassification(cfg).eval()
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if (out / "model").exists():
            shutil.rmtree(out / "model")
        CrossEncoder(tmp, device="cpu").save(str(out / "model"))
    ce = CrossEncoder(str(out / "model"), device="cpu", max_length=1024)
    g = json.loads((HERE.parent / "golden" / "tiny-modernbert" / "golden.json").read_text(encoding="utf-8"))
    cases = g["cases"][:10] + sorted(g["cases"][10:], key=lambda c: -len(c["input_ids"]))[:6] + g["cases"][10:120:2]
    pairs = [[c["query"], c["document"]] for c in cases]
    t0 = time.time()
    logits = np.asarray(ce.predict(pairs, batch_size=32, activation_fn=torch.nn.Identity()), dtype=np.float32).reshape(len(pairs), -1)
    seconds = time.time() - t0
    scores = np.asarray(ce.predict(pairs, batch_size=32), dtype=np.float32).reshape(len(pairs), -1)
    rows = []
    for k, c in enumerate(cases):
        f = ce.preprocess([pairs[k]])
        rows.append({"id": c["id"], "kind": c["kind"], "query": c["query"], "document": c["document"],
                     "input_ids": f["input_ids"][0].tolist(), "attention_mask": f["attention_mask"][0].tolist(),
                     "logits": [float(v) for v in logits[k]], "scores": [float(v) for v in scores[k]]})
    golden = {"provenance": {"generator": "bench/modernbert_base.py", "note": "random init, not committed"}, "model": "modernbert-base-random",
              "model_dir": str(out / "model"), "max_length": 1024, "num_labels": 1, "activation": "sigmoid", "batch_size": 32,
              "cases": rows, "rankings": [], "batches": []}
    (out / "golden.json").write_text(json.dumps(golden) + "\n", encoding="utf-8")
    (out / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    print(json.dumps({"pairs": len(pairs), "tokens": sum(len(r["input_ids"]) for r in rows), "reference_predict_seconds": round(seconds, 1),
                      "logit_range": [float(logits.min()), float(logits.max())]}))


if __name__ == "__main__":
    main()
