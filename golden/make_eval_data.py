"""Writes golden/eval/data/*.jsonl and golden/eval/SOURCES.json (stdlib only, deterministic).

Labelled evaluation sets for `cetool eval` and golden/make_eval_goldens.py, built from the Lee /
Pincombe / Welsh document-similarity data in the gensim==4.4.0 wheel (see _data.py): 50 news documents
(lee.cor) and the mean human similarity rating of every one of their 1,225 pairs (similarities0-1.txt;
each rater gave 1..5, the file holds the mean divided by 5, so s is in [0.2, 1]).

Texts are each document's first two sentences (_data.sentences), so a pair stays near 100 MiniLM tokens
and a run is quick; the ratings were given for the whole documents.

  python3 golden/make_eval_data.py       (downloads the gensim wheel into .models/cache/ if needed)

Sets (one JSON object per line):
  pairs.jsonl        correlation: {"texts": [a, b], "label": s}, 200 pairs, every pair with s >= 0.5 (143) and
                     57 drawn from the rest, stratified over the rating range, so the human scores span [0.2, 1]
  binary.jsonl       the same 200 pairs, label 1 when s >= 0.6 (mean rating >= 3, the middle of the 1..5
                     scale: raters judged the documents at least moderately similar), else 0
  softmax.jsonl      3 classes from rating bins, 50 pairs each: 0 when s < 0.3 (mean rating < 1.5: unrelated),
                     2 when 0.3 <= s < 0.6, 1 when s >= 0.6; ids follow tiny-bert-l3's labels
                     (0 contradiction, 1 entailment, 2 neutral) with the bins ordered unrelated/similar/between
  rerank.jsonl       20 queries {"query", "positive": [3], "negative": [9]}: the query is a document, its positives
                     the 3 documents humans rated most similar to it, its negatives 9 drawn from the other 46
  rerank-docs.jsonl  10 queries {"query", "positive": [3], "documents": [10]}: positives as above; documents the
                     top 10 of the other 49 by a first-stage TF-IDF cosine (so some positives are missing and
                     the base ranking is meaningful)
"""
from __future__ import annotations

import collections
import json
import math
import random
import re

import _data

OUT = _data.REPO / "golden" / "eval"
SEED = 20240917
BINARY_THRESHOLD = 0.6
SOFTMAX_BINS = ((0.0, 0.3, 0), (0.6, 1.01, 1), (0.3, 0.6, 2))  # [low, high) -> label id


def short(doc: str) -> str:
    return " ".join(_data.sentences(doc)[:2])


def write_jsonl(name: str, rows: list[dict]) -> None:
    (OUT / "data").mkdir(parents=True, exist_ok=True)
    (OUT / "data" / name).write_text("".join(_data.dumps(r) + "\n" for r in rows), encoding="utf-8")


def tfidf_vectors(docs: list[str]) -> list[dict[str, float]]:
    toks = [re.findall(r"[a-z0-9]+", d.lower()) for d in docs]
    df = collections.Counter(t for ts in toks for t in set(ts))
    n = len(docs)
    vecs = []
    for ts in toks:
        tf = collections.Counter(ts)
        v = {t: c * math.log(n / df[t]) for t, c in tf.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vecs.append({t: x / norm for t, x in v.items()})
    return vecs


def main() -> None:
    rng = random.Random(SEED)
    docs = _data.lee_docs()
    sim = _data.lee_similarities()
    text = [short(d) for d in docs]
    pairs = [(i, j, sim[i][j]) for i in range(50) for j in range(i + 1, 50)]

    def rating(i: int, j: int) -> float:
        return sim[min(i, j)][max(i, j)]

    def src(i: int, j: int) -> str:
        return f"lee.cor lines {i + 1} / {j + 1}, similarities0-1.txt row {min(i, j) + 1} column {max(i, j) + 1}"

    # pairs / binary: all pairs rated >= 0.5, then the rest stratified by rating band.
    high = [p for p in pairs if p[2] >= 0.5]
    rest = [p for p in pairs if p[2] < 0.5]
    bands = collections.defaultdict(list)
    for p in rest:
        bands[min(int((p[2] - 0.2) / 0.06), 4)].append(p)
    low: list = []
    need = 200 - len(high)
    keys = sorted(bands)
    for k, b in enumerate(keys):
        take = (need - len(low)) // (len(keys) - k)
        low += rng.sample(bands[b], min(take, len(bands[b])))
    chosen = sorted(high + low)
    assert len(chosen) == 200, len(chosen)
    write_jsonl("pairs.jsonl", [{"texts": [text[i], text[j]], "label": s, "source": src(i, j)} for i, j, s in chosen])
    write_jsonl("binary.jsonl", [{"texts": [text[i], text[j]], "label": int(s >= BINARY_THRESHOLD), "source": src(i, j)}
                                 for i, j, s in chosen])

    # softmax: 50 pairs per rating bin.
    soft = []
    for lo, hi, label in SOFTMAX_BINS:
        pool = [p for p in pairs if lo <= p[2] < hi]
        soft += [(i, j, s, label) for i, j, s in rng.sample(pool, 50)]
    soft.sort()
    write_jsonl("softmax.jsonl", [{"texts": [text[i], text[j]], "label": label, "source": src(i, j)} for i, j, s, label in soft])

    # reranking: queries whose third most similar document is rated highest (clearest positives).
    def neighbours(q: int) -> list[int]:
        return sorted((d for d in range(50) if d != q), key=lambda d: (-rating(q, d), d))

    queries = sorted(range(50), key=lambda q: (-rating(q, neighbours(q)[2]), q))
    rerank = []
    for q in sorted(queries[:20]):
        nb = neighbours(q)
        pos, others = nb[:3], nb[3:]
        neg = sorted(rng.sample(others, 9))
        rerank.append({"query": text[q], "positive": [text[d] for d in pos], "negative": [text[d] for d in neg],
                       "source": f"query lee.cor line {q + 1}; positive lines {[d + 1 for d in pos]} "
                                 f"(ratings {[rating(q, d) for d in pos]}); negative lines {[d + 1 for d in neg]}"})
    write_jsonl("rerank.jsonl", rerank)

    vecs = tfidf_vectors(docs)

    def cosine(a: int, b: int) -> float:
        return sum(x * vecs[b].get(t, 0.0) for t, x in vecs[a].items())

    rerank_docs = []
    for q in sorted(queries[20:30]):
        nb = neighbours(q)
        pos = nb[:3]
        first = sorted((d for d in range(50) if d != q), key=lambda d: (-cosine(q, d), d))[:10]
        rerank_docs.append({"query": text[q], "positive": [text[d] for d in pos], "documents": [text[d] for d in first],
                            "source": f"query lee.cor line {q + 1}; positive lines {[d + 1 for d in pos]} "
                                      f"(ratings {[rating(q, d) for d in pos]}); documents lines {[d + 1 for d in first]} "
                                      f"(TF-IDF cosine over the full lee.cor documents, best first)"})
    write_jsonl("rerank-docs.jsonl", rerank_docs)

    record = {
        "generator": "golden/make_eval_data.py",
        "text_sources": _data.source_record(),
        "texts": "the first two sentences of each lee.cor document (_data.sentences); ratings are for the full documents",
        "ratings": "similarities0-1.txt: mean human rating (1..5) of each document pair divided by 5; upper triangle",
        "sets": {
            "pairs.jsonl": {"task": "correlation", "count": len(chosen), "label": "rating s in [0.2, 1]",
                            "selection": "every pair with s >= 0.5, plus pairs with s < 0.5 drawn per rating band of 0.06"},
            "binary.jsonl": {"task": "binary-accuracy / binary-classification", "count": len(chosen),
                             "label": f"1 when s >= {BINARY_THRESHOLD} (mean rating >= 3 of 5), else 0",
                             "positives": sum(s >= BINARY_THRESHOLD for _, _, s in chosen)},
            "softmax.jsonl": {"task": "softmax-accuracy", "count": len(soft),
                              "label": "0: s < 0.3, 2: 0.3 <= s < 0.6, 1: s >= 0.6 (50 pairs each)"},
            "rerank.jsonl": {"task": "reranking", "queries": len(rerank),
                             "positive": "the 3 documents rated most similar to the query document",
                             "negative": "9 drawn from the other 46 documents"},
            "rerank-docs.jsonl": {"task": "reranking", "queries": len(rerank_docs),
                                  "positive": "the 3 documents rated most similar to the query document",
                                  "documents": "top 10 of the other 49 documents by TF-IDF cosine (first stage)"},
        },
        "seed": SEED,
    }
    (OUT / "SOURCES.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
