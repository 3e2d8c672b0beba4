"""Loads what `cetool save-pretrained` wrote with sentence-transformers and records its scores (reference venv).

  ref/bin/python golden/roundtrip_save_pretrained.py [--cetool .build/release/cetool]

For each (model, precision) below, cetool writes a HuggingFace model directory into a temporary folder
(`cetool save-pretrained SRC --output DIR [--dtype fp16]`); then sentence_transformers.CrossEncoder(DIR)
loads it the way users do and scores the same pairs and rankings as the model's own golden
(golden/<model>/golden.json, same ids). The weights are cetool's; every number recorded here is computed
by PyTorch + sentence-transformers. Output: golden/roundtrip/save_pretrained.json (formats/golden.md,
"save_pretrained round trip"). The Swift test (CEArtifactTests.RoundTripTests) re-creates each folder,
checks its model.safetensors sha256 against `saved_sha256`, and compares cetool's scores of the folder
with these within the set's tolerance profile.

Loads per fp16 folder: `default` is CrossEncoder(DIR) as is (config.json dtype float16, so transformers
computes in fp16); `fp32-compute` passes model_kwargs={"dtype": torch.float32} (the same fp16 weights
widened, computed in fp32, which is what cetool does).
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import logging
import pathlib
import platform
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _data  # noqa: E402

import sentence_transformers  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import CrossEncoder  # noqa: E402

REPO = _data.REPO
BATCH_SIZE = 32
OUT = HERE / "roundtrip" / "save_pretrained.json"

torch.set_num_threads(2)
transformers.logging.set_verbosity_error()
logging.getLogger("sentence_transformers").setLevel(logging.ERROR)

# name, source folder, golden with the pairs and rankings, precision, loads
SETS = [
    ("tiny-bert-l1", "golden/models/tiny-bert-l1", "golden/tiny-bert-l1/golden.json", "fp32", ["default"]),
    ("tiny-bert-l1", "golden/models/tiny-bert-l1", "golden/tiny-bert-l1/golden.json", "fp16", ["default", "fp32-compute"]),
    ("minilm-l6-ce", ".models/minilm-l6-ce", "golden/minilm-l6-ce/golden.json", "fp32", ["default"]),
    ("minilm-l6-ce", ".models/minilm-l6-ce", "golden/minilm-l6-ce/golden.json", "fp16", ["default", "fp32-compute"]),
] + [
    # the other architectures: HF names written back per architecture (fp32), fp16 weights computed in fp32
    (m, f"golden/models/{m}", f"golden/{m}/golden.json", precision, ["default" if precision == "fp32" else "fp32-compute"])
    for m in ("tiny-roberta", "tiny-xlmr", "tiny-xlmr-spm", "tiny-camembert", "tiny-distilbert", "tiny-electra", "tiny-modernbert",
              "tiny-modernbert-mean")
    for precision in ("fp32", "fp16")
]


def sha256_file(p: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def f32(x) -> float:
    return float(np.float32(x))


def record(ce: CrossEncoder, golden: dict) -> dict:
    pairs = [[c["query"], c["document"]] for c in golden["cases"]]
    logits = np.asarray(ce.predict(pairs, batch_size=BATCH_SIZE, activation_fn=torch.nn.Identity(), convert_to_numpy=True),
                        dtype=np.float32).reshape(len(pairs), -1)
    scores = np.asarray(ce.predict(pairs, batch_size=BATCH_SIZE, convert_to_numpy=True), dtype=np.float32).reshape(len(pairs), -1)
    out = {"cases": [{"id": c["id"], "logits": [f32(v) for v in logits[k]], "scores": [f32(v) for v in scores[k]]}
                     for k, c in enumerate(golden["cases"])]}
    out["rankings"] = []
    for r in golden.get("rankings", []):
        res = ce.rank(r["query"], r["documents"], batch_size=BATCH_SIZE)
        out["rankings"].append({"id": r["id"], "result": [{"corpus_id": int(x["corpus_id"]), "score": f32(x["score"])} for x in res]})
    return out, logits


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cetool", default=str(REPO / ".build/release/cetool"))
    args = ap.parse_args()
    cetool = pathlib.Path(args.cetool)
    if not cetool.exists():
        raise SystemExit(f"missing {cetool}: swift build -c release first")
    sets = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, src, golden_rel, precision, loads in SETS:
            out_dir = pathlib.Path(tmp) / f"{name}-{precision}"
            cmd = [str(cetool), "save-pretrained", str(REPO / src), "--output", str(out_dir)]
            if precision != "fp32":
                cmd += ["--dtype", precision]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            golden = json.loads((REPO / golden_rel).read_text(encoding="utf-8"))
            ref_logits = np.array([c["logits"] for c in golden["cases"]], dtype=np.float32)
            for load in loads:
                kwargs = {"dtype": torch.float32} if load == "fp32-compute" else {}
                ce = CrossEncoder(str(out_dir), device="cpu", model_kwargs=kwargs)
                rec, logits = record(ce, golden)
                entry = {
                    "model": name, "source_dir": src, "golden": golden_rel, "precision": precision, "load": load,
                    "saved_with": "cetool save-pretrained SRC --output DIR" + (f" --dtype {precision}" if precision != "fp32" else ""),
                    "loaded_with": "CrossEncoder(DIR, device='cpu'" + (", model_kwargs={'dtype': torch.float32})" if kwargs else ")"),
                    "saved_sha256": {f: sha256_file(out_dir / f) for f in ["model.safetensors", "config.json"]},
                    "torch_dtype": str(ce.model.dtype),
                    "max_length": ce.max_seq_length,
                    "activation_fn": f"{type(ce.activation_fn).__module__}.{type(ce.activation_fn).__name__}",
                    "max_abs_delta_logit_vs_source_golden": f32(np.abs(logits - ref_logits).max()),
                    **rec,
                }
                sets.append(entry)
                print(json.dumps({k: entry[k] for k in ["model", "precision", "load", "torch_dtype", "max_length",
                                                        "max_abs_delta_logit_vs_source_golden"]}), flush=True)
    g = {
        "provenance": {
            "generator": "golden/roundtrip_save_pretrained.py",
            "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "versions": {
                "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
                "sentence_transformers": sentence_transformers.__version__, "tokenizers": tokenizers.__version__,
                "numpy": np.__version__,
            },
            "device": "cpu",
            "torch_threads": torch.get_num_threads(),
        },
        "batch_size": BATCH_SIZE,
        "sets": sets,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(_data.dumps(g) + "\n", encoding="utf-8")
    print(json.dumps({"file": str(OUT.relative_to(REPO)), "bytes": OUT.stat().st_size, "sets": len(sets)}))


if __name__ == "__main__":
    main()
