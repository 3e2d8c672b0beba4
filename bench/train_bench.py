"""PyTorch side of the fit benchmark and the real fine-tune (runs in the reference venv).

  ref/bin/python bench/train_bench.py MODEL --train train.jsonl --heldout heldout.jsonl --seed S [--threads 2]
      [--epochs 1 --batch-size 16 --lr 2e-5 --warmup-steps 10 --max-length 256 --num-labels 1]

What CrossEncoder.fit computes, in a plain loop (no Trainer overhead, so PyTorch's figure is its best case):
CrossEncoder(MODEL, num_labels=N) (a fresh head on a bare encoder), train() mode with the config's dropout,
BCEWithLogitsLoss, torch.optim.AdamW (weight decay 0.01 on all but biases and LayerNorm weights), transformers'
get_linear_schedule_with_warmup over len(train) // batch * epochs, clip_grad_norm_ 1.0, batches in a seeded shuffled
order. Prints one JSON line: training pairs/s (tokenisation included), peak RSS (ru_maxrss), and the held-out
reranking metrics of sentence-transformers' CrossEncoderRerankingEvaluator.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import time

import sentence_transformers
import torch
import transformers
from sentence_transformers import CrossEncoder
from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--train", required=True)
    ap.add_argument("--heldout", required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--warmup-steps", type=int, default=10)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--num-labels", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rows = [json.loads(l) for l in open(a.train) if l.strip()]
    ce = CrossEncoder(a.model, num_labels=a.num_labels, max_length=a.max_length, device="cpu")
    model, tok = ce.model, ce.tokenizer
    nd = {f"{m}.{p}" if m else p for m, mod in model.named_modules() for p, _ in mod.named_parameters(recurse=False)
          if p == "bias" or isinstance(mod, torch.nn.LayerNorm)}
    opt = torch.optim.AdamW([{"params": [p for n, p in model.named_parameters() if n not in nd], "weight_decay": 0.01},
                             {"params": [p for n, p in model.named_parameters() if n in nd], "weight_decay": 0.0}], lr=a.lr)
    total = len(rows) // a.batch_size * a.epochs
    sched = transformers.get_linear_schedule_with_warmup(opt, a.warmup_steps, total)
    lossf = torch.nn.BCEWithLogitsLoss()
    rng = random.Random(a.seed)
    model.train()
    t0, steps, losses = time.time(), 0, []
    for _ in range(a.epochs):
        order = list(range(len(rows)))
        rng.shuffle(order)
        for s in range(0, len(order), a.batch_size):
            batch = [rows[i] for i in order[s:s + a.batch_size]]
            enc = tok([r["texts"][0] for r in batch], [r["texts"][1] for r in batch], padding=True, truncation="longest_first",
                      max_length=a.max_length, return_tensors="pt")
            loss = lossf(model(**enc).logits.view(-1), torch.tensor([float(r["label"]) for r in batch]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            steps += 1
            losses.append(float(loss))
    seconds = time.time() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model.eval()
    samples = [json.loads(l) for l in open(a.heldout) if l.strip()]
    metrics = CrossEncoderRerankingEvaluator(samples=samples, at_k=10, name="heldout", show_progress_bar=False)(ce)
    print(json.dumps({"system": "pytorch", "seed": a.seed, "pairs": len(rows) * a.epochs, "steps": steps, "seconds": round(seconds, 1),
                      "pairs_per_s": round(len(rows) * a.epochs / seconds, 2), "peak_rss_mb": round(peak, 1),
                      "last_loss": round(sum(losses[-10:]) / len(losses[-10:]), 4),
                      "heldout": {k: round(v, 4) for k, v in metrics.items()},
                      "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                                   "sentence_transformers": sentence_transformers.__version__}}))


if __name__ == "__main__":
    main()
