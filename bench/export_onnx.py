#!/usr/bin/env python3
"""Export a HF cross-encoder directory to ONNX (fp32) and a dynamic-int8 twin, for bench/run.py.

    ref/bin/python bench/export_onnx.py --model .models/minilm-l6-ce
      -> .models/onnx/minilm-l6-ce/{model.onnx, model-int8.onnx, export.json}

fp32: torch.onnx.export (TorchScript exporter, dynamo=False: the dynamo exporter needs onnxscript,
which the reference venv does not ship; optimum does not import with transformers 5), module in
.eval(), inputs input_ids / attention_mask / token_type_ids (int64 [batch, sequence], both axes
dynamic), output logits [batch, num_labels].

int8: onnxruntime.quantization.quantize_dynamic, QInt8 weights (activations are quantized at run
time to uint8 by ORT's dynamic quantizer). per_channel x reduce_range candidates are all written to a
scratch folder and scored against PyTorch on the check pairs; the one with the smallest max |dlogit|
becomes model-int8.onnx. The choice and every candidate's figures go to export.json.

Parity is checked on real pairs (golden/inputs/pairs.jsonl): max |dlogit| of ONNX Runtime against
PyTorch fp32, same tokenization (the model's HF tokenizer, padding=True, truncation=True,
max_length = the CrossEncoder's max_seq_length).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_pairs(path: Path, n: int) -> list[tuple[str, str]]:
    rows = [json.loads(l) for l in path.read_text(encoding="utf-8").split("\n") if l.strip()]
    # Every kind of pair in the file, longest included: take an even stride over the file.
    step = max(1, len(rows) // n)
    picked = rows[::step][:n]
    # Make sure the longest pair (truncation path) is in the check set.
    longest = max(rows, key=lambda r: len(r["query"]) + len(r["document"]))
    if longest not in picked:
        picked[-1] = longest
    return [(r["query"], r["document"]) for r in picked]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=".models/minilm-l6-ce", help="HF cross-encoder directory")
    ap.add_argument("--out-root", default=".models/onnx", help="writes <out-root>/<model-name>/")
    ap.add_argument("--pairs", default="golden/inputs/pairs.jsonl")
    ap.add_argument("--check-pairs", type=int, default=48, help="pairs used for parity and the int8 choice")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--per-channel", choices=["auto", "yes", "no"], default="auto",
                    help="auto: quantize both ways and keep the more accurate one")
    ap.add_argument("--reduce-range", choices=["auto", "yes", "no"], default="auto",
                    help="7-bit weights; ORT suggests it for AVX2/AVX-512 machines without VNNI (U8S8 saturation)")
    ap.add_argument("--force", action="store_true", help="overwrite an existing export")
    args = ap.parse_args()

    os.chdir(ROOT)
    model_dir = Path(args.model)
    out_dir = Path(args.out_root) / model_dir.resolve().name
    fp32_path, int8_path, info_path = out_dir / "model.onnx", out_dir / "model-int8.onnx", out_dir / "export.json"
    if fp32_path.exists() and int8_path.exists() and info_path.exists() and not args.force:
        print(f"{out_dir}: already exported (use --force to redo)")
        return 0

    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import CrossEncoder

    torch.set_num_threads(2)
    # CrossEncoder gives the max_length and the tokenizer exactly as predict() uses them.
    ce = CrossEncoder(str(model_dir), device="cpu")
    ce.eval()
    max_length = int(ce.max_seq_length)
    tokenizer = ce.tokenizer
    hf = ce[0].model  # BertForSequenceClassification
    hf.eval()
    num_labels = int(hf.config.num_labels)

    class Logits(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).logits

    wrapper = Logits(hf).eval()
    pairs = load_pairs(Path(args.pairs), args.check_pairs)

    def encode(batch):
        enc = tokenizer([q for q, _ in batch], [d for _, d in batch], padding=True, truncation=True,
                        max_length=max_length, return_tensors="np")
        return {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}

    # PyTorch reference logits, the way CrossEncoder.predict makes them (identity activation).
    ref = np.asarray(ce.predict(pairs, batch_size=16, activation_fn=torch.nn.Identity(),
                                show_progress_bar=False, convert_to_numpy=True), dtype=np.float32).reshape(len(pairs), -1)

    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
    try:
        sample = encode(pairs[:2])
        t0 = time.time()
        with torch.no_grad():
            torch.onnx.export(
                wrapper,
                (torch.from_numpy(sample["input_ids"]), torch.from_numpy(sample["attention_mask"]),
                 torch.from_numpy(sample["token_type_ids"])),
                str(staging / "model.onnx"),
                dynamo=False,
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["logits"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "sequence"},
                    "attention_mask": {0: "batch", 1: "sequence"},
                    "token_type_ids": {0: "batch", 1: "sequence"},
                    "logits": {0: "batch"},
                },
                opset_version=args.opset,
                do_constant_folding=True,
            )
        export_s = time.time() - t0
        onnx.checker.check_model(str(staging / "model.onnx"))

        def ort_logits(path: Path, batch_size: int = 16) -> np.ndarray:
            so = ort.SessionOptions()
            so.intra_op_num_threads = 2
            so.inter_op_num_threads = 1
            sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            names = {i.name for i in sess.get_inputs()}
            out = []
            # Same order and batch composition as CrossEncoder.predict (length-sorted, longest first).
            order = np.argsort([-(len(q) + len(d)) for q, d in pairs], kind="stable")
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                feeds = {k: v for k, v in encode([pairs[i] for i in idx]).items() if k in names}
                out.append((idx, sess.run(["logits"], feeds)[0]))
            res = np.zeros((len(pairs), num_labels), dtype=np.float32)
            for idx, lg in out:
                res[idx] = lg
            return res

        fp32 = ort_logits(staging / "model.onnx")
        fp32_delta = float(np.max(np.abs(fp32 - ref)))
        print(f"ONNX Runtime fp32 vs PyTorch fp32 on {len(pairs)} pairs: max |dlogit| = {fp32_delta:.3g}")

        pc_opts = {"auto": [False, True], "yes": [True], "no": [False]}[args.per_channel]
        rr_opts = {"auto": [False, True], "yes": [True], "no": [False]}[args.reduce_range]
        candidates = []
        for pc in pc_opts:
            for rr in rr_opts:
                name = f"int8-pc{int(pc)}-rr{int(rr)}.onnx"
                t0 = time.time()
                quantize_dynamic(str(staging / "model.onnx"), str(staging / name), weight_type=QuantType.QInt8,
                                 per_channel=pc, reduce_range=rr)
                q = ort_logits(staging / name)
                d = np.abs(q - ref)
                c = {"file": name, "per_channel": pc, "reduce_range": rr, "max_abs_dlogit": float(d.max()),
                     "mean_abs_dlogit": float(d.mean()), "bytes": (staging / name).stat().st_size,
                     "quantize_seconds": round(time.time() - t0, 2)}
                candidates.append(c)
                print(f"int8 per_channel={pc!s:5} reduce_range={rr!s:5}: max |dlogit| = {c['max_abs_dlogit']:.4f}, "
                      f"mean = {c['mean_abs_dlogit']:.4f}, {c['bytes'] / 1e6:.1f} MB")
        best = min(candidates, key=lambda c: (c["max_abs_dlogit"], c["mean_abs_dlogit"]))
        print(f"chosen: per_channel={best['per_channel']} reduce_range={best['reduce_range']}")

        info = {
            "generator": "bench/export_onnx.py",
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "source_model": str(model_dir),
            "source_model_sha256": {p.name: sha256(p) for p in sorted(model_dir.iterdir())
                                    if p.suffix in (".safetensors", ".bin")},
            "exporter": "torch.onnx.export(dynamo=False)",
            "opset": args.opset,
            "attn_implementation": getattr(hf.config, "_attn_implementation", None),
            "inputs": ["input_ids", "attention_mask", "token_type_ids"],
            "dynamic_axes": {"batch": 0, "sequence": 1},
            "output": "logits",
            "max_length": max_length,
            "export_seconds": round(export_s, 2),
            "check_pairs": len(pairs),
            "fp32_max_abs_dlogit_vs_pytorch": fp32_delta,
            "int8": {"quantizer": "onnxruntime.quantization.quantize_dynamic", "weight_type": "QInt8",
                     "quant_pre_process": False, "chosen": best, "candidates": candidates},
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                         "onnx": onnx.__version__, "onnxruntime": ort.__version__, "numpy": np.__version__,
                         "python": sys.version.split()[0]},
        }
        # All-or-nothing: move into place only once everything above succeeded.
        shutil.move(str(staging / "model.onnx"), fp32_path)
        shutil.move(str(staging / best["file"]), int8_path)
        info["sha256"] = {"model.onnx": sha256(fp32_path), "model-int8.onnx": sha256(int8_path)}
        info_path.write_text(json.dumps(info, indent=1) + "\n")
        print(f"wrote {fp32_path} ({fp32_path.stat().st_size / 1e6:.1f} MB), "
              f"{int8_path} ({int8_path.stat().st_size / 1e6:.1f} MB), {info_path}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
