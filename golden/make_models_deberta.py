"""Builds the tiny random-init DeBERTa-v2/v3 cross-encoders, their tokenizer goldens and the relative-position bucket
tables (runs in the reference venv; needs the `sentencepiece` PyPI package, 0.2.3 here, to train the tokenizer).

  ref/bin/python golden/make_models_deberta.py              # models, tokenizer goldens, bucket tables
  ref/bin/python golden/make_goldens.py tiny-deberta-v3 tiny-deberta-v2 tiny-deberta-c2p   # then the model goldens

- models/spm-deberta/      a SentencePiece Unigram model (600 pieces; [PAD] [CLS] [SEP] [UNK] at 0..3 as in
                           deberta-v3's spm.model) trained on golden/inputs/tokenizer_corpus.jsonl, as spm.model plus
                           a tokenizer_config.json naming DebertaV2Tokenizer (transformers 5 adds [MASK] after the pieces)
- tiny-deberta-v3/         DeBERTa-v3 layout (microsoft/deberta-v3-base, mixedbread mxbai-rerank-*-v1): relative_attention,
                           position_buckets 16, max_relative_positions -1 (-> max_position_embeddings 512),
                           pos_att_type p2c|c2p, share_att_key, norm_rel_ebd layer_norm, position_biased_input false,
                           type_vocab_size 0, 1 label; tokenizer.json + tokenizer_config.json as transformers 5 saves them
- tiny-deberta-v2/         DeBERTa-v2 layout: no buckets, max_relative_positions 24 (clamped relative distances),
                           pos_att_type "p2c|c2p" as a string, separate pos_key_proj / pos_query_proj, no rel LayerNorm,
                           absolute positions added (position_biased_input), type_vocab_size 2, embedding_size 24 != hidden 32
                           (embed_proj), pooler_hidden_act tanh, 3 labels; the tokenizer as spm.model only
- tiny-deberta-c2p/        pos_att_type [c2p] only, position_buckets 32, max_relative_positions 64, separate pos_key_proj,
                           rel LayerNorm, gelu_new FFN, 1 label; tokenizer.json
- tiny-deberta-v2-torch/   tiny-deberta-v2's weights as pytorch_model.bin (torch.save of the safetensors' tensors, as
                           golden/make_torch_variants.py does), the same other files

Weights as golden/make_models_arch.py draws them (randomize). Writes models/PROVENANCE-deberta.json,
golden/tokenizers/deberta-json.json (tiny-deberta-v3's tokenizer.json on the tokenizer corpus, random pairs, truncations,
and every text of golden/tokenizer_edge_cases.json; the reference's ids from spm-deberta's spm.model alone are checked
equal on every case and the file says so, so cetool's spm.model form is held to the same cases), and golden/deberta-buckets.json (make_log_bucket_position per relative
distance for each tiny config and for deberta-v3-base's 256 buckets over 512 positions).
"""
from __future__ import annotations

import datetime
import json
import pathlib
import random
import shutil
import sys
import tempfile

import sentencepiece
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _data  # noqa: E402
import make_goldens  # noqa: E402
import make_models_arch as arch  # noqa: E402

from transformers import AutoTokenizer, DebertaV2Config, DebertaV2ForSequenceClassification  # noqa: E402
from transformers.models.deberta_v2 import modeling_deberta_v2 as ref  # noqa: E402

MODELS = arch.MODELS
SPM_DIR = MODELS / "spm-deberta"
COMMON = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, initializer_range=0.2,
              layer_norm_eps=1e-7, relative_attention=True)


def train_spm() -> None:
    """A 600-piece Unigram SentencePiece model on the tokenizer corpus, in deberta-v3's special layout."""
    texts = [c["text"].replace("\n", " ") for c in make_goldens.read_jsonl(make_goldens.INPUTS / "tokenizer_corpus.jsonl")]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = pathlib.Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(t for t in texts if t.strip()), encoding="utf-8")
        sentencepiece.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=str(pathlib.Path(tmp) / "spm"), vocab_size=600, model_type="unigram",
            pad_id=0, pad_piece="[PAD]", bos_id=1, bos_piece="[CLS]", eos_id=2, eos_piece="[SEP]", unk_id=3, unk_piece="[UNK]",
            character_coverage=0.9995, split_digits=True, byte_fallback=False, seed_sentencepiece_size=20000,
            num_threads=1, minloglevel=2)
        if SPM_DIR.exists():
            shutil.rmtree(SPM_DIR)
        SPM_DIR.mkdir(parents=True)
        shutil.copyfile(pathlib.Path(tmp) / "spm.model", SPM_DIR / "spm.model")
    (SPM_DIR / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "DebertaV2Tokenizer", "model_max_length": 512},
                                                              indent=2) + "\n", encoding="utf-8")


def build(name: str, seed: int, num_labels: int, id2label: dict | None, model_max_length: int, spm_only: bool, **options) -> dict:
    tok = AutoTokenizer.from_pretrained(str(SPM_DIR), model_max_length=model_max_length)
    assert type(tok).__name__ == "DebertaV2Tokenizer", type(tok)
    # deberta-v3 pads its embedding table past the tokenizer (128100 rows for 128001 tokens).
    cfg = DebertaV2Config(vocab_size=640, pad_token_id=tok.pad_token_id, architectures=["DebertaV2ForSequenceClassification"],
                          **COMMON, **options, **arch.labels_kw(id2label, num_labels))
    torch.manual_seed(seed)
    m = DebertaV2ForSequenceClassification(cfg)
    arch.randomize(m, seed)
    d = arch.save(name, m, tok, seed)
    out = MODELS / name
    if spm_only:
        (out / "tokenizer.json").unlink()
        shutil.copyfile(SPM_DIR / "spm.model", out / "spm.model")
        d = arch.describe(out, seed)
    cfg_out = json.loads((out / "config.json").read_text())
    d["deberta_options"] = {k: cfg_out.get(k) for k in ["relative_attention", "position_buckets", "max_relative_positions",
                                                         "pos_att_type", "share_att_key", "norm_rel_ebd", "position_biased_input",
                                                         "type_vocab_size", "embedding_size", "pooler_hidden_act", "hidden_act",
                                                         "max_position_embeddings"]}
    assert d["tokenizer_class"] == "DebertaV2Tokenizer", d
    return d


BUILDERS = {
    "tiny-deberta-v3": lambda: build(
        "tiny-deberta-v3", 11011, 1, None, 512, False, max_position_embeddings=512, position_buckets=16, max_relative_positions=-1,
        pos_att_type=["p2c", "c2p"], share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False, type_vocab_size=0),
    "tiny-deberta-v2": lambda: build(
        "tiny-deberta-v2", 12012, 3, arch.NLI, 128, True, max_position_embeddings=128, max_relative_positions=24,
        pos_att_type="p2c|c2p", share_att_key=False, position_biased_input=True, type_vocab_size=2, embedding_size=24,
        pooler_hidden_act="tanh"),
    "tiny-deberta-c2p": lambda: build(
        "tiny-deberta-c2p", 13013, 1, None, 256, False, max_position_embeddings=256, position_buckets=32, max_relative_positions=64,
        pos_att_type=["c2p"], share_att_key=False, norm_rel_ebd="layer_norm", position_biased_input=False, type_vocab_size=0,
        hidden_act="gelu_new"),
}


def torch_variant() -> dict:
    import make_torch_variants
    return make_torch_variants.torch_variant("tiny-deberta-v2-torch", MODELS / "tiny-deberta-v2", MODELS / "tiny-deberta-v2-torch")


def tokenizer_golden(name: str, rel_dir: str, same_as: str) -> None:
    """make_goldens.tokenizer_golden's cases, then every text of golden/tokenizer_edge_cases.json alone and paired. The
    tokenizer of `same_as` (another form of the same vocabulary) must give the reference the same ids on every case."""
    make_goldens.tokenizer_golden(name, rel_dir)
    out = make_goldens.REPO / "golden" / "tokenizers" / f"{name}.json"
    g = json.loads(out.read_text(encoding="utf-8"))
    tok = AutoTokenizer.from_pretrained(str(make_goldens.REPO / rel_dir))
    edge = json.loads((HERE / "tokenizer_edge_cases.json").read_text(encoding="utf-8"))
    texts = list(dict.fromkeys(c["text"] for t in edge["tokenizers"] for c in t["cases"]))
    texts += ["a\tb\nc\r\nd", "  two  spaces  ", "\u3000ideographic\u3000space", "x\u00a0\u00a0y", "e\u0301 caf\u00e9", "\t\t", " "]
    rng = random.Random(make_goldens.SEED)
    for text in texts:
        for pair in (None, rng.choice(texts)):
            enc = tok(text, pair, truncation=False)
            c = {"text": text, "pair": pair, "max_length": None}
            c.update({k: list(enc[k]) for k in ["input_ids", "token_type_ids", "attention_mask"] if k in enc})
            g["cases"].append(c)
    other = AutoTokenizer.from_pretrained(str(make_goldens.REPO / same_as))
    for i, c in enumerate(g["cases"]):
        enc = other(c["text"], c["pair"], truncation=c["max_length"] is not None, max_length=c["max_length"])
        if any(list(enc[k]) != c[k] for k in ["input_ids", "token_type_ids", "attention_mask"]):
            raise SystemExit(f"{same_as} differs from {rel_dir} on case {i}: {c['text'][:80]!r}")
    g["same_ids_from"] = {"tokenizer_dir": same_as + "/", "tokenizer_class": type(other).__name__, "cases": len(g["cases"])}
    g["provenance"]["generator"] = "golden/make_models_deberta.py (make_goldens.tokenizer_golden + the edge-case texts)"
    g["provenance"]["generator_sha256"] = _data.sha256_file(pathlib.Path(__file__))
    g["provenance"]["versions"]["sentencepiece"] = sentencepiece.__version__
    out.write_text(_data.dumps(g) + "\n", encoding="utf-8")
    print(json.dumps({"file": str(out.relative_to(make_goldens.REPO)), "cases": len(g["cases"]), "same_ids_from": same_as}), flush=True)


def bucket_golden() -> None:
    """transformers' make_log_bucket_position (via build_relative_position) for every distance q - k in -(n-1)..n-1."""
    configs = [("tiny-deberta-v3", 16, 512, 512), ("tiny-deberta-c2p", 32, 64, 256), ("deberta-v3-base", 256, 512, 512)]
    out = {"provenance": {"generator": "golden/make_models_deberta.py", "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
                          "versions": arch.versions(),
                          "computed_with": "transformers.models.deberta_v2.modeling_deberta_v2.build_relative_position(q, k, "
                                           "bucket_size, max_position) on n query and n key positions; row n - 1, reversed: "
                                           "entry i is the bucket of distance i - (n - 1)"},
           "tables": []}
    for name, buckets, max_position, n in configs:
        x = torch.zeros(1, n, 1)
        rel = ref.build_relative_position(x, x, bucket_size=buckets, max_position=max_position)[0]
        # rel[q, k] = bucket(q - k); row n-1 holds q - k = n-1 .. 0, column 0 holds 0 .. n-1.
        dist = torch.cat([rel[0, 1:].flip(0), rel[:, 0]])
        assert dist.numel() == 2 * n - 1
        out["tables"].append({"config": name, "position_buckets": buckets, "max_relative_positions": max_position,
                              "first_distance": -(n - 1), "buckets": [int(v) for v in dist]})
    path = HERE / "deberta-buckets.json"
    path.write_text(_data.dumps(out) + "\n", encoding="utf-8")
    print(json.dumps({"file": "golden/deberta-buckets.json", "tables": len(out["tables"])}), flush=True)


def main() -> None:
    only = sys.argv[1:] or ["spm", *BUILDERS, "torch", "tokenizers", "buckets"]
    prov_path = MODELS / "PROVENANCE-deberta.json"
    prov = json.loads(prov_path.read_text()) if prov_path.exists() else {"models": {}}
    versions = arch.versions()
    versions["sentencepiece"] = sentencepiece.__version__
    prov.update({"generator": "golden/make_models_deberta.py", "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
                 "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "versions": versions})
    if "spm" in only:
        train_spm()
        prov["spm-deberta"] = {"spm_model_sha256": _data.sha256_file(SPM_DIR / "spm.model")}
    for name in BUILDERS:
        if name in only:
            prov["models"][name] = BUILDERS[name]()
            print(json.dumps({name: prov["models"][name]}, ensure_ascii=False), flush=True)
    if "torch" in only:
        prov["models"]["tiny-deberta-v2-torch"] = torch_variant()
    if "tokenizers" in only:
        tokenizer_golden("deberta-json", "golden/models/tiny-deberta-v3", same_as="golden/models/spm-deberta")
    if "buckets" in only:
        bucket_golden()
    prov["models"] = dict(sorted(prov["models"].items()))
    prov_path.write_text(json.dumps(prov, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
