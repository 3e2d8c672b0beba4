#!/usr/bin/env python3
"""Export a HF cross-encoder directory to ONNX (fp32) and dynamic-int8 twins, for bench/run.py.

    ref/bin/python bench/export_onnx.py --model .models/minilm-l6-ce
      -> .models/onnx/minilm-l6-ce/{model.onnx, model-int8.onnx, model-fused.onnx, model-fused-int8.onnx,
                                    export.json}

model.onnx: torch.onnx.export of the model as CrossEncoder loads it (transformers 5, attention "sdpa"),
TorchScript exporter (dynamo=False: the dynamo exporter needs onnxscript, which the reference venv
does not ship; optimum does not import with transformers 5), module in .eval(), inputs input_ids /
attention_mask / token_type_ids (the last only when the tokenizer returns it; int64 [batch, sequence], both axes
dynamic), output logits
[batch, num_labels].

model-fused.onnx (skip with --no-fused): the same weights exported with attn_implementation="eager",
then onnxruntime.transformers.optimizer (model_type "bert"), which fuses Attention, EmbedLayerNorm,
SkipLayerNorm and BiasGelu the way optimum's O2 level does. ORT's optimizer does not recognise the
attention pattern of the sdpa export (transformers 5 masks with IsNaN/Where), hence the eager export.

*-int8.onnx: onnxruntime.quantization.quantize_dynamic, QInt8 weights (activations quantized to uint8
at run time). per_channel x reduce_range candidates are written to a scratch folder and scored against
PyTorch on the check pairs; the one with the smallest max |dlogit| is kept. quant_pre_process is not
used. The choice and every candidate's figures go to export.json.

Parity: real pairs (golden/inputs/pairs.jsonl), max |dlogit| of ONNX Runtime against PyTorch fp32
(CrossEncoder.predict, identity activation), same tokenization (the model's HF tokenizer,
padding=True, truncation=True, max_length = the CrossEncoder's max_seq_length).
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
    # Every kind of pair in the file: an even stride over it, plus the longest pair (truncation path).
    step = max(1, len(rows) // n)
    picked = rows[::step][:n]
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
                    help="7-bit weights; ORT suggests it for x86 without VNNI (U8S8 saturation)")
    ap.add_argument("--no-fused", action="store_true", help="skip model-fused.onnx / model-fused-int8.onnx")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--force", action="store_true", help="overwrite an existing export")
    args = ap.parse_args()

    os.chdir(ROOT)
    model_dir = Path(args.model)
    out_dir = Path(args.out_root) / model_dir.resolve().name
    info_path = out_dir / "export.json"
    wanted = ["model.onnx", "model-int8.onnx"] + ([] if args.no_fused else ["model-fused.onnx", "model-fused-int8.onnx"])
    if info_path.exists() and all((out_dir / w).exists() for w in wanted) and not args.force:
        print(f"{out_dir}: already exported (use --force to redo)")
        return 0

    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import CrossEncoder
    from transformers import AutoModelForSequenceClassification

    torch.set_num_threads(args.threads)
    # CrossEncoder gives the max_length and the tokenizer exactly as predict() uses them.
    ce = CrossEncoder(str(model_dir), device="cpu")
    ce.eval()
    max_length = int(ce.max_seq_length)
    tokenizer = ce.tokenizer
    hf = ce[0].model  # e.g. BertForSequenceClassification
    hf.eval()
    cfg = hf.config
    num_labels = int(cfg.num_labels)

    # The model's inputs as its tokenizer returns them (DistilBERT and RoBERTa-family tokenizers give no token_type_ids).
    inputs = [n for n in ("input_ids", "attention_mask", "token_type_ids")
              if n != "token_type_ids" or n in tokenizer.model_input_names]

    class Logits(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *xs):
            return self.m(**dict(zip(inputs, xs))).logits

    pairs = load_pairs(Path(args.pairs), args.check_pairs)

    def encode(batch):
        enc = tokenizer([q for q, _ in batch], [d for _, d in batch], padding=True, truncation=True,
                        max_length=max_length, return_tensors="np")
        return {k: enc[k].astype(np.int64) for k in inputs}

    # PyTorch reference logits, the way CrossEncoder.predict makes them (identity activation).
    ref = np.asarray(ce.predict(pairs, batch_size=16, activation_fn=torch.nn.Identity(), show_progress_bar=False,
                                convert_to_numpy=True), dtype=np.float32).reshape(len(pairs), -1)

    def export(module: torch.nn.Module, path: Path) -> float:
        sample = encode(pairs[:2])  # two pairs of different lengths: padding and both segments are traced
        t0 = time.time()
        with torch.no_grad():
            torch.onnx.export(
                module.eval(),
                tuple(torch.from_numpy(sample[k]) for k in inputs),
                str(path),
                dynamo=False,
                input_names=inputs,
                output_names=["logits"],
                dynamic_axes={**{k: {0: "batch", 1: "sequence"} for k in inputs}, "logits": {0: "batch"}},
                opset_version=args.opset,
                do_constant_folding=True,
            )
        onnx.checker.check_model(str(path))
        return round(time.time() - t0, 2)

    def ort_logits(path: Path, batch_size: int = 16) -> np.ndarray:
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        names = {i.name for i in sess.get_inputs()}
        res = np.zeros((len(pairs), num_labels), dtype=np.float32)
        # Same batch composition as CrossEncoder.predict (sorted by character length, longest first).
        order = np.argsort([-(len(q) + len(d)) for q, d in pairs])
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            feeds = {k: v for k, v in encode([pairs[i] for i in idx]).items() if k in names}
            res[idx] = sess.run(["logits"], feeds)[0]
        return res

    def parity(path: Path) -> dict:
        d = np.abs(ort_logits(path) - ref)
        return {"max_abs_dlogit": float(d.max()), "mean_abs_dlogit": float(d.mean())}

    def quantize_best(src: Path, tag: str) -> tuple[Path, dict]:
        pc_opts = {"auto": [False, True], "yes": [True], "no": [False]}[args.per_channel]
        rr_opts = {"auto": [False, True], "yes": [True], "no": [False]}[args.reduce_range]
        candidates = []
        for pc in pc_opts:
            for rr in rr_opts:
                name = f"{tag}-int8-pc{int(pc)}-rr{int(rr)}.onnx"
                t0 = time.time()
                # DefaultTensorType: shape inference gives no type to outputs of the fused com.microsoft ops
                quantize_dynamic(str(src), str(staging / name), weight_type=QuantType.QInt8, per_channel=pc,
                                 reduce_range=rr, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
                c = {"file": name, "per_channel": pc, "reduce_range": rr, **parity(staging / name),
                     "bytes": (staging / name).stat().st_size, "quantize_seconds": round(time.time() - t0, 2)}
                candidates.append(c)
                print(f"  {tag} int8 per_channel={pc!s:5} reduce_range={rr!s:5}: max |dlogit| = "
                      f"{c['max_abs_dlogit']:.4f}, mean = {c['mean_abs_dlogit']:.4f}, {c['bytes'] / 1e6:.1f} MB")
        best = min(candidates, key=lambda c: (c["max_abs_dlogit"], c["mean_abs_dlogit"]))
        print(f"  {tag} int8 chosen: per_channel={best['per_channel']} reduce_range={best['reduce_range']}")
        return staging / best["file"], {"quantizer": "onnxruntime.quantization.quantize_dynamic",
                                        "weight_type": "QInt8", "quant_pre_process": False, "chosen": best,
                                        "candidates": candidates}

    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
    info: dict = {
        "generator": "bench/export_onnx.py",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "source_model": str(model_dir),
        "source_model_sha256": {p.name: sha256(p) for p in sorted(model_dir.iterdir())
                                if p.suffix in (".safetensors", ".bin")},
        "exporter": "torch.onnx.export(dynamo=False)", "opset": args.opset,
        "inputs": inputs, "dynamic_axes": {"batch": 0, "sequence": 1},
        "output": "logits", "max_length": max_length, "check_pairs": len(pairs),
        "check_pairs_source": args.pairs, "files": {},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "onnx": onnx.__version__,
                     "onnxruntime": ort.__version__, "numpy": np.__version__, "python": sys.version.split()[0]},
    }
    finals: dict[str, Path] = {}
    try:
        # 1. plain export of the model as CrossEncoder runs it
        secs = export(Logits(hf), staging / "model.onnx")
        p = parity(staging / "model.onnx")
        print(f"model.onnx (attention {cfg._attn_implementation}): ONNX Runtime vs PyTorch fp32 on {len(pairs)} "
              f"pairs: max |dlogit| = {p['max_abs_dlogit']:.3g}")
        info["files"]["model.onnx"] = {"attn_implementation": cfg._attn_implementation, "export_seconds": secs,
                                       "dtype": "fp32", **p}
        finals["model.onnx"] = staging / "model.onnx"
        q, qinfo = quantize_best(staging / "model.onnx", "model")
        info["files"]["model-int8.onnx"] = {"from": "model.onnx", "dtype": "int8", **qinfo}
        finals["model-int8.onnx"] = q

        # 2. eager export + ORT transformer fusions
        if not args.no_fused:
            from onnxruntime.transformers import optimizer

            eager = AutoModelForSequenceClassification.from_pretrained(str(model_dir), attn_implementation="eager")
            secs = export(Logits(eager), staging / "eager.onnx")
            opt = optimizer.optimize_model(str(staging / "eager.onnx"), model_type="bert",
                                           num_heads=int(cfg.num_attention_heads), hidden_size=int(cfg.hidden_size))
            stats = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
            opt.save_model_to_file(str(staging / "model-fused.onnx"))
            p = parity(staging / "model-fused.onnx")
            print(f"model-fused.onnx (eager export + onnxruntime.transformers.optimizer, fused {stats}): "
                  f"max |dlogit| = {p['max_abs_dlogit']:.3g}")
            if stats.get("Attention", 0) != int(cfg.num_hidden_layers):
                print(f"  warning: {stats.get('Attention', 0)} fused Attention nodes for {cfg.num_hidden_layers} layers")
            info["files"]["model-fused.onnx"] = {"attn_implementation": "eager", "export_seconds": secs, "dtype": "fp32",
                                                 "optimizer": "onnxruntime.transformers.optimizer model_type=bert",
                                                 "fused_operators": stats, **p}
            finals["model-fused.onnx"] = staging / "model-fused.onnx"
            q, qinfo = quantize_best(staging / "model-fused.onnx", "fused")
            info["files"]["model-fused-int8.onnx"] = {"from": "model-fused.onnx", "dtype": "int8", **qinfo}
            finals["model-fused-int8.onnx"] = q

        # All-or-nothing: move into place only once everything above succeeded.
        for name, src in finals.items():
            shutil.move(str(src), out_dir / name)
            info["files"][name]["bytes"] = (out_dir / name).stat().st_size
            info["files"][name]["sha256"] = sha256(out_dir / name)
        info_path.write_text(json.dumps(info, indent=1) + "\n")
        for name in finals:
            print(f"wrote {out_dir / name} ({(out_dir / name).stat().st_size / 1e6:.1f} MB)")
        print(f"wrote {info_path}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
