"""Scores what `cetool export-onnx` wrote with ONNX Runtime and sentence-transformers' ONNX backend (reference venvs).

  ref/bin/python golden/roundtrip_onnx.py [--cetool .build/release/cetool] [--st-python /tmp/ref-onnx/bin/python]

For each (model, precision) below, cetool writes a folder into a temporary directory (`cetool export-onnx SRC --output
DIR [--dtype fp16]`, or from an int8 artifact `cetool convert` made first); then two loaders score the same pairs and
rankings as the model's own golden (golden/<model>/golden.json, same ids):

- `onnxruntime`: the folder's tokenizer (transformers AutoTokenizer, as CrossEncoder.preprocess calls it:
  truncation="longest_first", padding=True, max_length = the golden's) and onnxruntime.InferenceSession on
  onnx/model.onnx (CPU, 2 threads), fed the inputs the model declares, batches of 32 in the golden's order;
  scores = the golden's activation applied to the logits.
- `sentence-transformers`: `CrossEncoder(DIR, backend="onnx")` in a second venv (--st-python): sentence-transformers
  5.x with optimum-onnx, which pins transformers < 4.58 and cannot live in the transformers-5 reference venv
  (/work/shared/REFERENCE.md). Skipped with --st-python "".

The model bytes are cetool's; every number recorded here is computed by ONNX Runtime (and sentence-transformers).
Output: golden/roundtrip/onnx.json (formats/onnx.md, "Round trip"). CEOnnxTests.OnnxRoundTripTests re-exports each
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
OUT = HERE / "roundtrip" / "onnx.json"

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
    ap.add_argument("--resume", action="store_true", help="keep the sets golden/roundtrip/onnx.json already holds")
    ap.add_argument("--st-worker", nargs=2, metavar=("DIR", "GOLDEN"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.st_worker:
        st_worker(*args.st_worker)
        return
    import onnxruntime
    import tokenizers
    import transformers
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
        for name, src, golden_rel, precision in SETS:
            if (name, precision) in done:
                continue
            out_dir = pathlib.Path(tmp) / f"{name}-{precision}"
            cmd = [str(cetool), "export-onnx", str(REPO / src), "--output", str(out_dir)]
            if precision != "fp32":
                cmd += ["--dtype", precision]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            golden = json.loads((REPO / golden_rel).read_text(encoding="utf-8"))
            pairs = [[c["query"], c["document"]] for c in golden["cases"]]
            ref_logits = np.array([c["logits"] for c in golden["cases"]], dtype=np.float32)
            scorer = OrtScorer(out_dir, golden["max_length"])
            logits, names = scorer.logits(pairs), scorer.names
            entry = {
                "model": name, "source_dir": src, "golden": golden_rel, "precision": precision,
                "exported_with": "cetool export-onnx SRC --output DIR" + (f" --dtype {precision}" if precision != "fp32" else ""),
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
