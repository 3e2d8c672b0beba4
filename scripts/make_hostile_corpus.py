#!/usr/bin/env python3
"""Writes the hostile-file corpus: Tests/HostileCorpusTests/Corpus/<case>/… and manifest.json.

Every case is a small file (or folder) built byte by byte, named for what it attacks, with the typed
error cetool must answer. HostileCorpusTests reads manifest.json and checks each case in process (the
error, a time bound) and all of them again in a child process (peak RSS). Standard library only; the
output is deterministic, so rerunning the script leaves git clean.

    python3 scripts/make_hostile_corpus.py

Manifest fields per case:
  name     folder under Corpus/ (and the attack, in words)
  kind     safetensors | torchzip | pickle | tokenizer | config | modeldir
  file     the input inside the case folder (kinds working on one file)
  expect   list of accepted outcomes: "ok", or an error path "Type.case[.case…]" (wrappers such as
           inFile are skipped; nested errors are followed, e.g. "TorchZipError.pickle.unsupportedOpcode")
  message_excludes   substrings the error's description must not contain (raw control / bidi chars)
  encode   (tokenizer, modeldir) texts to encode after loading; {"repeat": s, "count": n} builds s*n
  base     (modeldir) a folder whose files are copied first, relative to the repository root
  symlinks (modeldir) {name: target} made at test time (absolute targets, or paths inside the case)
  fifo     (modeldir) names made as FIFOs at test time
  sparse   (modeldir) {name: size} sparse files made at test time
"""
import json
import os
import shutil
import struct
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "HostileCorpusTests", "Corpus")
cases = []


def case(name, kind, files, expect, **extra):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for fname, data in files.items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    entry = {"name": name, "kind": kind}
    if kind in ("safetensors", "torchzip", "pickle", "config"):
        (entry["file"],) = files.keys()
    entry["expect"] = expect if isinstance(expect, list) else [expect]
    entry.update(extra)
    cases.append(entry)


# ---------------------------------------------------------------- safetensors

def st(header, data=b"", declared=None):
    h = header.encode("utf-8") if isinstance(header, str) else header
    n = len(h) if declared is None else declared
    return struct.pack("<Q", n) + h + data


def st_entries(entries, data_len=None):
    parts = ['"%s":{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}' % (n, d, json.dumps(s), b, e)
             for n, d, s, b, e in entries]
    return "{" + ",".join(parts) + "}"


F4 = b"\0" * 16  # four F32 zeros
S = "safetensors"
case("st_header_length_beyond_file", S, {"model.safetensors": st("{}", declared=4096)},
     "SafetensorsError.headerLongerThanFile")
case("st_header_length_above_cap", S, {"model.safetensors": st("{}", declared=100_000_001)},
     "SafetensorsError.headerTooLarge")
case("st_header_length_u64_max", S, {"model.safetensors": st("{}", declared=2**64 - 1)},
     "SafetensorsError.headerTooLarge")
case("st_shorter_than_length_field", S, {"model.safetensors": b"\x10\0\0"}, "SafetensorsError.fileTooSmall")
case("st_header_not_utf8", S, {"model.safetensors": st(b'{"\xff\xfe":{}}')}, "SafetensorsError.headerNotUTF8")
case("st_header_not_json", S, {"model.safetensors": st("{this is not json}")}, "SafetensorsError.headerNotJSON")
case("st_header_json_array", S, {"model.safetensors": st("[1,2,3]")}, "SafetensorsError.headerNotAnObject")
case("st_header_nan_offset", S, {"model.safetensors": st('{"w":{"dtype":"F32","shape":[4],"data_offsets":[NaN,16]}}', F4)},
     "SafetensorsError.headerNotJSON")
case("st_duplicate_tensor_keys", S,
     {"model.safetensors": st('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},'
                              '"w":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}}', F4 + F4)},
     "SafetensorsError.headerNotJSON")
case("st_deeply_nested_header", S, {"model.safetensors": st('{"a":' + "[" * 100_000 + "]" * 100_000 + "}")},
     "SafetensorsError.headerNotJSON")
case("st_unknown_dtype", S, {"model.safetensors": st(st_entries([("w", "Q4_K", [4], 0, 16)]), F4)},
     "SafetensorsError.unknownDType")
case("st_fp8_dtype_unsupported", S, {"model.safetensors": st(st_entries([("w", "F8_E4M3", [16], 0, 16)]), F4)},
     "SafetensorsError.unknownDType")
case("st_offsets_gap", S, {"model.safetensors": st(st_entries([("a", "F32", [4], 0, 16), ("b", "F32", [4], 32, 48)]), F4 * 3)},
     "SafetensorsError.offsetsNotContiguous")
case("st_offsets_overlap", S, {"model.safetensors": st(st_entries([("a", "F32", [4], 0, 16), ("b", "F32", [4], 8, 24)]), F4 + F4)},
     "SafetensorsError.offsetsNotContiguous")
case("st_offsets_past_end", S, {"model.safetensors": st(st_entries([("a", "F32", [4], 0, 16), ("b", "F32", [2**40], 16, 16 + 2**42)]), F4)},
     "SafetensorsError.dataSizeMismatch")
case("st_offset_end_before_begin", S, {"model.safetensors": st(st_entries([("a", "F32", [0], 16, 0)]), F4)},
     "SafetensorsError.invalidEntry")
case("st_shape_dtype_bytes_mismatch", S, {"model.safetensors": st(st_entries([("a", "F32", [5], 0, 16)]), F4)},
     "SafetensorsError.sizeMismatch")
case("st_shape_product_overflows", S, {"model.safetensors": st(st_entries([("a", "F32", [2**32, 2**32, 16], 0, 16)]), F4)},
     "SafetensorsError.shapeOverflow")
case("st_shape_bytes_overflow", S, {"model.safetensors": st(st_entries([("a", "F64", [2**61], 0, 16)]), F4)},
     "SafetensorsError.shapeOverflow")
case("st_shape_dimension_beyond_int64", S, {"model.safetensors": st(st_entries([("a", "F32", [2**64 + 4], 0, 16)]), F4)},
     "SafetensorsError.invalidEntry")
case("st_rank_17", S, {"model.safetensors": st(st_entries([("a", "F32", [1] * 17, 0, 4)]), b"\0" * 4)},
     "SafetensorsError.invalidEntry")
case("st_trailing_bytes", S, {"model.safetensors": st(st_entries([("a", "F32", [4], 0, 16)]), F4 + b"tail")},
     "SafetensorsError.dataSizeMismatch")
case("st_metadata_not_strings", S, {"model.safetensors": st('{"__metadata__":{"format":{"x":1}}}')},
     "SafetensorsError.invalidMetadata")
case("st_unknown_entry_field", S,
     {"model.safetensors": st('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"exec":"rm -rf /"}}', F4)},
     "SafetensorsError.invalidEntry")
# Names are data to the reader (the reference accepts them); the importer refuses them by name, escaped.
case("st_nul_and_bidi_in_names", S,
     {"model.safetensors": st(st_entries([("a\\u0000b", "F32", [4], 0, 16), ("evil\\u202egpj.exe", "F32", [4], 16, 32)]), F4 + F4)},
     "ok")

# ---------------------------------------------------------------- zip and torch.save

def le16(v): return struct.pack("<H", v)
def le32(v): return struct.pack("<I", v)
def le64(v): return struct.pack("<Q", v)


class Zip:
    """A zip writer that writes what it is told, consistent or not."""

    def __init__(self):
        self.items = []  # dicts
        self.raw_central = None

    def add(self, name, data, method=0, usize=None, csize=None, local_name=None, offset=None, zip64=False):
        self.items.append(dict(name=name.encode() if isinstance(name, str) else name, data=data, method=method,
                               usize=usize, csize=csize, local_name=local_name, offset=offset, zip64=zip64))

    def bytes(self, entries_declared=None, cd_offset=None):
        out = bytearray()
        central = bytearray()
        offsets = []
        for it in self.items:
            data = it["data"]
            crc = zlib.crc32(data if it["method"] == 0 else it.get("plain", data)) & 0xFFFFFFFF
            if "crc" in it:
                crc = it["crc"]
            csize = len(data) if it["csize"] is None else it["csize"]
            usize = (len(data) if it["method"] == 0 else it["usize"]) if it["usize"] is None else it["usize"]
            if it["offset"] is None:
                at = len(out)
                lname = it["local_name"] or it["name"]
                lcs, lus, lextra = csize, usize, b""
                if it["zip64"]:
                    lcs = lus = 0xFFFFFFFF
                    lextra = le16(1) + le16(16) + le64(usize) + le64(csize)
                out += le32(0x04034B50) + le16(45) + le16(0) + le16(it["method"]) + le16(0) + le16(0) + le32(crc)
                out += le32(lcs) + le32(lus) + le16(len(lname)) + le16(len(lextra)) + lname + lextra + data
            else:
                at = it["offset"]
            offsets.append(at)
            cextra = b""
            ccs, cus, cat = csize, usize, at
            if it["zip64"]:
                ccs = cus = cat = 0xFFFFFFFF
                cextra = le16(1) + le16(24) + le64(usize) + le64(csize) + le64(at)
            central += le32(0x02014B50) + le16(45) + le16(45) + le16(0) + le16(it["method"]) + le16(0) + le16(0)
            central += le32(crc) + le32(ccs) + le32(cus) + le16(len(it["name"])) + le16(len(cextra)) + le16(0)
            central += le16(0) + le16(0) + le32(0) + le32(cat) + it["name"] + cextra
        cd_at = len(out) if cd_offset is None else cd_offset
        n = len(self.items) if entries_declared is None else entries_declared
        z64_at = len(out) + len(central)
        out += central
        # zip64 end record and locator, as torch.save writes them.
        out += le32(0x06064B50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0) + le64(n) + le64(n)
        out += le64(len(central)) + le64(cd_at)
        out += le32(0x07064B50) + le32(0) + le64(z64_at) + le32(1)
        out += le32(0x06054B50) + le16(0) + le16(0) + le16(0xFFFF) + le16(0xFFFF) + le32(0xFFFFFFFF) + le32(0xFFFFFFFF) + le16(0)
        return bytes(out)


# Pickle opcodes (pickletools names).
PROTO2 = b"\x80\x02"
MARK, STOP, TUPLE, EMPTY_TUPLE, EMPTY_DICT, EMPTY_LIST = b"(", b".", b"t", b")", b"}", b"]"
SETITEMS, SETITEM, REDUCE, BUILD, BINPERSID, NEWFALSE, NONE = b"u", b"s", b"R", b"b", b"Q", b"\x89", b"N"
TUPLE1 = b"\x85"


def g(module, name): return b"c" + module.encode() + b"\n" + name.encode() + b"\n"
def s(text): b = text.encode(); return b"X" + le32(len(b)) + b
def i(n): return b"K" + bytes([n]) if 0 <= n < 256 else b"J" + struct.pack("<i", n)
def long1(n): return b"\x8a\x08" + struct.pack("<q", n)
def tup(*items): return MARK + b"".join(items) + TUPLE
def ints(*v): return tup(*[i(x) if x < 2**31 else long1(x) for x in v])


HOOKS = g("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE


def pid(numel, key="0", stype="FloatStorage"):
    return tup(s("storage"), g("torch", stype), s(key), s("cpu"), i(numel) if numel < 2**31 else long1(numel))


def tensor(p, size, stride, offset=0):
    return g("torch._utils", "_rebuild_tensor_v2") + tup(p + BINPERSID, i(offset), ints(*size), ints(*stride), NEWFALSE, HOOKS) + REDUCE


def state_dict(items):
    return PROTO2 + EMPTY_DICT + MARK + b"".join(s(k) + v for k, v in items) + SETITEMS + STOP


def torch_zip(pickle, storages=(("0", F4),), prefix="archive"):
    z = Zip()
    z.add(prefix + "/data.pkl", pickle)
    for k, d in storages:
        z.add(prefix + "/data/" + k, d)
    z.add(prefix + "/version", b"3\n")
    z.add(prefix + "/byteorder", b"little")
    return z.bytes()


VALID_SD = state_dict([("w", tensor(pid(4), [4], [1]))])
T = "torchzip"


def tz(name, expect, pickle=None, storages=(("0", F4),), raw=None, **extra):
    case(name, T, {"pytorch_model.bin": raw if raw is not None else torch_zip(pickle, storages)}, expect, **extra)


# Zip layer.
z = Zip()
z.add("archive/data.pkl", VALID_SD)
plain = b"\0" * (64 << 20)
z.add("archive/data/0", zlib.compress(plain, 9)[2:-4], method=8, usize=len(plain))
z.items[-1]["plain"] = plain
z.add("archive/version", b"3\n")
tz("zip_bomb_deflate_64mib_of_zeros", "TorchZipError.compressedRecord", raw=z.bytes(), max_rss_mib=16)
z = Zip()
z.add("archive/data.pkl", VALID_SD)
z.add("archive/data/0", b"\x03\x00", method=8, usize=2**62, zip64=True)
z.add("archive/version", b"3\n")
tz("zip_declared_uncompressed_4_eib", "TorchZipError.compressedRecord", raw=z.bytes())
# Overlapping entries (the non-recursive zip bomb): data.pkl's declared size reaches into the next entry,
# both headers agreeing.
b = bytearray(torch_zip(VALID_SD))
cd_at = b.find(b"PK\x01\x02")
for off in (18, 22):
    struct.pack_into("<I", b, off, len(VALID_SD) + 40)
for off in (20, 24):
    struct.pack_into("<I", b, cd_at + off, len(VALID_SD) + 40)
tz("zip_overlapping_entries", "TorchZipError.zip.overlappingEntries", raw=bytes(b))
z = Zip()
z.add("archive/data.pkl", VALID_SD)
z.add("archive/data/0", F4)
z.add("archive/data/0", F4 + F4)
z.add("archive/version", b"3\n")
tz("zip_duplicate_entry_names", "TorchZipError.zip.duplicateName", raw=z.bytes())
for nm, label in [("archive/../../../etc/cron.d/x", "dotdot"), ("/etc/passwd", "absolute"), ("C:/Windows/x", "drive_letter"),
                  ("archive\\..\\..\\x", "backslash"), ("archive/\0hidden", "nul")]:
    z = Zip()
    z.add("archive/data.pkl", VALID_SD)
    z.add(nm, F4)
    tz("zip_entry_name_" + label, "TorchZipError.zip.invalidName", raw=z.bytes())
z = Zip()
z.add("archive/data.pkl", VALID_SD)
tz("zip_entry_count_2_pow_60", "TorchZipError.zip.tooManyEntries", raw=z.bytes(entries_declared=2**60))
z = Zip()
z.add("archive/data.pkl", VALID_SD)
tz("zip_entry_count_beyond_directory", "TorchZipError.zip.invalidEndRecord", raw=z.bytes(entries_declared=900_000))
z = Zip()
z.add("archive/data.pkl", VALID_SD)
tz("zip_central_directory_offset_past_end", "TorchZipError.zip.invalidEndRecord", raw=z.bytes(cd_offset=2**40))
z = Zip()
z.add("archive/data.pkl", VALID_SD)
z.add("archive/data/0", F4, offset=2**33, zip64=True)
tz("zip_local_header_past_end", "TorchZipError.zip.entryOutOfBounds", raw=z.bytes())
tz("zip_truncated_half", "TorchZipError.zip.endRecordNotFound", raw=torch_zip(VALID_SD)[:300])
tz("zip_not_a_zip_random", "TorchZipError.notACheckpoint", raw=bytes(range(256)) * 4)

# Pickle layer (inside a torch.save archive). Nothing is imported or called: each is refused by name or opcode.
P = "TorchZipError.pickle."
for module, name in [("os", "system"), ("builtins", "eval"), ("posix", "system"), ("nt", "system"),
                     ("subprocess", "Popen"), ("builtins", "getattr"), ("torch", "load"), ("numpy", "load")]:
    tz("pkl_global_%s_%s" % (module, name), P + "disallowedGlobal",
       PROTO2 + g(module, name) + tup(s("echo pwned > /tmp/cetool-pwned")) + REDUCE + STOP)
tz("pkl_stack_global_os_system", P + "disallowedGlobal",
   PROTO2 + b"\x8c\x02os\x94\x8c\x06system\x94\x93" + tup(s("id")) + REDUCE + STOP)
tz("pkl_reduce_on_storage_type", P + "notCallable", PROTO2 + g("torch", "FloatStorage") + EMPTY_TUPLE + REDUCE + STOP)
tz("pkl_reduce_on_string", P + "notCallable", PROTO2 + s("os.system") + tup(s("id")) + REDUCE + STOP)
tz("pkl_reduce_on_dtype", P + "notCallable", PROTO2 + g("torch", "float32") + EMPTY_TUPLE + REDUCE + STOP)
tz("pkl_build_on_plain_dict", P + "buildNotAllowed", PROTO2 + EMPTY_DICT + EMPTY_DICT + s("__setstate__") + NONE + SETITEM + BUILD + STOP)
tz("pkl_build_on_list", P + "buildNotAllowed", PROTO2 + EMPTY_LIST + EMPTY_DICT + BUILD + STOP)
tz("pkl_inst", P + "unsupportedOpcode", PROTO2 + MARK + b"ios\nsystem\n" + STOP)
tz("pkl_obj", P + "unsupportedOpcode", PROTO2 + MARK + g("collections", "OrderedDict") + b"o" + STOP)
tz("pkl_newobj", P + "unsupportedOpcode", PROTO2 + g("collections", "OrderedDict") + EMPTY_TUPLE + b"\x81" + STOP)
tz("pkl_newobj_ex", P + "unsupportedOpcode", PROTO2 + g("collections", "OrderedDict") + EMPTY_TUPLE + EMPTY_DICT + b"\x92" + STOP)
tz("pkl_ext1", P + "unsupportedOpcode", PROTO2 + b"\x82\x01" + STOP)
tz("pkl_ext2", P + "unsupportedOpcode", PROTO2 + b"\x83\x01\x00" + STOP)
tz("pkl_ext4", P + "unsupportedOpcode", PROTO2 + b"\x84\x01\x00\x00\x00" + STOP)
tz("pkl_text_persid", P + "unsupportedOpcode", PROTO2 + b"P0\n" + STOP)
tz("pkl_long4", P + "unsupportedOpcode", PROTO2 + b"\x8b\xff\xff\xff\x7f" + STOP)
tz("pkl_persid_points_at_missing_record", "TorchZipError.storageMissing",
   state_dict([("w", tensor(pid(4, key="7"), [4], [1]))]))
tz("pkl_persid_key_traversal", P + "invalidPersistentID",
   state_dict([("w", tensor(pid(4, key="../../etc/passwd"), [4], [1]))]))
tz("pkl_persid_not_a_tuple", P + "invalidPersistentID", state_dict([("w", s("storage") + BINPERSID)]))
tz("pkl_memo_get_never_put", P + "memoMissing", PROTO2 + NONE + b"r\xff\xff\xff\xff" + b"j\xfe\xff\xff\xff" + STOP)
tz("pkl_memo_sparse_put_4g_index", P + "rootNotADict", PROTO2 + NONE + b"r\xff\xff\xff\xff" + b"0" + b"j\xff\xff\xff\xff" + TUPLE1 + STOP)
tz("pkl_marks_100k_deep", P + "marksTooDeep", PROTO2 + MARK * 100_000 + STOP)
tz("pkl_tuples_200k_deep", P + "rootNotADict", PROTO2 + EMPTY_TUPLE + TUPLE1 * 200_000 + STOP)
tz("pkl_lists_nested_100k", P + "rootNotADict", PROTO2 + EMPTY_LIST + b"q\x00" + (EMPTY_LIST + b"a") * 100_000 + STOP)
tz("pkl_binunicode8_length_2_pow_63", P + "lengthBeyondEnd", PROTO2 + b"\x8d" + le64(2**63) + b"abc" + STOP)
tz("pkl_binunicode_length_4gib", P + "lengthBeyondEnd", PROTO2 + b"X" + le32(0xFFFFFFFF) + b"abc" + STOP)
tz("pkl_frame_length_2_pow_64", P + "lengthBeyondEnd", b"\x80\x04\x95" + le64(2**64 - 1) + NONE + STOP)
tz("pkl_binbytes8", P + "unsupportedOpcode", PROTO2 + b"\x8e" + le64(2**62) + STOP)
tz("pkl_numel_2_pow_60", "TorchZipError.storageSizeMismatch", state_dict([("w", tensor(pid(2**60), [4], [1]))]))
tz("pkl_numel_overflows_bytes", P + "invalidPersistentID", state_dict([("w", tensor(pid(2**62), [4], [1]))]))
tz("pkl_shape_1_tib_over_16_bytes", "TorchZipError.tensorOutOfBounds", state_dict([("w", tensor(pid(4), [2**20, 2**20], [2**20, 1]))]))
tz("pkl_shape_product_overflows", "TorchZipError.shapeOverflow", state_dict([("w", tensor(pid(4), [2**40, 2**40], [0, 0]))]))
tz("pkl_stride_zero_expands_1_tib", "TorchZipError.viewLargerThanStorage", state_dict([("w", tensor(pid(4), [2**20, 2**20], [0, 0]))]))
tz("pkl_negative_offset", P + "invalidArgument", state_dict([("w", g("torch._utils", "_rebuild_tensor_v2")
   + tup(pid(4) + BINPERSID, b"J\xff\xff\xff\xff", ints(4), ints(1), NEWFALSE, HOOKS) + REDUCE)]))
tz("pkl_legacy_magic", "TorchZipError.legacyPickleCheckpoint",
   raw=PROTO2 + b"\x8a\x0a" + bytes([0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]) + STOP)
tz("pkl_bare_reduce_os_system", "TorchZipError.barePickle", raw=PROTO2 + g("os", "system") + tup(s("id")) + REDUCE + STOP)

# ---------------------------------------------------------------- tokenizer.json

with open(os.path.join(ROOT, "golden", "models", "tiny-bert-l1", "tokenizer.json"), encoding="utf-8") as f:
    TOKENIZER = json.load(f)


def tok(name, mutate, expect, encode=None, config=None, **extra):
    t = json.loads(json.dumps(TOKENIZER))
    t = mutate(t) if mutate else t
    files = {"tokenizer.json": t if isinstance(t, (str, bytes)) else json.dumps(t, ensure_ascii=True, separators=(",", ":"))}
    if config is not None:
        files["tokenizer_config.json"] = json.dumps(config)
    case(name, "tokenizer", files, expect, **({"encode": encode} if encode else {}), **extra)


def with_(path, value):
    def m(t):
        d = t
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
        return t
    return m


def small_vocab(extra):
    def m(t):
        t["model"]["vocab"] = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4, "##a": 5}
        for k, v in extra.items():
            t["model"]["vocab"][k] = v
        t["added_tokens"] = [a for a in t["added_tokens"] if a["content"] in t["model"]["vocab"]]
        for a in t["added_tokens"]:
            a["id"] = t["model"]["vocab"][a["content"]]
        t["post_processor"]["special_tokens"]["[CLS]"]["ids"] = [2]
        t["post_processor"]["special_tokens"]["[SEP]"]["ids"] = [3]
        return t
    return m


tok("tok_split_catastrophic_regex", with_(["pre_tokenizer"], {"type": "Split", "pattern": {"Regex": "^(a+)+$"},
                                                              "behavior": "Isolated", "invert": False}),
    "TokenizerError.unsupportedComponent", encode=[{"repeat": "a", "count": 40, "suffix": "!"}])
tok("tok_replace_regex_nested_quantifier", with_(["normalizer"], {"type": "Replace", "pattern": {"Regex": "(x+x+)+y"}, "content": ""}),
    "TokenizerError.unsupportedComponent", encode=[{"repeat": "x", "count": 40}])
tok("tok_json_100k_deep", lambda t: '{"version":"1.0","x":' + "[" * 100_000 + "]" * 100_000 + "}", "TokenizerError.invalidJSON")
tok("tok_word_30k_chars", None, "ok", encode=[{"repeat": "a", "count": 30_000}])
tok("tok_vocab_entry_3000_bytes", small_vocab({"a" * 2999 + "b": 6}), "TokenizerError.invalidField")
# Longest accepted entries with the word limit lifted: each input scalar costs at most 1,024 trie steps.
tok("tok_word_3000_chars_limit_lifted_long_entries", lambda t: with_(["model", "max_input_chars_per_word"], 10**9)(
    small_vocab({"a" * 1023 + "b": 6, "##" + "a" * 1021 + "b": 7})(t)),
    "ok", encode=[{"repeat": "a", "count": 3000}])
tok("tok_max_input_chars_beyond_int64", with_(["model", "max_input_chars_per_word"], 1e300), "TokenizerError.invalidField")
tok("tok_vocab_id_beyond_int32", small_vocab({"b": 2**40}), "TokenizerError.idOutOfRange")
tok("tok_vocab_id_negative", small_vocab({"b": -5}), "TokenizerError.idOutOfRange")
tok("tok_vocab_not_object", with_(["model", "vocab"], [["a", 1]]), "TokenizerError.invalidField")
tok("tok_added_token_id_int32_max", lambda t: (t["added_tokens"].append(
    {"id": 2**31 - 1, "content": "<huge>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}), t)[1],
    "ok", encode=["hello <huge> world"])
tok("tok_unknown_model_type", with_(["model", "type"], "EvilModel"), "TokenizerError.unsupportedComponent")
tok("tok_unk_missing", with_(["model", "unk_token"], "[NOPE]"), "TokenizerError.missingUnknownToken")
tok("tok_version_unknown", with_(["version"], "99.0"), "TokenizerError.invalidField")
tok("tok_template_unknown_special", with_(["post_processor", "single"],
    [{"SpecialToken": {"id": "[EVIL]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]), "TokenizerError.missingSpecialToken")
tok("tok_not_utf8", lambda t: b'{"version":"1.0","model":"\xc3\x28"}', "TokenizerError.invalidJSON")
tok("tok_model_max_length_1e30", None, "ok", config={"tokenizer_class": "BertTokenizer", "model_max_length": 1e30},
    encode=["hello"])

# ---------------------------------------------------------------- config.json

with open(os.path.join(ROOT, "golden", "models", "tiny-bert-l1", "config.json"), encoding="utf-8") as f:
    CONFIG = json.load(f)


def cfg(name, changes, expect, text=None):
    c = dict(CONFIG)
    c.update(changes)
    body = text if text is not None else json.dumps(c, indent=1)
    case(name, "config", {"config.json": body}, expect)


base_text = json.dumps(CONFIG, indent=1)
cfg("cfg_hidden_size_nan", {}, "JSONFileError.invalid", text=base_text.replace('"hidden_size": 32', '"hidden_size": NaN'))
cfg("cfg_hidden_size_infinity_literal", {}, "JSONFileError.invalid", text=base_text.replace('"hidden_size": 32', '"hidden_size": Infinity'))
cfg("cfg_hidden_size_1e400", {}, "ImportError.invalidConfig", text=base_text.replace('"hidden_size": 32', '"hidden_size": 1e400'))
cfg("cfg_hidden_size_1e12", {"hidden_size": 1e12}, "ImportError.invalidConfig")
cfg("cfg_num_hidden_layers_1e9", {"num_hidden_layers": 1_000_000_000}, "ImportError.invalidConfig")
cfg("cfg_vocab_size_negative", {"vocab_size": -1}, "ImportError.invalidConfig")
cfg("cfg_num_attention_heads_zero", {"num_attention_heads": 0}, "ImportError.invalidConfig")
cfg("cfg_heads_do_not_divide_hidden", {"num_attention_heads": 5}, "ImportError.invalidConfig")
cfg("cfg_intermediate_size_string", {"intermediate_size": "64"}, "ImportError.invalidConfig")
cfg("cfg_max_position_embeddings_2_pow_40", {"max_position_embeddings": 2**40}, "ImportError.invalidConfig")
cfg("cfg_num_labels_1e9", {"num_labels": 1_000_000_000}, "ImportError.invalidConfig")
cfg("cfg_id2label_5000_labels", {"id2label": {str(k): "L" for k in range(5000)}}, "ImportError.invalidConfig")
cfg("cfg_id2label_sparse_huge_id", {"id2label": {"0": "a", "9223372036854775807": "b"}}, "ImportError.invalidConfig")
cfg("cfg_layer_norm_eps_negative", {"layer_norm_eps": -1e-12}, "ImportError.invalidConfig")
cfg("cfg_pad_token_id_outside_vocab", {"pad_token_id": 10**9}, "ImportError.invalidConfig")
cfg("cfg_architectures_not_list", {"architectures": "BertForSequenceClassification"}, "ImportError.unsupportedArchitecture")
cfg("cfg_100k_deep", {}, "JSONFileError.invalid", text='{"a":' + "[" * 100_000 + "]" * 100_000 + "}")
cfg("cfg_duplicate_keys", {}, "JSONFileError.invalid", text='{"hidden_size": 32, "hidden_size": 4096}')

# ---------------------------------------------------------------- model folders (shards, symlinks)

BASE = "golden/models/tiny-bert-l1"
SHARDED = "golden/models/tiny-bert-l1-sharded"
EXCL = ["\u0000", "\u202e", "\u001b"]


def modeldir(name, files, expect, base=BASE, **extra):
    case(name, "modeldir", files, expect, base=base, **extra)


def index(weight_map):
    return json.dumps({"metadata": {"total_size": 16}, "weight_map": weight_map})


modeldir("dir_shard_absolute_path", {"model.safetensors.index.json": index({"classifier.weight": "/etc/passwd"})},
         "ShardIndexError.invalidShardName", base=SHARDED, remove=["model.safetensors"])
modeldir("dir_shard_dotdot_path", {"model.safetensors.index.json": index({"classifier.weight": "../../../etc/passwd"})},
         "ShardIndexError.invalidShardName", base=SHARDED)
modeldir("dir_shard_nested_dotdot", {"model.safetensors.index.json": index({"classifier.weight": "sub/../../x.safetensors"})},
         "ShardIndexError.invalidShardName", base=SHARDED)
modeldir("dir_shard_nul_name", {"model.safetensors.index.json": index({"classifier.weight": "a\u0000.safetensors"})},
         "ShardIndexError.invalidShardName", base=SHARDED, message_excludes=EXCL)
# A shard that is a symlink: followed (the HF cache layout is made of them) and then validated like any file.
modeldir("dir_shard_symlink_to_dev_zero", {}, "FileError.notARegularFile", base=SHARDED,
         symlinks={"model-00002-of-00002.safetensors": "/dev/zero"})
modeldir("dir_shard_symlink_to_directory", {}, "ShardIndexError.shardMissing", base=SHARDED,
         symlinks={"model-00002-of-00002.safetensors": "/"})
modeldir("dir_shard_symlink_to_garbage_outside", {"outside.bin": b"\xff" * 64}, "SafetensorsError.headerTooLarge", base=SHARDED,
         symlinks={"model-00002-of-00002.safetensors": "@case/outside.bin"})
modeldir("dir_weights_fifo", {}, "FileError.notARegularFile", fifo=["model.safetensors"])
modeldir("dir_config_symlink_to_dev_zero", {}, "FileError.notARegularFile", symlinks={"config.json": "/dev/zero"})
modeldir("dir_tokenizer_symlink_to_dev_zero", {}, "TokenizerError.unreadableFile",
         symlinks={"tokenizer.json": "/dev/zero"}, max_rss_mib=16)
modeldir("dir_tokenizer_fifo", {}, "TokenizerError.unreadableFile", fifo=["tokenizer.json"])
modeldir("dir_vocab_txt_symlink_to_dev_zero", {}, "TokenizerError.unreadableFile", remove=["tokenizer.json"],
         symlinks={"vocab.txt": "/dev/zero"}, max_rss_mib=16)
modeldir("dir_tokenizer_sparse_1_tib", {}, "TokenizerError.unreadableFile", sparse={"tokenizer.json": 2**40},
         max_rss_mib=16)
modeldir("dir_index_weight_map_missing", {"model.safetensors.index.json": json.dumps({"metadata": {}})},
         "ShardIndexError.weightMapMissing", base=SHARDED)
modeldir("dir_index_tensor_in_wrong_shard", {"model.safetensors.index.json": index({"classifier.weight": "model-00001-of-00002.safetensors"})},
         "ImportError.shardMismatch", base=SHARDED)

# Tensor names with NUL, ESC and a right-to-left override: refused by name, shown escaped.
with open(os.path.join(ROOT, BASE, "model.safetensors"), "rb") as f:
    good = f.read()
n = struct.unpack_from("<Q", good)[0]
header = json.loads(good[8:8 + n])
data = good[8 + n:]
end = len(data)
header["bert.pooler.\u0000\u001b[31m\u202egnp.exe"] = {"dtype": "F32", "shape": [4], "data_offsets": [end, end + 16]}
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
modeldir("dir_tensor_name_control_and_bidi", {"model.safetensors": struct.pack("<Q", len(h)) + h + data + F4},
         "ImportError.unmappedTensor", message_excludes=EXCL)

# ---------------------------------------------------------------- write

# Remove folders of cases that no longer exist.
names = {c["name"] for c in cases}
assert len(names) == len(cases), "duplicate case names"
for d in os.listdir(OUT):
    if d not in names and os.path.isdir(os.path.join(OUT, d)):
        shutil.rmtree(os.path.join(OUT, d))
with open(os.path.join(OUT, "..", "manifest.json"), "w", encoding="utf-8") as f:
    json.dump({"version": 1, "generator": "scripts/make_hostile_corpus.py", "cases": cases}, f, indent=1, ensure_ascii=True)
    f.write("\n")
total = sum(os.path.getsize(os.path.join(r, x)) for r, _, fs in os.walk(OUT) for x in fs)
print(f"{len(cases)} cases, {total / 1024:.0f} KiB in {os.path.relpath(OUT, ROOT)}")
