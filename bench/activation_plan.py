#!/usr/bin/env python3
"""Copy a cetool int8 artifact with another run-time activation plan (formats/artifact.md, `activations` and
`linear_activations`): the weights' bytes stay, only the plan in the safetensors metadata and the manifest's size and
sha256 of the weights file change. For measuring per-linear choices against the goldens without re-converting
(`cetool verify COPY --golden golden/M/`). Stdlib only.

  python3 bench/activation_plan.py SRC DST --int8 'ffn_up,attn_q' [--int16 'blk.5.ffn_down']
  python3 bench/activation_plan.py SRC DST --all int8

--int8 takes linear kinds (attn_q, attn_qkv, attn_out, ffn_up, ffn_down) or full names (blk.3.ffn_down); every other
int8 linear gets int16. --int16 then forces names back to int16.
"""
import argparse, hashlib, json, shutil, struct, sys
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("src"); ap.add_argument("dst")
    ap.add_argument("--all", choices=["int8", "int8_grouped", "int16"])
    ap.add_argument("--int8", default="")
    ap.add_argument("--int16", default="")
    ap.add_argument("--mode", choices=["int8", "int8_grouped"], default="int8", help="the mode --int8's linears get")
    a = ap.parse_args()
    src, dst = Path(a.src), Path(a.dst)
    raw = (src / "cetool-model.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header["__metadata__"]
    plan = json.loads(meta["cetool.plan"])
    layers = json.loads(meta["cetool.hyperparameters"])["num_hidden_layers"]
    qkv = "attn_qkv" if meta["cetool.architecture"] == "modernbert" else "attn_q"
    linears = [f"blk.{i}.{k}" for i in range(layers) for k in (qkv, "attn_out", "ffn_up", "ffn_down")]
    want8 = {s for s in a.int8.split(",") if s}
    want16 = {s for s in a.int16.split(",") if s}
    modes = {}
    for l in linears:
        kind = l.split(".", 2)[2]
        m = a.all or (a.mode if (kind in want8 or l in want8) else "int16")
        if l in want16:
            m = "int16"
        modes[l] = m
    new = {}
    for k, v in plan.items():
        if k == "linear_activations":
            continue
        if k == "activations" and a.all and not want16:
            new[k] = a.all  # one word for the whole model: a per-linear table may not fit the header's padding
            continue
        if k == "activations":
            new[k] = "per_linear"
            new["linear_activations"] = modes
            continue
        new[k] = v
    meta["cetool.plan"] = json.dumps(new, ensure_ascii=False, separators=(",", ":"))
    body = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    data_start = 8 + n
    # Tensor offsets count from the data section's start, so the header may grow: pad it with spaces to keep that
    # start 64-byte aligned.
    size = max(n, len(body))
    size += -(8 + size) % 64
    body += b" " * (size - len(body))
    out = struct.pack("<Q", size) + body + raw[data_start:]
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    (dst / "cetool-model.safetensors").write_bytes(out)
    manifest = json.loads((dst / "cetool.json").read_text())
    for f in manifest["files"]:
        if f["path"] == "cetool-model.safetensors":
            f["size"] = len(out)
            f["sha256"] = hashlib.sha256(out).hexdigest()
    (dst / "cetool.json").write_text(json.dumps(manifest, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(sum(m != "int16" for m in modes.values()), "of", len(modes), "linears on int8 inputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
