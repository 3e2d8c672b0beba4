"""Real reranking data for the fit benchmark and the real fine-tune (stdlib + golden/_rr_data.py; deterministic).

  python3 bench/train_data.py OUT_DIR [--queries N]

Writes OUT_DIR/train.jsonl ({"texts": [query, passage], "label": 1|0}: per query its positive and 3 negatives, half
BM25 hard, half random, from the training split of golden/_rr_data.py) and OUT_DIR/heldout.jsonl (reranking samples
{"query", "positive", "negative"} of the held-out split: 1 positive among 10). No held-out text is in training.
"""
from __future__ import annotations

import json
import pathlib
import random
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "golden"))
import _rr_data  # noqa: E402


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    n = int(sys.argv[sys.argv.index("--queries") + 1]) if "--queries" in sys.argv else 150
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(2028)
    sp = _rr_data.training_split()
    pools = sp.ict_queries(rng, per_article=20) + sp.title_queries(rng, per_article=3, lead_only=False) + sp.news_queries("lee_background.cor")
    rows = []
    for q in rng.sample(pools, n):
        rows.append({"texts": [q["query"], q["positive"]], "label": 1})
        for d in sp.negatives(rng, q, 2, 1):
            rows.append({"texts": [q["query"], d], "label": 0})
    rng.shuffle(rows)
    (out / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    lists = _rr_data.held_out_lists(seed=7, n_ict=20, n_title=10, n_news=10, size=10)
    held = []
    for l in lists:
        pos = [d for d, r in zip(l["documents"], l["relevance"]) if r]
        neg = [d for d, r in zip(l["documents"], l["relevance"]) if not r]
        held.append({"query": l["query"], "positive": pos, "negative": neg})
    (out / "heldout.jsonl").write_text("".join(json.dumps(r) + "\n" for r in held))
    print(f"{len(rows)} training pairs, {len(held)} held-out lists -> {out}")


if __name__ == "__main__":
    main()
