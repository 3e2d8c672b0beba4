"""Ranked-list fidelity of int8 models against a golden's reference, under cetool's int8 profile (reference venv).

  ref/bin/python bench/int8_lists.py --golden golden/minilm-l6-rr-roberta/golden.json \
      --onnx ort-int8=.models/onnx/minilm-l6-rr-roberta/model-int8.onnx --cetool-model int8=DIR [--cetool BIN]

For every ranked list of the golden (the seed list and the held-out lists: documents scored as golden cases), each
system's logits of the list's pairs are compared with the reference's (the golden's `logits`) as
formats/golden.md's int8 profile does: Spearman ≥ 0.99, or every document pair ordered differently is a near-tie
(reference logits within 2 × 1e-2); top-1 agrees when the new top document is the reference's or a near-tie of it.
ONNX Runtime models (bench/export_onnx.py) get the model's own tokenizer (padding, truncation at the golden's
max_length); cetool runs `cetool predict --activation identity`. This is a fidelity check, not a timing.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

REPO = pathlib.Path(__file__).resolve().parent.parent
NEAR_TIE = 1e-2  # the int8 profile's per-document bound (fp16's)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    def ranks(x):
        order = np.argsort(x, kind="stable")
        r = np.empty(len(x))
        r[order] = np.arange(len(x))
        for v in np.unique(x):  # average ranks of ties
            idx = np.where(x == v)[0]
            if len(idx) > 1:
                r[idx] = r[idx].mean()
        return r
    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def list_check(ours: np.ndarray, ref: np.ndarray) -> dict:
    rho = spearman(ours, ref)
    beyond = 0
    reordered = 0
    for i in range(len(ref)):
        for j in range(i + 1, len(ref)):
            if np.sign(ours[i] - ours[j]) != np.sign(ref[i] - ref[j]):
                reordered += 1
                if abs(ref[i] - ref[j]) > 2 * NEAR_TIE:
                    beyond += 1
    top_ref, top_ours = int(np.argmax(ref)), int(np.argmax(ours))
    top1 = top_ref == top_ours or abs(ref[top_ref] - ref[top_ours]) <= 2 * NEAR_TIE
    return {"spearman": rho, "reordered_pairs": reordered, "beyond_near_tie": beyond,
            "passes": rho >= 0.99 or beyond == 0, "top1": top1}


def onnx_logits(path: str, model_dir: str, pairs: list[tuple[str, str]], max_length: int, threads: int) -> np.ndarray:
    import onnxruntime as ort
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(model_dir)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    out = []
    for s in range(0, len(pairs), 16):
        batch = pairs[s:s + 16]
        enc = tok([q for q, _ in batch], [d for _, d in batch], padding=True, truncation=True, max_length=max_length,
                  return_tensors="np")
        out.append(sess.run(["logits"], {k: enc[k].astype(np.int64) for k in enc if k in names})[0][:, 0])
    return np.concatenate(out)


def cetool_logits(binary: str, model: str, pairs: list[tuple[str, str]], threads: int) -> np.ndarray:
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".jsonl", delete=False) as f:
        for q, d in pairs:
            f.write(json.dumps({"query": q, "document": d}, ensure_ascii=False) + "\n")
        path = f.name
    try:
        out = subprocess.run([binary, "predict", model, "--pairs", path, "--activation", "identity", "--threads", str(threads),
                              "--no-progress"], capture_output=True, text=True)
    finally:
        os.unlink(path)
    if out.returncode != 0:
        raise SystemExit(f"cetool predict failed: {out.stderr[-2000:]}")
    return np.array([json.loads(l)["score"] for l in out.stdout.splitlines() if l.strip()], dtype=np.float64)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden", required=True)
    ap.add_argument("--onnx", action="append", default=[], help="LABEL=model.onnx (tokenizer from the golden's model_dir)")
    ap.add_argument("--cetool-model", action="append", default=[], help="LABEL=FOLDER")
    ap.add_argument("--cetool", default=str(REPO / ".build/release/cetool"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    g = json.loads(pathlib.Path(args.golden).read_text(encoding="utf-8"))
    by_id = {c["id"]: c for c in g["cases"]}
    lists = []
    for r in g["rankings"]:
        prefix = "seed" if r["id"] == "seed" else r["id"]
        ids = [f"{prefix}-{j:02d}" if prefix == "seed" else f"{prefix}-d{j:02d}" for j in range(len(r["documents"]))]
        if all(i in by_id for i in ids):
            lists.append((r["id"], ids))
    pair_ids = [i for _, ids in lists for i in ids]
    pairs = [(by_id[i]["query"], by_id[i]["document"]) for i in pair_ids]
    ref = {i: by_id[i]["logits"][0] for i in pair_ids}
    model_dir = str(REPO / g["model_dir"])

    systems = [(l, "onnx", p) for l, p in (s.split("=", 1) for s in args.onnx)]
    systems += [(l, "cetool", p) for l, p in (s.split("=", 1) for s in args.cetool_model)]
    print(f"{args.golden}: {len(lists)} ranked lists, {len(pairs)} pairs")
    for label, kind, target in systems:
        logits = onnx_logits(target, model_dir, pairs, g["max_length"], args.threads) if kind == "onnx" else \
            cetool_logits(args.cetool, target, pairs, args.threads)
        ours = dict(zip(pair_ids, logits))
        deltas = np.abs(np.array([ours[i] - ref[i] for i in pair_ids]))
        checks = {lid: list_check(np.array([ours[i] for i in ids]), np.array([ref[i] for i in ids])) for lid, ids in lists}
        failing = sorted(l for l, c in checks.items() if not c["passes"])
        print(f"  {label:16s} |Δlogit| max {deltas.max():.4g} mean {deltas.mean():.4g}; min Spearman "
              f"{min(c['spearman'] for c in checks.values()):.4f}; top-1 {sum(c['top1'] for c in checks.values())}/{len(checks)}; "
              f"lists failing the int8 profile: {len(failing)} {failing}; pairs beyond the near-tie bound: "
              f"{sum(c['beyond_near_tie'] for c in checks.values())}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
