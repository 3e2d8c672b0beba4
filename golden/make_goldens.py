"""Records the reference outputs (runs in the reference venv; see golden/README.md and formats/golden.md).

  ref/bin/python golden/make_goldens.py            # needs .models/minilm-l6-{ce,rr} (scripts/fetch_models.sh)

Writes golden/<model>/golden.json (+ golden/minilm-l6-ce/golden-len128.json) from
sentence_transformers.CrossEncoder and golden/tokenizers/<name>.json from transformers.AutoTokenizer.
A model entry with a lists file (golden/inputs/rr_lists.jsonl) also scores those held-out ranked lists:
their pairs become cases, the lists become rankings with relevance labels, and the reference's
ranking quality (MRR@10, NDCG@10) is recorded.
Everything here comes from PyTorch + sentence-transformers + transformers: never from cetool.
"""
from __future__ import annotations

import datetime
import json
import logging
import pathlib
import platform
import random
import sys

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _data  # noqa: E402

import sentence_transformers  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import CrossEncoder  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

REPO = _data.REPO
INPUTS = HERE / "inputs"
BATCH_SIZE = 32
SEED = 20240611

torch.set_num_threads(2)
transformers.logging.set_verbosity_error()
logging.getLogger("sentence_transformers").setLevel(logging.ERROR)

MODELS = [
    # name, model folder (repo-relative), max_length passed to CrossEncoder, output file, ranked lists with relevance (golden/inputs/)
    ("minilm-l6-ce", ".models/minilm-l6-ce", None, "golden/minilm-l6-ce/golden.json", None),
    ("minilm-l6-ce", ".models/minilm-l6-ce", 128, "golden/minilm-l6-ce/golden-len128.json", None),
    ("minilm-l6-rr", ".models/minilm-l6-rr", None, "golden/minilm-l6-rr/golden.json", "rr_lists.jsonl"),
    ("tiny-bert-l1", "golden/models/tiny-bert-l1", None, "golden/tiny-bert-l1/golden.json", None),
    ("tiny-bert-l3", "golden/models/tiny-bert-l3", None, "golden/tiny-bert-l3/golden.json", None),
    # other architectures (golden/make_models_arch.py)
    ("tiny-roberta", "golden/models/tiny-roberta", None, "golden/tiny-roberta/golden.json", None),
    ("tiny-xlmr", "golden/models/tiny-xlmr", None, "golden/tiny-xlmr/golden.json", None),
    ("tiny-xlmr-spm", "golden/models/tiny-xlmr-spm", None, "golden/tiny-xlmr-spm/golden.json", "rr_lists.jsonl", "lists"),
    ("tiny-camembert", "golden/models/tiny-camembert", None, "golden/tiny-camembert/golden.json", "rr_lists.jsonl", "lists"),
    ("tiny-distilbert", "golden/models/tiny-distilbert", None, "golden/tiny-distilbert/golden.json", None),
    ("tiny-electra", "golden/models/tiny-electra", None, "golden/tiny-electra/golden.json", None),
    ("tiny-modernbert", "golden/models/tiny-modernbert", None, "golden/tiny-modernbert/golden.json", None),
    ("tiny-modernbert-mean", "golden/models/tiny-modernbert-mean", None, "golden/tiny-modernbert-mean/golden.json", None),
    # DeBERTa-v2/v3 (golden/make_models_deberta.py)
    ("tiny-deberta-v3", "golden/models/tiny-deberta-v3", None, "golden/tiny-deberta-v3/golden.json", None),
    ("tiny-deberta-v2", "golden/models/tiny-deberta-v2", None, "golden/tiny-deberta-v2/golden.json", None),
    ("tiny-deberta-c2p", "golden/models/tiny-deberta-c2p", None, "golden/tiny-deberta-c2p/golden.json", None),
    # the trained reranker in the other architectures' layouts (golden/make_models_minilm_arch.py); cases: the seed,
    # the odd pairs of the batches and the held-out lists' pairs, not all of pairs.jsonl (test time on CI)
    ("minilm-l6-rr-distilbert", ".models/minilm-l6-rr-distilbert", None, "golden/minilm-l6-rr-distilbert/golden.json", "rr_lists.jsonl", "lists"),
    ("minilm-l6-rr-electra", ".models/minilm-l6-rr-electra", None, "golden/minilm-l6-rr-electra/golden.json", "rr_lists.jsonl", "lists"),
    ("minilm-l6-rr-roberta", ".models/minilm-l6-rr-roberta", None, "golden/minilm-l6-rr-roberta/golden.json", "rr_lists.jsonl", "lists"),
]
INPUT_FILES = ["seed.json", "pairs.jsonl", "tokenizer_corpus.jsonl"]
# Extra hand-written cases for some models, after pairs.jsonl: literal pad tokens inside the text, which
# RoBERTa's create_position_ids_from_input_ids gives position padding_idx (and the later tokens shift).
LITERAL_PAD = [("a <pad> b", "c d e"), ("<pad><pad> where is the station", "the station is <pad> near the river </s> east"),
               ("<pad>", "<pad>"), ("<s> literal specials </s>", "and a <pad> in the middle of the document text")]
EXTRA_CASES = {name: [{"id": f"pad-{i:02d}", "kind": "odd-literal-pad", "query": q, "document": d} for i, (q, d) in enumerate(LITERAL_PAD)]
               for name in ("tiny-roberta", "tiny-xlmr", "tiny-xlmr-spm", "tiny-camembert")}
# The SentencePiece model's user-defined pieces written literally (added tokens matched in the raw text).
EXTRA_CASES["tiny-xlmr-spm"] += [{"id": f"spm-{i:02d}", "kind": "odd-user-defined-piece", "query": q, "document": d} for i, (q, d) in
                                 enumerate([("[Q] where is the station", "[D] the station is near the river"),
                                            ("x[Q]y [q] [ Q ]", "[D][D] \uff3bD\uff3d")])]
# CamemBERT's NOTUSED specials and its lstrip <mask> written literally.
EXTRA_CASES["tiny-camembert"] += [{"id": f"cb-{i:02d}", "kind": "odd-literal-camembert", "query": q, "document": d} for i, (q, d) in
                                  enumerate([("<s>NOTUSED where is </s>NOTUSED", "the <unk>NOTUSED station <mask> near"),
                                             ("a  <mask>b", "<mask><mask> the river")])]
# ModernBERT's tokenizer layout: its specials and placeholders written literally ([MASK] strips the space before it),
# whitespace runs that its added tokens match, the pad token inside the text (ModernBERT positions count every token).
LITERAL_MODERNBERT = [("a [SEP] b", "c [MASK] d"), ("where   is the    station", "the station  is\tnear        the river"),
                      ("|||IP_ADDRESS||| is 10.0.0.1", "<|endoftext|> then [PAD] and [CLS]"), ("   leading spaces", "trailing spaces   "),
                      ("[PAD][PAD] where is [UNK]", "mail |||EMAIL_ADDRESS||| [MASK][MASK] now")]
for name in ("tiny-modernbert", "tiny-modernbert-mean"):
    EXTRA_CASES[name] = [{"id": f"mb-{i:02d}", "kind": "odd-literal-modernbert", "query": q, "document": d}
                         for i, (q, d) in enumerate(LITERAL_MODERNBERT)]
TOKENIZERS = [
    ("minilm", "golden/models/minilm-l6-ce"),
    ("minilm-vocab", "golden/models/minilm-vocab-only"),
    ("tiny-bert-l1", "golden/models/tiny-bert-l1"),
    ("tiny-bert-l3", "golden/models/tiny-bert-l3"),
    ("tiny-modernbert", "golden/models/tiny-modernbert"),
]
ACTIVATIONS = {"Sigmoid": "sigmoid", "Identity": "identity", "Softmax": "softmax", "Tanh": "tanh", "ReLU": "relu"}


def read_jsonl(path: pathlib.Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text(encoding="utf-8").split("\n") if l]


def provenance(weights: pathlib.Path | None, extra_inputs: tuple[str, ...] = ()) -> dict:
    p = {
        "generator": "golden/make_goldens.py",
        "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "numpy": np.__version__,
        },
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "inputs_sha256": {f"golden/inputs/{n}": _data.sha256_file(INPUTS / n) for n in INPUT_FILES + list(extra_inputs)},
    }
    if weights is not None:
        p["model_weights"] = str(weights.relative_to(REPO))
        p["model_weights_sha256"] = _data.sha256_file(weights)
    return p


def activation_source(model_dir: pathlib.Path) -> str:
    """Which file decided CrossEncoder's default activation (sentence-transformers 6.2's order)."""
    st = model_dir / "config_sentence_transformers.json"
    if st.exists() and json.loads(st.read_text()).get("activation_fn"):
        return "config_sentence_transformers.json activation_fn"
    cfg = json.loads((model_dir / "config.json").read_text())
    if isinstance(cfg.get("sentence_transformers"), dict) and "activation_fn" in cfg["sentence_transformers"]:
        return "config.json sentence_transformers.activation_fn"
    if cfg.get("sbert_ce_default_activation_function"):
        return "config.json sbert_ce_default_activation_function"
    return "default: sigmoid for 1 label, identity otherwise"


def ids_of(features: dict, row: int | None = None) -> dict:
    out = {}
    for k in ["input_ids", "token_type_ids", "attention_mask"]:
        if k in features:
            t = features[k]
            out[k] = (t[row] if row is not None else t).tolist()
    return out


def f32(x) -> float:
    return float(np.float32(x))


def lee_rankings() -> list[dict]:
    """Queries from the Lee corpus: a document's first sentence against 20 other documents."""
    docs = _data.lee_docs()
    rng = random.Random(SEED)
    out = []
    for k in rng.sample(range(50), 4):
        others = rng.sample([i for i in range(50) if i != k], 20)
        out.append({"id": f"lee-{k + 1:02d}", "query": _data.sentences(docs[k])[0], "documents": [docs[i] for i in others],
                    "source": f"query: lee.cor line {k + 1} sentence 1; documents: lee.cor lines {[i + 1 for i in others]}"})
    return out


def list_quality(relevance: list[int], result: list[dict], k: int = 10) -> dict:
    """Binary relevance, the order CrossEncoder.rank returned. MRR@k: 1 / rank of the first relevant document if it
    is within the top k, else 0. NDCG@k: sum of rel / log2(rank + 1) over the top k, divided by the same for the ideal order."""
    order = [x["corpus_id"] for x in result]
    first = next(r for r, i in enumerate(order, 1) if relevance[i] > 0)
    dcg = sum(relevance[i] / np.log2(r + 1) for r, i in enumerate(order[:k], 1))
    ideal = sum(1 / np.log2(r + 1) for r in range(1, min(k, sum(relevance)) + 1))
    return {"first_relevant_rank": first, "mrr_at_10": 1.0 / first if first <= k else 0.0, "ndcg_at_10": float(dcg / ideal)}


def model_golden(name: str, rel_dir: str, max_length: int | None, out_rel: str, lists_file: str | None, case_set: str = "all") -> dict:
    model_dir = REPO / rel_dir
    ce = CrossEncoder(str(model_dir), device="cpu", max_length=max_length)
    n_labels = ce.num_labels
    act_name = type(ce.activation_fn).__name__
    activation = ACTIVATIONS.get(act_name, act_name)
    source = activation_source(model_dir)

    seed = json.loads((INPUTS / "seed.json").read_text(encoding="utf-8"))
    pairs = read_jsonl(INPUTS / "pairs.jsonl")
    items = [{"id": f"seed-{i:02d}", "kind": "seed", "query": seed["query"], "document": d} for i, d in enumerate(seed["documents"])]
    odd_ids = [p["id"] for p in pairs if p["kind"] in ("odd-both-empty", "odd-empty-query", "odd-empty-document",
                                                                      "odd-emoji-zwj", "odd-literal-sep", "odd-cjk-query")]
    odd_ids += [next(p["id"] for p in pairs if p["kind"] == "long-document")]
    if case_set == "lists":
        pairs_in = [p for p in pairs if p["id"] in set(odd_ids)]
    elif case_set == "all":
        pairs_in = pairs
    else:
        raise SystemExit(f"unknown case set {case_set!r}")
    items += [{"id": p["id"], "kind": p["kind"], "query": p["query"], "document": p["document"]} for p in pairs_in]
    items += EXTRA_CASES.get(name, [])
    lists = read_jsonl(INPUTS / lists_file) if lists_file else []
    relevance = {}  # case id -> relevance label of a list document
    for l in lists:
        for j, d in enumerate(l["documents"]):
            items.append({"id": f"{l['id']}-d{j:02d}", "kind": "list-" + l["kind"], "query": l["query"], "document": d})
            relevance[items[-1]["id"]] = l["relevance"][j]
    inputs = [[it["query"], it["document"]] for it in items]

    logits = ce.predict(inputs, batch_size=BATCH_SIZE, activation_fn=torch.nn.Identity(), convert_to_numpy=True)
    scores = ce.predict(inputs, batch_size=BATCH_SIZE, convert_to_numpy=True)
    logits = np.asarray(logits, dtype=np.float32).reshape(len(items), -1)
    scores = np.asarray(scores, dtype=np.float32).reshape(len(items), -1)

    cases = []
    for k, it in enumerate(items):
        feats = ce.preprocess([inputs[k]])  # exactly what CrossEncoder.predict feeds the model for this pair, unpadded
        c = dict(it)
        c.update(ids_of(feats, 0))
        c["logits"] = [f32(v) for v in logits[k]]
        c["scores"] = [f32(v) for v in scores[k]]
        cases.append(c)

    g = {
        "provenance": provenance(model_dir / "model.safetensors", (lists_file,) if lists_file else ()),
        "model": name,
        "model_dir": rel_dir,
        "max_length": ce.max_seq_length,
        "max_length_argument": max_length,
        "case_set": "golden/inputs/seed.json, pairs.jsonl" + (f", {lists_file}" if lists_file else "") if case_set == "all" else
                    "golden/inputs/seed.json, the pairs.jsonl pairs of the odd batch" + (f", {lists_file}" if lists_file else ""),
        "num_labels": n_labels,
        "activation": activation,
        "activation_fn": f"{type(ce.activation_fn).__module__}.{act_name}",
        "activation_source": source,
        "batch_size": BATCH_SIZE,
        "attention_implementation": getattr(ce.model.config, "_attn_implementation", None),
        "cases": cases,
    }
    if n_labels == 1:
        rankings = [{"id": "seed", "query": seed["query"], "documents": seed["documents"], "source": "golden/inputs/seed.json"}]
        rankings += lee_rankings()
        rankings += [{"id": l["id"], "kind": l["kind"], "query": l["query"], "documents": l["documents"], "relevance": l["relevance"],
                      "source": f"golden/inputs/{lists_file}: {l['source']}"} for l in lists]
        for r in rankings:
            r["result"] = [{"corpus_id": int(x["corpus_id"]), "score": f32(x["score"])}
                           for x in ce.rank(r["query"], r["documents"], batch_size=BATCH_SIZE)]
        g["rankings"] = rankings
        if lists:
            per = {r["id"]: list_quality(r["relevance"], r["result"]) for r in rankings if "relevance" in r}
            g["ranking_quality"] = {
                "lists": len(per),
                "metric_definitions": "binary relevance; MRR@10 = 1/rank of the first relevant document within the top 10, else 0; "
                                      "NDCG@10 = sum rel/log2(rank+1) over the top 10 / the ideal; means over lists",
                "mrr_at_10": float(np.mean([q["mrr_at_10"] for q in per.values()])),
                "ndcg_at_10": float(np.mean([q["ndcg_at_10"] for q in per.values()])),
                "top1": float(np.mean([q["first_relevant_rank"] == 1 for q in per.values()])),
                "per_list": per,
            }
    else:
        sm = ce.predict(inputs, batch_size=BATCH_SIZE, apply_softmax=True, convert_to_numpy=True)
        g["softmax_scores"] = [[f32(v) for v in row] for row in np.asarray(sm, dtype=np.float32).reshape(len(items), -1)]
        g["labels"] = [ce.model.config.id2label[i] for i in range(n_labels)]

    by_id = {it["id"]: it for it in items}
    batches = [("seed-batch", [[seed["query"], d] for d in seed["documents"]]),
               ("odd-batch", [[by_id[i]["query"], by_id[i]["document"]] for i in odd_ids])]
    g["batches"] = []
    for bid, bpairs in batches:
        feats = ce.preprocess(bpairs)  # padding=True: padded to the longest row, right side
        g["batches"].append({"id": bid, "pairs": bpairs, **ids_of(feats)})

    out = REPO / out_rel
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_data.dumps(g) + "\n", encoding="utf-8")
    summary = {"file": out_rel, "bytes": out.stat().st_size, "max_length": g["max_length"], "activation": activation,
               "activation_source": source, "cases": len(cases),
               "logit_range": [float(logits.min()), float(logits.max())], "score_std": float(scores.std())}
    if n_labels == 1:
        summary["seed_ranking"] = [(x["corpus_id"], round(x["score"], 4)) for x in g["rankings"][0]["result"]]
    if "ranking_quality" in g:
        q = g["ranking_quality"]
        summary["held_out_lists"] = {"lists": q["lists"], "mrr@10": round(q["mrr_at_10"], 4), "ndcg@10": round(q["ndcg_at_10"], 4),
                                     "top1": round(q["top1"], 4)}
        ll = [(float(logits[k][0]), relevance[it["id"]]) for k, it in enumerate(items) if it["id"] in relevance]
        pos = [x for x, r in ll if r == 1]
        neg = [x for x, r in ll if r == 0]
        summary["held_out_list_logits"] = {"positive": [round(min(pos), 3), round(float(np.median(pos)), 3), round(max(pos), 3)],
                                           "negative": [round(min(neg), 3), round(float(np.median(neg)), 3), round(max(neg), 3)]}
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return g


def tokenizer_golden(name: str, rel_dir: str) -> None:
    tok = AutoTokenizer.from_pretrained(str(REPO / rel_dir))
    corpus = [c["text"] for c in read_jsonl(INPUTS / "tokenizer_corpus.jsonl")]
    rng = random.Random(SEED)
    jobs: list[tuple[str, str | None, int | None]] = [(t, None, None) for t in corpus]
    for _ in range(300):
        a, b = rng.sample(corpus, 2)
        jobs.append((a, b, None))
    short = [t for t in corpus if 0 < len(t) <= 60]
    longer = [t for t in corpus if len(t) > 60]
    for ml in [8, 9, 16, 33]:
        for _ in range(40):  # both long: longest_first trims from both, ending on an odd or even split
            jobs.append((rng.choice(longer), rng.choice(longer), ml))
        for _ in range(15):  # one short, one long
            a, b = rng.choice(short), rng.choice(longer)
            jobs.append((a, b, ml) if rng.random() < 0.5 else (b, a, ml))
        for _ in range(15):  # singles truncated at the end
            jobs.append((rng.choice(longer), None, ml))
    cases = []
    for text, pair, ml in jobs:
        if ml is None:
            enc = tok(text, pair, truncation=False)
        else:
            enc = tok(text, pair, truncation="longest_first", max_length=ml)
        c = {"text": text, "pair": pair, "max_length": ml}
        c.update({k: list(enc[k]) for k in ["input_ids", "token_type_ids", "attention_mask"] if k in enc})
        cases.append(c)
    g = {
        "provenance": provenance(None),
        "tokenizer_dir": rel_dir + "/",
        "tokenizer_class": type(tok).__name__,
        "loaded_with": "transformers.AutoTokenizer.from_pretrained(tokenizer_dir); tok(text, pair, truncation=False) or "
                       "tok(text, pair, truncation='longest_first', max_length=max_length)",
        "model_max_length": tok.model_max_length if tok.model_max_length < 10 ** 12 else None,
        "cases": cases,
    }
    out = REPO / "golden" / "tokenizers" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_data.dumps(g) + "\n", encoding="utf-8")
    n_unk = sum(c["input_ids"].count(tok.unk_token_id) for c in cases)
    print(json.dumps({"file": str(out.relative_to(REPO)), "bytes": out.stat().st_size, "cases": len(cases), "class": type(tok).__name__,
                      "unk_tokens": n_unk}), flush=True)


# ModernBERT config.json variants (hub-era keys, transformers 5 keys, mixtures, options cetool refuses) and what
# transformers' ModernBertConfig resolves them to: the layer kinds, the RoPE parameters per kind, the half window.
MODERNBERT_BASE = {"architectures": ["ModernBertForSequenceClassification"], "model_type": "modernbert", "vocab_size": 64,
                   "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 4, "num_attention_heads": 4,
                   "pad_token_id": 3, "bos_token_id": 1, "eos_token_id": 2, "cls_token_id": 1, "sep_token_id": 2, "num_labels": 1}
MODERNBERT_CONFIGS = [
    ("defaults", {}),
    ("hub-era", {"global_attn_every_n_layers": 3, "global_rope_theta": 160000.0, "local_rope_theta": 10000.0, "local_attention": 128,
                 "num_hidden_layers": 22}),
    ("every-layer-global", {"global_attn_every_n_layers": 1}),
    ("every-2nd", {"global_attn_every_n_layers": 2, "global_rope_theta": 80000.0}),
    ("odd-window", {"local_attention": 11}),
    ("layer-types", {"layer_types": ["sliding_attention", "full_attention", "sliding_attention", "sliding_attention"],
                     "global_attn_every_n_layers": 2}),
    ("rope-parameters-win", {"rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 1234.0},
                                                 "sliding_attention": {"rope_type": "default", "rope_theta": 567.0}},
                             "global_rope_theta": 99.0, "local_rope_theta": 98.0}),
    ("rope-parameters-partial", {"rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 1234.0}},
                                 "local_rope_theta": 4321.0}),
    ("rope-parameters-no-theta", {"rope_parameters": {"full_attention": {"rope_type": "default"},
                                                      "sliding_attention": {"rope_type": "default"}},
                                  "global_rope_theta": 2000.0}),
    ("rope-scaling-linear", {"rope_scaling": {"rope_type": "linear", "factor": 2.0}}),
    # The legacy "type" key merged into an entry that already has rope_type "default" leaves it default.
    ("rope-scaling-type-key", {"rope_scaling": {"type": "dynamic", "factor": 2.0}}),
    ("rope-dynamic", {"rope_parameters": {"full_attention": {"rope_type": "dynamic", "factor": 2.0, "rope_theta": 1000.0},
                                          "sliding_attention": {"rope_type": "default", "rope_theta": 10.0}}}),
    ("pooling-max", {"classifier_pooling": "max"}),
    ("activation-silu", {"hidden_activation": "silu"}),
    ("layer-types-short", {"layer_types": ["full_attention", "sliding_attention"]}),
    ("layer-types-unknown", {"layer_types": ["full_attention", "chunked_attention", "full_attention", "full_attention"]}),
    ("every-0", {"global_attn_every_n_layers": 0}),
    ("window-0", {"local_attention": 0}),
    ("sliding-window-key", {"local_attention": 64, "sliding_window": 7}),
    ("top-level-rope-theta", {"rope_theta": 1000.0}),
    ("partial-rotary-factor", {"partial_rotary_factor": 0.5}),
    ("head-dim-equal", {"head_dim": 8}),
    ("head-dim-other", {"head_dim": 4}),
    ("rope-parameters-flat", {"rope_parameters": {"rope_type": "default", "rope_theta": 5.0}}),
    ("norm-bias-int", {"norm_bias": 1}),
    ("integer-theta", {"global_rope_theta": 500, "local_rope_theta": 70}),
    # ModernBERT-base's head size (768 / 12 = 64) and a head size of 128, for the rotary frequencies at real sizes.
    ("base-head-size", {"hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 64, "num_hidden_layers": 3}),
    ("head-size-128", {"hidden_size": 256, "num_attention_heads": 2, "intermediate_size": 64, "num_hidden_layers": 3,
                       "global_rope_theta": 1234567.0}),
]


def modernbert_config_golden() -> None:
    from transformers import ModernBertConfig, ModernBertForSequenceClassification
    cases = []
    for cid, extra in MODERNBERT_CONFIGS:
        cfg_json = {**MODERNBERT_BASE, **extra}
        case = {"id": cid, "config": cfg_json}
        try:
            kw = {k: v for k, v in cfg_json.items() if k != "model_type"}
            cfg = ModernBertConfig(**json.loads(json.dumps(kw)))
            case["resolved"] = {"layer_types": list(cfg.layer_types), "sliding_window": cfg.sliding_window,
                                "local_attention": cfg.local_attention,
                                "rope_parameters": {k: dict(v) for k, v in sorted(cfg.rope_parameters.items())},
                                "hidden_activation": cfg.hidden_activation, "classifier_pooling": cfg.classifier_pooling}
            try:
                m = ModernBertForSequenceClassification(cfg).eval()
                with torch.no_grad():
                    m(input_ids=torch.tensor([[1, 5, 6, 2]]), attention_mask=torch.tensor([[1, 1, 1, 1]]))
                case["model_runs"] = True
                # The rotary inverse frequencies the model computed, per layer kind (fp32, as hex for exactness).
                case["inv_freq_fp32_hex"] = {k: [float(x).hex() for x in getattr(m.model.rotary_emb, f"{k}_inv_freq").tolist()]
                                             for k in m.model.rotary_emb.layer_types}
            except Exception as e:  # noqa: BLE001 - what the reference does with it is the record
                case["model_runs"] = False
                case["model_error"] = f"{type(e).__name__}: {str(e)[:200]}"
        except Exception as e:  # noqa: BLE001
            case["error"] = f"{type(e).__name__}: {str(e)[:200]}"
        cases.append(case)
    g = {"provenance": provenance(None),
         "what": "transformers.ModernBertConfig(**config) (config.json's keys without model_type): layer_types, sliding_window "
                 "(= local_attention // 2, the half window: |i - j| <= sliding_window), rope_parameters per layer kind; "
                 "model_runs: ModernBertForSequenceClassification built on it runs one forward pass",
         "cases": cases}
    out = REPO / "golden" / "tiny-modernbert" / "config-resolution.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_data.dumps(g) + "\n", encoding="utf-8")
    print(json.dumps({"file": str(out.relative_to(REPO)), "cases": len(cases),
                      "errors": [c["id"] for c in cases if "error" in c],
                      "not_running": [c["id"] for c in cases if c.get("model_runs") is False]}), flush=True)


def main() -> None:
    only = set(sys.argv[1:])
    for spec in MODELS:
        if not only or spec[0] in only or "models" in only:
            if not (REPO / spec[1] / "config.json").exists():
                raise SystemExit(f"missing {spec[1]}: run scripts/fetch_models.sh first")
            model_golden(*spec)
    for name, rel in TOKENIZERS:
        if not only or "tokenizers" in only or name in only:
            tokenizer_golden(name, rel)
    if not only or "modernbert-configs" in only or "tiny-modernbert" in only:
        modernbert_config_golden()


if __name__ == "__main__":
    main()
