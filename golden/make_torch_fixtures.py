#!/usr/bin/env python3
"""Builds the PyTorch-checkpoint fixtures of Tests/CEFormatsTests/Fixtures/torch/ (formats/torch-zip.md).

Run with the reference venv:  /work/ref/bin/python golden/make_torch_fixtures.py

Valid fixtures come from torch.save / torch.jit.save / safetensors.torch.save_file on small seeded state
dicts; each torch.save file has a safetensors twin holding the same bytes (made contiguous). The malicious
corpus is written byte by byte (opcodes via struct, zip records via struct): nothing in it is produced by
pickling a live object, and nothing here ever loads it. Versions and digests go to provenance.json.
"""

import collections
import hashlib
import io
import json
import os
import pickle
import platform
import struct
import sys
import tarfile
import warnings
import zlib

import safetensors
import safetensors.torch
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "CEFormatsTests", "Fixtures", "torch")
OUT = os.path.normpath(OUT)
DESCRIPTIONS = {}


def path(name):
    return os.path.join(OUT, name)


def note(name, text):
    DESCRIPTIONS[name] = text


# --------------------------------------------------------------------------------------------------
# Valid checkpoints from torch itself


class Tiny(torch.nn.Module):
    """A miniature encoder block: embedding, linear, layer norm, an int64 buffer and a 0-d buffer."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(6, 4)
        self.dense = torch.nn.Linear(4, 3)
        self.norm = torch.nn.LayerNorm(3)
        self.register_buffer("position_ids", torch.arange(6, dtype=torch.int64).unsqueeze(0))
        self.register_buffer("scale", torch.tensor(0.125))


def contiguous_clone(sd):
    return {k: v.detach().contiguous().clone() for k, v in sd.items()}


def save_pair(stem, sd, text, **save_kwargs):
    torch.save(sd, path(stem + ".bin"), **save_kwargs)
    safetensors.torch.save_file(contiguous_clone(sd), path(stem + ".safetensors"))
    note(stem + ".bin", text)
    note(stem + ".safetensors", "safetensors twin of " + stem + ".bin")


def make_valid():
    torch.manual_seed(0)
    m = Tiny()
    with torch.no_grad():
        m.norm.weight.uniform_(0.5, 1.5)
        m.norm.bias.uniform_(-0.1, 0.1)
    sd = m.state_dict()  # OrderedDict with _metadata: exercises BUILD
    save_pair("tiny", sd, "Tiny().state_dict(), torch.save defaults (prefix 'tiny', OrderedDict + BUILD _metadata)")

    def cast(dtype):
        return collections.OrderedDict((k, v.to(dtype) if v.is_floating_point() else v) for k, v in sd.items())

    save_pair("tiny_fp16", cast(torch.float16), "tiny with float tensors in float16 (HalfStorage)")
    save_pair("tiny_bf16", cast(torch.bfloat16), "tiny with float tensors in bfloat16 (BFloat16Storage)")
    torch.save(sd, path("tiny_proto4.bin"), pickle_protocol=4)
    note("tiny_proto4.bin", "tiny saved with pickle_protocol=4 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL)")

    emb = torch.randn(5, 4)
    tied = collections.OrderedDict(
        [("embed.weight", emb), ("lm_head.weight", emb), ("row1", emb[1]), ("rows2to3", emb[2:4])]
    )
    save_pair("tied", tied, "one storage, four names: the same tensor twice, a row view (offset 4), a slice (offset 8)")

    w = torch.randn(3, 5)
    x = torch.randn(2, 3, 4)
    h = torch.randn(4, 6).to(torch.float16)
    b = torch.randn(3, 4).to(torch.bfloat16)
    nc = collections.OrderedDict(
        [
            ("w", w),
            ("w_t", w.t()),
            ("w_cols", w[:, 1:4]),
            ("x_perm", x.permute(2, 0, 1)),
            ("x_every_other", x[:, :, ::2]),
            ("h_t", h.t()),
            ("b_t", b.t()),
        ]
    )
    save_pair("noncontig", nc, "non-contiguous views saved as they are: transposes, column slice, permute, step 2; f32, f16, bf16")

    ints = collections.OrderedDict(
        [
            ("f64", torch.randn(3, dtype=torch.float64)),
            ("i64", torch.tensor([-(2**40), 7, 2**62], dtype=torch.int64)),
            ("i32", torch.tensor([-5, 6, 2**31 - 1], dtype=torch.int32)),
            ("i16", torch.tensor([-300, 300], dtype=torch.int16)),
            ("i8", torch.tensor([-7, 7], dtype=torch.int8)),
            ("u8", torch.tensor([0, 255], dtype=torch.uint8)),
            ("bool", torch.tensor([True, False, True])),
            ("u16", torch.tensor([1, 65535], dtype=torch.uint16)),
            ("u32", torch.tensor([1, 2**32 - 1], dtype=torch.uint32)),
            ("u64", torch.tensor([1, 2**63 + 5], dtype=torch.uint64)),
        ]
    )
    save_pair("dtypes", ints, "every DType: typed storages (v2) and uint16/32/64 as UntypedStorage + dtype (v3)")

    p = torch.nn.Parameter(torch.arange(4, dtype=torch.float32))
    q = torch.nn.Parameter(torch.arange(3, dtype=torch.float32) + 10)
    q.note = "attribute"  # a Python attribute: _rebuild_parameter_with_state
    torch.save({"p": p, "q": q}, path("params.bin"))
    note("params.bin", "plain dict of nn.Parameter: _rebuild_parameter and _rebuild_parameter_with_state")

    torch.save({"e": torch.ones(1, 3).expand(4, 3)}, path("expanded.bin"))
    note("expanded.bin", "a stride-0 expanded view, larger than its storage: refused (viewLargerThanStorage)")

    buf = io.BytesIO()
    torch.save({"a": torch.arange(3, dtype=torch.float32)}, buf)
    with open(path("buffer_saved.bin"), "wb") as f:
        f.write(buf.getvalue())
    note("buffer_saved.bin", "torch.save to a BytesIO: prefix 'archive'")
    torch.save({"a": torch.arange(3, dtype=torch.float32)}, path("renamed.weights.pt"))
    note("renamed.weights.pt", "torch.save to renamed.weights.pt: prefix 'renamed.weights' (file name minus its last extension)")

    # Sharded: two torch.save shards and two safetensors shards, each with its index.
    os.makedirs(path("sharded"), exist_ok=True)
    s1 = collections.OrderedDict([("a", torch.arange(4, dtype=torch.float32)), ("b", torch.ones(2, 2))])
    s2 = collections.OrderedDict([("c", torch.full((3,), 2.5))])
    total = sum(t.numel() * t.element_size() for t in list(s1.values()) + list(s2.values()))
    for ext, saver, index_name in (
        ("bin", lambda t, p_: torch.save(t, p_), "pytorch_model.bin.index.json"),
        ("safetensors", lambda t, p_: safetensors.torch.save_file(t, p_), "model.safetensors.index.json"),
    ):
        stem = "pytorch_model" if ext == "bin" else "model"
        names = [f"{stem}-00001-of-00002.{ext}", f"{stem}-00002-of-00002.{ext}"]
        saver(s1, path(os.path.join("sharded", names[0])))
        saver(s2, path(os.path.join("sharded", names[1])))
        index = {"metadata": {"total_size": total}, "weight_map": {"a": names[0], "b": names[0], "c": names[1]}}
        with open(path(os.path.join("sharded", index_name)), "w") as f:
            json.dump(index, f, indent=2)
            f.write("\n")
        note("sharded/" + index_name, "index over two shards")


# --------------------------------------------------------------------------------------------------
# Other formats torch and pickle write, all refused


def make_other_formats():
    torch.save({"a": torch.ones(2)}, path("legacy.bin"), _use_new_zipfile_serialization=False)
    note("legacy.bin", "torch.save(..., _use_new_zipfile_serialization=False): legacy pickle stream")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated in favour of torch.export
        scripted = torch.jit.trace(torch.nn.Linear(2, 2), torch.zeros(1, 2))
        torch.jit.save(scripted, path("scripted.pt"))
    note("scripted.pt", "torch.jit.save of a traced Linear: TorchScript archive (code/, constants.pkl)")

    with open(path("bare.pkl"), "wb") as f:
        f.write(pickle.dumps({"weight": [1.0, 2.0]}, protocol=2))
    note("bare.pkl", "pickle.dumps of a dict of lists (protocol 2), not a torch checkpoint")

    # The members of torch's oldest (tar) format, holding inert pickled ints.
    with tarfile.open(path("legacy_tar.tar"), "w", format=tarfile.USTAR_FORMAT) as tar:
        for member in ("sys_info", "pickle", "storages", "tensors"):
            data = pickle.dumps(0, protocol=2)
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    note("legacy_tar.tar", "a tar with the member names of torch's legacy tar format")


# --------------------------------------------------------------------------------------------------
# Hand-written pickles (pickletools opcode names; never produced by pickling a live object)

PROTO2 = b"\x80\x02"
MARK, STOP, TUPLE, EMPTY_TUPLE, EMPTY_DICT, EMPTY_LIST = b"(", b".", b"t", b")", b"}", b"]"
TUPLE1, TUPLE2, TUPLE3 = b"\x85", b"\x86", b"\x87"
SETITEM, SETITEMS, APPENDS, REDUCE, BINPERSID, NEWFALSE, POP = b"s", b"u", b"e", b"R", b"Q", b"\x89", b"0"


def GLOBAL(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def BINUNICODE(s):
    raw = s.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def SHORT_BINUNICODE(s):
    raw = s.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def BININT(n):
    return b"K" + bytes([n]) if 0 <= n < 256 else b"J" + struct.pack("<i", n)


def BINPUT(i):
    return b"q" + bytes([i])


def BINGET(i):
    return b"h" + bytes([i])


def tup(items):
    return MARK + b"".join(BININT(n) for n in items) + TUPLE


def pid(storage_type, key, numel, tag="storage"):
    return MARK + BINUNICODE(tag) + GLOBAL("torch", storage_type) + BINUNICODE(key) + BINUNICODE("cpu") + BININT(numel) + TUPLE


def rebuild_v2(storage_pid, offset, size, stride):
    hooks = GLOBAL("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE
    args = MARK + storage_pid + BINPERSID + BININT(offset) + tup(size) + tup(stride) + NEWFALSE + hooks + TUPLE
    return GLOBAL("torch._utils", "_rebuild_tensor_v2") + args + REDUCE


def state_dict(items):
    """PROTO 2, {name: value, ...}, STOP with the values given as opcode bytes."""
    body = b"".join(BINUNICODE(k) + v for k, v in items)
    return PROTO2 + EMPTY_DICT + MARK + body + SETITEMS + STOP


def f32(values):
    return struct.pack("<%df" % len(values), *values)


# --------------------------------------------------------------------------------------------------
# A zip writer laid out as torch's (64-byte aligned data, zip64 end records), with knobs to break it


def zip_bytes(records, overlap_first_into_next=False):
    """records: list of (name, data, method) with data already compressed for method 8."""
    out = bytearray()
    central = bytearray()
    spans = []
    for name, data, method, size in records:
        nb = name.encode()
        at = len(out)
        crc = zlib.crc32(data if method == 0 else zlib.decompress(data, -15)) & 0xFFFFFFFF
        # Pad with an extra block ("FB") so the data starts on a 64-byte boundary, as torch does.
        fixed = 30 + len(nb)
        pad = (-(at + fixed + 4)) % 64
        extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
        spans.append([at, nb, extra, data, method, crc, size])
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(data), size, len(nb), len(extra))
        out += nb + extra + data
    if overlap_first_into_next:
        # The first entry claims 40 more bytes: its data now runs over the next local header.
        s = spans[0]
        grown = len(s[3]) + 40
        out[s[0] + 18 : s[0] + 26] = struct.pack("<II", grown, grown)
        s[3] = b"\0" * grown
        s[6] = grown
    for at, nb, extra, data, method, crc, size in spans:
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, len(data), size, len(nb), 0, 0, 0, 0, 0, at
        )
        central += nb
    cd_offset = len(out)
    out += central
    z64_at = len(out)
    n = len(records)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 30, 45, 0, 0, n, n, len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64_at, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), cd_offset, 0)
    return bytes(out)


def torch_layout(pkl, storages, prefix="archive", extra=(), drop=(), deflate=(), **knobs):
    recs = [(prefix + "/data.pkl", pkl, 0, len(pkl))]
    for key, data in storages:
        name = prefix + "/data/" + key
        if name in deflate:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            recs.append((name, c.compress(data) + c.flush(), 8, len(data)))
        else:
            recs.append((name, data, 0, len(data)))
    recs += [(prefix + "/version", b"3\n", 0, 2), (prefix + "/byteorder", b"little", 0, 6)]
    recs += [(n, d, 0, len(d)) for n, d in extra]
    recs = [r for r in recs if r[0] not in drop]
    return zip_bytes(recs, **knobs)


def write(name, data, text):
    with open(path(name), "wb") as f:
        f.write(data)
    note(name, text)


def make_malicious():
    eight = f32([float(i) for i in range(8)])
    good_pkl = state_dict([("w", rebuild_v2(pid("FloatStorage", "0", 8), 0, (2, 4), (4, 1)))])

    write("hand_valid.bin", torch_layout(good_pkl, [("0", eight)]), "hand-built valid checkpoint: w = arange(8) as [2, 4]")

    def reduce_call(module, name, arg):
        return PROTO2 + GLOBAL(module, name) + BINUNICODE(arg) + TUPLE1 + REDUCE + STOP

    for module, name in (("os", "system"), ("builtins", "eval"), ("posix", "system")):
        pkl = reduce_call(module, name, "echo pwned > /tmp/cetool-pwned")
        write(f"mal_reduce_{module}_{name}.bin", torch_layout(pkl, []), f"REDUCE of {module}.{name}")

    # Protocol 4, as pickle writes a REDUCE of os.system: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL.
    body = SHORT_BINUNICODE("os") + b"\x94" + SHORT_BINUNICODE("system") + b"\x94" + b"\x93" + b"\x94"
    body += SHORT_BINUNICODE("echo pwned") + b"\x94" + TUPLE1 + b"\x94" + REDUCE + b"\x94" + STOP
    write("mal_stack_global.bin", torch_layout(b"\x80\x04\x95" + struct.pack("<Q", len(body)) + body, []), "STACK_GLOBAL os.system")

    inst = PROTO2 + MARK + BINUNICODE("echo") + b"i" + b"os\nsystem\n" + STOP
    write("mal_inst.bin", torch_layout(inst, []), "INST os.system")
    obj = PROTO2 + MARK + GLOBAL("collections", "OrderedDict") + b"o" + STOP
    write("mal_obj.bin", torch_layout(obj, []), "OBJ on an allowed class")

    bad_pid = state_dict([("w", rebuild_v2(pid("FloatStorage", "0", 8, tag="module"), 0, (8,), (1,)))])
    write("mal_persid_not_storage.bin", torch_layout(bad_pid, [("0", eight)]), "persistent id tagged 'module'")

    arity = state_dict(
        [("w", GLOBAL("torch._utils", "_rebuild_tensor_v2") + MARK + pid("FloatStorage", "0", 8) + BINPERSID + BININT(0) + tup((8,)) + TUPLE + REDUCE)]
    )
    write("mal_wrong_arity.bin", torch_layout(arity, [("0", eight)]), "_rebuild_tensor_v2 called with 3 arguments")

    # Ten nested lists of ten memo references each (10^10 leaves if anything expanded them); each level
    # but the last is popped once memoised, the last becomes the value of "x".
    laughs = PROTO2 + EMPTY_DICT + BINUNICODE("x") + EMPTY_LIST + BINPUT(1) + MARK + BINUNICODE("lol") * 10 + APPENDS
    for level in range(1, 10):
        laughs += POP + EMPTY_LIST + BINPUT(level + 1) + MARK + BINGET(level) * 10 + APPENDS
    laughs += SETITEM + STOP
    write("mal_billion_laughs.bin", torch_layout(laughs, []), "billion laughs: 10 levels of 10 memo references")

    huge = b"\x80\x04" + b"\x8d" + struct.pack("<Q", 1 << 32) + b"abc" + STOP
    write("mal_huge_string.bin", torch_layout(huge, []), "BINUNICODE8 declaring 4 GiB in a 4-byte remainder")

    # Cut right after the opcode byte of the storage's numel (BININT1 8): its argument is missing.
    cut = good_pkl.index(BINUNICODE("cpu") + BININT(8)) + len(BINUNICODE("cpu")) + 1
    write("mal_truncated.bin", torch_layout(good_pkl[:cut], [("0", eight)]), f"data.pkl cut inside BININT1 at byte {cut - 1}")

    write("mal_after_stop.bin", torch_layout(good_pkl + b"junk", [("0", eight)]), "4 bytes after STOP")

    small = state_dict([("w", rebuild_v2(pid("FloatStorage", "0", 8), 0, (4, 4), (4, 1)))])
    write("mal_view_past_storage.bin", torch_layout(small, [("0", eight)]), "a [4, 4] view of an 8-element storage")
    short = state_dict([("w", rebuild_v2(pid("FloatStorage", "0", 16), 0, (4, 4), (4, 1)))])
    write("mal_storage_short.bin", torch_layout(short, [("0", eight)]), "numel 16 declared, 32-byte record")

    write("zip_overlap.bin", torch_layout(good_pkl, [("0", eight)], overlap_first_into_next=True), "data.pkl overlaps data/0")
    write(
        "zip_duplicate.bin",
        torch_layout(good_pkl, [("0", eight)], extra=[("archive/data/0", eight)]),
        "two entries named archive/data/0",
    )
    write("zip_dotdot.bin", torch_layout(good_pkl, [("0", eight)], extra=[("archive/../evil", b"x")]), "entry archive/../evil")
    write("zip_deflate.bin", torch_layout(good_pkl, [("0", eight)], deflate=("archive/data/0",)), "data/0 compressed with deflate")


def main():
    os.makedirs(OUT, exist_ok=True)
    make_valid()
    make_other_formats()
    make_malicious()
    files = {}
    total = 0
    for root, _, names in os.walk(OUT):
        for n in sorted(names):
            if n == "provenance.json":
                continue
            full = os.path.join(root, n)
            os.chmod(full, 0o644)
            rel = os.path.relpath(full, OUT)
            data = open(full, "rb").read()
            total += len(data)
            files[rel] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "what": DESCRIPTIONS.get(rel, "")}
    prov = {
        "script": "golden/make_torch_fixtures.py",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "safetensors": safetensors.__version__,
        "total_bytes": total,
        "files": dict(sorted(files.items())),
    }
    with open(path("provenance.json"), "w") as f:
        json.dump(prov, f, indent=2)
        f.write("\n")
    print(f"{len(files)} fixtures, {total} bytes in {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
