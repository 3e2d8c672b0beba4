"""Prints the demo's corpus as JSON lines {"id", "text"}: the seed example's 10 passages among real text.

The real text is what golden/inputs already holds (golden/inputs/SOURCES.json): English Wikipedia sentences and
paragraphs (gensim 4.4.0's shortened enwiki dump), Lee background-corpus sentences (lee_background.cor), and the
documents of the held-out re-ranking lists (rr_lists.jsonl). Duplicates and the seed's query are dropped; ids name
the source. Input for `cetool index build --corpus` and `cetool retrieve-rerank --corpus-texts`.
"""
import json
import pathlib

INPUTS = pathlib.Path(__file__).resolve().parent.parent / "golden" / "inputs"
KINDS = {"wiki-sentence", "wiki-paragraph", "lee-background-sentence"}

seed = json.loads((INPUTS / "seed.json").read_text(encoding="utf-8"))
rows = [(f"seed-{i}", d) for i, d in enumerate(seed["documents"])]
for line in (INPUTS / "tokenizer_corpus.jsonl").read_text(encoding="utf-8").splitlines():
    d = json.loads(line)
    if d["kind"] in KINDS:
        rows.append((d["id"], d["text"]))
for line in (INPUTS / "rr_lists.jsonl").read_text(encoding="utf-8").splitlines():
    d = json.loads(line)
    rows += [(f"{d['id']}-doc-{i}", t) for i, t in enumerate(d["documents"])]
seen = {seed["query"]}
for rid, text in rows:
    if text in seen or not text.strip():
        continue
    seen.add(text)
    print(json.dumps({"id": rid, "text": text}, ensure_ascii=False))
