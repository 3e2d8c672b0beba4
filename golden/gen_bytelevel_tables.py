"""Writes Sources/CETokenizers/ByteLevelTables.swift: the onig `\\p{L}` and `\\p{N}` classes of the GPT-2 regex in
tokenizers' ByteLevel pre-tokenizer, probed on every Unicode scalar through tokenizers itself (reference venv):

  ref/bin/python golden/gen_bytelevel_tables.py > Sources/CETokenizers/ByteLevelTables.swift

The Swift runtime's Unicode data is newer than the reference's onig tables (about 4,600 scalars differ), so the
classes are taken from the reference, not from `Unicode.Scalar.Properties`. `\\s` is Rust `char::is_whitespace`
(the same 25 scalars; checked by this script).
"""
import tokenizers
from tokenizers import Regex, pre_tokenizers

CPS = [c for c in range(0x110000) if not (0xD800 <= c <= 0xDFFF)]


def matched(pattern: str) -> list[int]:
    split = pre_tokenizers.Split(Regex(pattern), "removed")  # matches vanish; the kept pieces carry char offsets
    kept = set()
    for i in range(0, len(CPS), 20000):
        block = CPS[i:i + 20000]
        for _, (a, b) in split.pre_tokenize_str("".join(map(chr, block))):
            kept.update(block[a:b])
    return [c for c in CPS if c not in kept]


def ranges(cps: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for c in cps:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def table(name: str, doc: str, cps: list[int]) -> str:
    flat = [f"0x{v:X}" for r in ranges(cps) for v in r]
    rows = [", ".join(flat[i:i + 8]) + "," for i in range(0, len(flat), 8)]
    return f"    /// {doc}\n    static let {name}: [UInt32] = [\n" + "\n".join("        " + r for r in rows) + "\n    ]\n"


def main() -> None:
    space = matched(r"\s")
    assert set(space) == {0x9, 0xA, 0xB, 0xC, 0xD, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000}, space
    print(f"// Generated from tokenizers {tokenizers.__version__} (Rust, onig) by golden/gen_bytelevel_tables.py: the classes of the")
    print("// ByteLevel pre-tokenizer's GPT-2 regex, probed on every Unicode scalar. Do not edit by hand.")
    print("// Each table is a sorted flat list of inclusive ranges: [lo0, hi0, lo1, hi1, ...].")
    print()
    print("enum ByteLevelTables {")
    print(table("letter", "onig `\\p{L}` (Lu Ll Lt Lm Lo in the reference's Unicode version).", matched(r"\p{L}")))
    print(table("number", "onig `\\p{N}` (Nd Nl No in the reference's Unicode version).", matched(r"\p{N}")).rstrip("\n"))
    print("}")


if __name__ == "__main__":
    main()
