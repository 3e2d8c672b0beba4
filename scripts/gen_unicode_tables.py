# Regenerates Sources/CETokenizers/UnicodeTables.swift by probing tokenizers (Rust) on every scalar.
# usage: python gen_unicode_tables.py > Sources/CETokenizers/UnicodeTables.swift
import tokenizers
from tokenizers import normalizers as N, pre_tokenizers as P
clean = N.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
chin = N.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False)
strip = N.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
nfd, sa, bert, ws = N.NFD(), N.StripAccents(), P.BertPreTokenizer(), P.Whitespace()
sets = {k: [] for k in ["removed", "cleanspace", "space", "punct", "chinese", "mn", "marks", "word"]}
for c in range(0x110000):
    if 0xD800 <= c <= 0xDFFF:
        continue
    ch = chr(c)
    r = clean.normalize_str(ch)
    if r == "": sets["removed"].append(c)
    elif r == " " and ch != " ": sets["cleanspace"].append(c)
    words = [w for w, _ in bert.pre_tokenize_str("a" + ch + "a")]
    if words == ["a", ch, "a"]: sets["punct"].append(c)
    elif words == ["a", "a"]: sets["space"].append(c)
    if chin.normalize_str(ch) == " " + ch + " ": sets["chinese"].append(c)
    if strip.normalize_str(ch) == "" and nfd.normalize_str(ch) == ch: sets["mn"].append(c)
    if sa.normalize_str(ch) == "": sets["marks"].append(c)
    if [w for w, _ in ws.pre_tokenize_str("a" + ch + "a")] == ["a" + ch + "a"]: sets["word"].append(c)
def table(name, doc, cs):
    flat = []
    for c in cs:
        if flat and flat[-1] == c - 1: flat[-1] = c
        else: flat += [c, c]
    out = [f"    /// {d}" for d in doc] + [f"    static let {name}: [UInt32] = ["]
    out += ["        " + ", ".join("0x%X" % x for x in flat[i:i + 8]) + "," for i in range(0, len(flat), 8)]
    return "\n".join(out + ["    ]"])
parts = [
    table("bertRemoved", ["BertNormalizer clean_text: scalars deleted (`c == 0 || c == 0xFFFD || is_control(c)`; `is_control` is",
                          "unicode_categories `is_other()` minus \\t \\n \\r)."], sets["removed"]),
    table("bertCleanWhitespace", ["BertNormalizer clean_text: scalars replaced by U+0020 (`\\t \\n \\r` or `char::is_whitespace`, after deletion)."], sets["cleanspace"]),
    table("whitespace", ["Rust `char::is_whitespace` (BertPreTokenizer, WhitespaceSplit, Strip; same set as onig `\\s` in Whitespace)."], sets["space"]),
    table("bertPunctuation", ["BertPreTokenizer / Punctuation: `char::is_ascii_punctuation(c) || c.is_punctuation()` (unicode_categories P*)."], sets["punct"]),
    table("chinese", ["BertNormalizer handle_chinese_chars: `is_chinese_char` CJK ranges."], sets["chinese"]),
    table("nonspacingMark", ["unicode_categories `is_mark_nonspacing()` (Mn), removed after NFD by BertNormalizer strip_accents."], sets["mn"]),
    table("combiningMark", ["unicode-normalization `is_combining_mark()` (M*), removed by the StripAccents normalizer."], sets["marks"]),
    table("onigWord", ["Whitespace pre-tokenizer `\\w` (onig regex `\\w+|[^\\w\\s]+`)."], sets["word"]),
]
print(f"""// Generated from tokenizers {tokenizers.__version__} (Rust) by probing every Unicode scalar through its
// BertNormalizer, BertPreTokenizer, StripAccents and Whitespace stages (see formats/tokenizer.md).
// Do not edit by hand. Each table is a sorted flat list of inclusive ranges: [lo0, hi0, lo1, hi1, ...].

enum UnicodeTables {{""")
print("\n\n".join(parts))
print("}")
