"""export-onnx of the tiny decoders against transformers on padded batches (reference venv; not a golden, a check).

  ref/bin/python scripts/onnx_decoder_padding.py [--cetool .build/release/cetool] [--attn sdpa|eager]

For each decoder golden model (golden/models/tiny-qwen3*, tiny-qwen2, tiny-llama): `cetool export-onnx` into a temporary
folder, then five pairs (a pad id inside and at the end of a pair, a pair of only pad ids, CJK and emoji) padded right
and left in one batch, scored by transformers' AutoModelForSequenceClassification and by onnxruntime; prints the max
|Δlogit| per row. Then tiny-qwen2 with pad_token_id null in config.json, pair by pair (transformers refuses batches
over 1 without a pad id). Figures in formats/onnx.md ("Round trip").
"""
import argparse
import json
import pathlib
import shutil
import subprocess
import tempfile

import numpy as np
import onnxruntime as ort
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

REPO = pathlib.Path(__file__).resolve().parent.parent
PAIRS = [("where is the station", "near the river and far from it all"), ("a", "b"), ("yes or no", "no<|endoftext|><|endoftext|>"),
         ("<|endoftext|>", "<|endoftext|>"), ("数字123456 and 7", "emoji 🙂🙂 done\r\n" * 3)]


def run(onnx_path: pathlib.Path, tok, model, enc) -> tuple[np.ndarray, np.ndarray]:
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits.numpy()
    got = sess.run(["logits"], {"input_ids": enc["input_ids"].numpy(), "attention_mask": enc["attention_mask"].numpy()})[0]
    return ref, got


def check(cetool: str, src: pathlib.Path, tmp: pathlib.Path, attn: str) -> None:
    out = tmp / src.name
    subprocess.run([cetool, "export-onnx", str(src), "--output", str(out)], check=True, stdout=subprocess.DEVNULL)
    tok = AutoTokenizer.from_pretrained(str(src))
    model = AutoModelForSequenceClassification.from_pretrained(str(src), attn_implementation=attn).eval()
    if model.config.pad_token_id is None:
        d = [np.abs(np.subtract(*run(out / "onnx/model.onnx", tok, model, tok([q], [p], return_tensors="pt")))).max() for q, p in PAIRS]
        print(json.dumps({"model": src.name, "padding": "none (batch 1, no pad id)", "max_abs_delta": float(max(d))}))
        return
    for side in ("right", "left"):
        tok.padding_side = side
        enc = tok([q for q, _ in PAIRS], [p for _, p in PAIRS], padding=True, return_tensors="pt")
        ref, got = run(out / "onnx/model.onnx", tok, model, enc)
        print(json.dumps({"model": src.name, "padding": side, "attn": attn, "max_abs_delta_per_row": np.abs(ref - got).max(axis=1).tolist()}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cetool", default=str(REPO / ".build/release/cetool"))
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = pathlib.Path(t)
        for name in ["tiny-qwen3", "tiny-qwen3-gqa4", "tiny-qwen3-mha", "tiny-qwen2", "tiny-llama"]:
            check(args.cetool, REPO / "golden/models" / name, tmp, args.attn)
        nopad = tmp / "src" / "tiny-qwen2-no-pad-id"
        shutil.copytree(REPO / "golden/models/tiny-qwen2", nopad)
        cfg = json.loads((nopad / "config.json").read_text(encoding="utf-8"))
        cfg["pad_token_id"] = None
        (nopad / "config.json").write_text(json.dumps(cfg, indent=2), encoding="utf-8")
        check(args.cetool, nopad, tmp, args.attn)


if __name__ == "__main__":
    main()
