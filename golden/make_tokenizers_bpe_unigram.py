"""Byte-level BPE (RoBERTa family) and Unigram (XLM-R / SentencePiece) tokenizer folders and their goldens
(reference venv + sentencepiece; see golden/README.md, section "BPE and Unigram tokenizers").

  ref/bin/pip install --no-deps sentencepiece==0.2.3
  ref/bin/python golden/make_tokenizers_bpe_unigram.py            # folders + goldens (about 1 min)
  ref/bin/python golden/make_tokenizers_bpe_unigram.py goldens    # goldens only, from the committed folders
  ref/bin/python golden/make_tokenizers_bpe_unigram.py edge       # golden/tokenizer_edge_cases.json only
  ref/bin/python golden/make_tokenizers_bpe_unigram.py files-variant goldens bpe-roberta-files
                                                # the slow-files folder from bpe-roberta, and only the named golden
  ref/bin/python golden/make_tokenizers_bpe_unigram.py spm-variant goldens unigram-xlmr-spm
                                                # the SentencePiece-only XLM-R folder, and only its golden
  ref/bin/python golden/make_tokenizers_bpe_unigram.py camembert goldens unigram-camembert-hub unigram-camembert-spm
                                                # the two CamemBERT folders (from unigram-xlmr-spm's model file)

Training text: lee.cor + lee_background.cor + the shortened enwiki dump of the gensim==4.4.0 wheel (_data.py)
+ the hand-written multilingual lines of make_inputs.py. Writes

  golden/models/bpe-roberta/           byte-level BPE trained with tokenizers (RoBERTa recipe), classic hub layout:
                                       tokenizer.json, vocab.json, merges.txt, tokenizer_config.json (RobertaTokenizer),
                                       special_tokens_map.json, config.json (model_type roberta)
  golden/models/bpe-roberta-files/     bpe-roberta without tokenizer.json: vocab.json + merges.txt (the files
                                       RobertaTokenizer reads when a folder has no tokenizer.json), same config files
  golden/models/bpe-backend/           the same vocabulary as a raw tokenizers pipeline (PreTrainedTokenizerFast):
                                       NFC normalizer, ByteLevel(add_prefix_space), legacy "a b" merges, ignore_merges,
                                       TemplateProcessing with type ids
  golden/models/unigram-xlmr/          SentencePiece unigram (nmt_nfkc) converted by transformers' XLMRobertaTokenizer
                                       and saved with save_pretrained (transformers 5 layout)
  golden/models/unigram-xlmr-hub/      the same model in the hub-era XLM-R tokenizer.json (Sequence[Precompiled,
                                       Replace(Regex " {2,}")], Metaspace(always, split)), as PreTrainedTokenizerFast
  golden/models/unigram-xlmr-spm/      an XLM-R folder with sentencepiece.bpe.model and no tokenizer.json (the layout of
                                       hub-era XLM-R models): SentencePiece unigram (nmt_nfkc) with two user-defined
                                       symbols; tokenizer_config.json has only model_max_length, config.json names
                                       model_type xlm-roberta, so AutoTokenizer picks XLMRobertaTokenizer by model type
  golden/models/unigram-camembert-hub/ unigram-xlmr-spm's SentencePiece model as CamembertTokenizer converts it (the
                                       `<s>NOTUSED <pad> </s>NOTUSED <unk> <unk>NOTUSED` head, `<mask>` last), in the
                                       hub-era CamemBERT layout: tokenizer.json with Sequence[Precompiled, Replace],
                                       Metaspace; tokenizer_config.json naming CamembertTokenizer, the NOTUSED trio as
                                       additional_special_tokens, `<mask>` lstrip, no added_tokens_decoder
  golden/models/unigram-camembert-spm/ the same model file alone (sentencepiece.bpe.model, config.json model_type
                                       camembert, tokenizer_config.json with model_max_length only)
  golden/models/unigram-bytefallback/  SentencePiece unigram with byte_fallback, Metaspace(first), Strip + Replace,
                                       TemplateProcessing, as PreTrainedTokenizerFast
  golden/tokenizers/<name>.json        transformers.AutoTokenizer ids of the corpus cases (format of make_goldens.py)
  golden/tokenizer_edge_cases.json     small hand-made tokenizer.json files aimed at single rules, with their ids

Everything here comes from tokenizers / sentencepiece / transformers: never from cetool.
"""
from __future__ import annotations

import base64
import datetime
import json
import pathlib
import platform
import random
import shutil
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _data  # noqa: E402
import make_inputs  # noqa: E402

import sentencepiece as spm  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import AutoTokenizer, XLMRobertaTokenizer  # noqa: E402

REPO = _data.REPO
MODELS = REPO / "golden" / "models"
INPUTS = HERE / "inputs"
SEED = 20240611
BPE_VOCAB = 3000
UNIGRAM_VOCAB = 3000
BYTEFALLBACK_VOCAB = 2000
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]

transformers.logging.set_verbosity_error()

# Extra hand-written strings aimed at the byte-level regex, Metaspace and Viterbi edge cases.
EXTRA = [
    "it's they're we've I'm you'll he'd 'S 'RE can't ''s 's",
    "  leading spaces", "trailing spaces   ", "a  b   c    d", "tab\tand\nnewline\r\nend", " \t \n ",
    "x" * 300, "ab" * 80 + " " + "\u00e9" * 40, "\u00e9t\u00e9 e\u0301te\u0301 \uff21\u0301 \ufb01n \u2460 \u00bd \u3000 \u2028",
    "<s> literal </s> <pad><unk><mask> <s>", "<s>hello</s>", "emoji \U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f44d\U0001f3fd \u2764\ufe0f",
    "\u1100\u1161\u11a8 \uac01 \u0915\u094d\u0937 \u0e01\u0e33 \U00010348 \U0001d400\U0001d401", "123 4567 89\u0660\u0661 \u2163",
    "\u200b\u200c\u200d\ufeff zero widths", "\x00\x01\x7f\x85 controls", "\u2581already\u2581meta \u2581",
]


def read_jsonl(path: pathlib.Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text(encoding="utf-8").split("\n") if l]


def training_text() -> list[str]:
    lines = list(_data.lee_docs()) + list(_data.lee_background())
    for _, paras in _data.wiki_articles():
        lines += paras
    lines += make_inputs.MULTILINGUAL
    return lines


def write_json(path: pathlib.Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------- BPE

def make_bpe(lines: list[str]) -> None:
    tok = Tokenizer(models.BPE(fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=BPE_VOCAB, min_frequency=2, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines, trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")),
                                                      trim_offsets=True, add_prefix_space=False)
    out = MODELS / "bpe-roberta"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    tok.save(str(out / "tokenizer.json"))
    j = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = j["model"]["vocab"]
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in j["model"]["merges"]), encoding="utf-8")
    # The classic layout of a RoBERTa cross-encoder on the hub (cross-encoder/stsb-roberta-base and the like).
    write_json(out / "tokenizer_config.json", {
        "errors": "replace", "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>",
        "mask_token": {"content": "<mask>", "single_word": False, "lstrip": True, "rstrip": False, "normalized": False, "__type": "AddedToken"},
        "add_prefix_space": False, "trim_offsets": True, "model_max_length": 512, "tokenizer_class": "RobertaTokenizer"})
    write_json(out / "special_tokens_map.json", {
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>", "pad_token": "<pad>", "cls_token": "<s>",
        "mask_token": {"content": "<mask>", "single_word": False, "lstrip": True, "rstrip": False, "normalized": False}})
    write_json(out / "config.json", {"model_type": "roberta", "architectures": ["RobertaForSequenceClassification"],
                                     "vocab_size": len(vocab), "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2})

    # The same vocabulary as a raw pipeline: legacy string merges, ignore_merges, NFC, add_prefix_space, a template.
    b = MODELS / "bpe-backend"
    shutil.rmtree(b, ignore_errors=True)
    b.mkdir(parents=True)
    j2 = json.loads(json.dumps(j))
    j2["model"]["merges"] = [f"{x} {y}" for x, y in j["model"]["merges"]]
    j2["model"]["ignore_merges"] = True
    j2["model"]["unk_token"] = "<unk>"
    j2["normalizer"] = {"type": "NFC"}
    j2["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    ids = {t: vocab[t] for t in SPECIALS}
    j2["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                 {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "</s>", "type_id": 1}}],
        "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ["<s>", "</s>"]}}
    write_json(b / "tokenizer.json", j2)
    write_json(b / "tokenizer_config.json", {"tokenizer_class": "PreTrainedTokenizerFast", "pad_token": "<pad>", "unk_token": "<unk>",
                                             "model_max_length": 512, "model_input_names": ["input_ids", "token_type_ids", "attention_mask"]})
    print(json.dumps({"bpe": str(out.relative_to(REPO)), "vocab": len(vocab), "merges": len(j["model"]["merges"])}), flush=True)


# ------------------------------------------------------------------------------------------ Unigram

def train_spm(lines: list[str], prefix: pathlib.Path, vocab_size: int, byte_fallback: bool,
              user_defined: tuple[str, ...] = ()) -> pathlib.Path:
    text = prefix.with_suffix(".txt")
    text.write_text("\n".join(l.replace("\n", " ") for l in lines) + "\n", encoding="utf-8")
    extra = {"user_defined_symbols": list(user_defined)} if user_defined else {}
    spm.SentencePieceTrainer.train(
        input=str(text), model_prefix=str(prefix), vocab_size=vocab_size, model_type="unigram",
        normalization_rule_name="nmt_nfkc", character_coverage=0.9995, byte_fallback=byte_fallback,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, seed_sentencepiece_size=200000,
        shuffle_input_sentence=False, minloglevel=2, **extra)
    return prefix.with_suffix(".model")


# Pieces of type USER_DEFINED in the SentencePiece-only folder, and texts that use them (its golden only).
SPM_USER_SYMBOLS = ("[Q]", "[D]")
SPM_EXTRA = [
    "[Q] what is the capital of France? [D] Paris is the capital.", "x[Q]y [D][D] [q] [ Q ] [Q", "[Q]", " [D] ",
    "\uff3bQ\uff3d full-width brackets [Q]\u0301", "\u2581[Q] \u2581[D]",
]


def make_spm_variant(lines: list[str], work: pathlib.Path) -> None:
    """An XLM-R folder as hub-era XLM-R models ship it without tokenizer.json: transformers then reads the pieces and
    the Precompiled charsmap from sentencepiece.bpe.model (TokenizersBackend._convert_from_sentencepiece,
    XLMRobertaConverter.convert_from_spm)."""
    model = train_spm(lines, work / "spm", UNIGRAM_VOCAB, byte_fallback=False, user_defined=SPM_USER_SYMBOLS)
    spm_only_folder("unigram-xlmr-spm", model, {"model_type": "xlm-roberta", "architectures": ["XLMRobertaForSequenceClassification"],
                                                "vocab_size": UNIGRAM_VOCAB + 2, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2})


def spm_only_folder(name: str, model: pathlib.Path, config: dict) -> pathlib.Path:
    """models/<name>/: sentencepiece.bpe.model, config.json, and a tokenizer_config.json with model_max_length only."""
    out = MODELS / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    shutil.copyfile(model, out / "sentencepiece.bpe.model")
    write_json(out / "tokenizer_config.json", {"model_max_length": 512})
    write_json(out / "config.json", config)
    return out


# Texts for the CamemBERT goldens: its NOTUSED specials and the lstrip <mask> written literally.
CAMEMBERT_EXTRA = [
    "<s>NOTUSED x </s>NOTUSED <unk>NOTUSED", "hello <mask> world", "a  <mask>b", "<mask>", " <mask> ", "<mask><mask> x",
    "[Q] query [D] document <mask>",
]


def make_camembert() -> None:
    """CamembertTokenizer folders from the committed unigram-xlmr-spm model file: what transformers 5 builds from the
    SentencePiece model alone, and the hub-era layout (tokenizer.json as transformers 4's CamembertConverter wrote it)."""
    model = MODELS / "unigram-xlmr-spm" / "sentencepiece.bpe.model"
    spm_dir = spm_only_folder("unigram-camembert-spm", model, {"model_type": "camembert", "architectures": ["CamembertForSequenceClassification"],
                                                               "pad_token_id": 1, "bos_token_id": 5, "eos_token_id": 6})
    tok = AutoTokenizer.from_pretrained(str(spm_dir))
    assert type(tok).__name__ == "CamembertTokenizer", type(tok)
    with tempfile.TemporaryDirectory() as tmp:
        tok.save_pretrained(tmp)
        j = json.loads((pathlib.Path(tmp) / "tokenizer.json").read_text(encoding="utf-8"))
    hub = MODELS / "unigram-camembert-hub"
    shutil.rmtree(hub, ignore_errors=True)
    hub.mkdir(parents=True)
    hub_tok = Tokenizer.from_str(json.dumps(j))
    hub_tok.normalizer = normalizers.Sequence([normalizers.Precompiled(spm_charsmap(model)), normalizers.Replace(Regex(" {2,}"), " ")])
    hub_tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    hub_tok.save(str(hub / "tokenizer.json"))
    write_json(hub / "tokenizer_config.json", {
        "tokenizer_class": "CamembertTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
        "cls_token": "<s>", "pad_token": "<pad>",
        "mask_token": {"__type": "AddedToken", "content": "<mask>", "lstrip": True, "normalized": True, "rstrip": False, "single_word": False},
        "additional_special_tokens": ["<s>NOTUSED", "</s>NOTUSED", "<unk>NOTUSED"], "model_max_length": 512})
    print(json.dumps({"camembert": [str(spm_dir.relative_to(REPO)), str(hub.relative_to(REPO))], "vocab": len(j["model"]["vocab"])}), flush=True)


def make_unigram(lines: list[str], work: pathlib.Path) -> None:
    model = train_spm(lines, work / "xlmr", UNIGRAM_VOCAB, byte_fallback=False)
    src = work / "xlmr-src"
    src.mkdir()
    shutil.copy(model, src / "sentencepiece.bpe.model")
    tok = XLMRobertaTokenizer.from_pretrained(str(src), model_max_length=512)
    out = MODELS / "unigram-xlmr"
    shutil.rmtree(out, ignore_errors=True)
    tok.save_pretrained(str(out))
    for extra in ["sentencepiece.bpe.model", "special_tokens_map.json"]:
        (out / extra).unlink(missing_ok=True)
    write_json(out / "config.json", {"model_type": "xlm-roberta", "architectures": ["XLMRobertaForSequenceClassification"],
                                     "vocab_size": tok.backend_tokenizer.get_vocab_size(), "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2})
    j = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    assert j["model"]["type"] == "Unigram", j["model"]["type"]

    # Hub-era XLM-R tokenizer.json (transformers 4 converter): Precompiled + Replace(" {2,}" -> " "), Metaspace(always, split).
    hub = MODELS / "unigram-xlmr-hub"
    shutil.rmtree(hub, ignore_errors=True)
    hub.mkdir(parents=True)
    charsmap = spm_charsmap(model)
    hub_tok = Tokenizer.from_str(json.dumps(j))
    hub_tok.normalizer = normalizers.Sequence([normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")])
    hub_tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    hub_tok.save(str(hub / "tokenizer.json"))
    write_json(hub / "tokenizer_config.json", {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
                                               "unk_token": "<unk>", "pad_token": "<pad>", "model_max_length": 512})

    # byte_fallback model: SentencePiece's own byte pieces <0x00>..<0xFF>; Metaspace(first).
    bf_model = train_spm(lines, work / "bf", BYTEFALLBACK_VOCAB, byte_fallback=True)
    proto = spm.SentencePieceProcessor(model_file=str(bf_model))
    vocab = [(proto.id_to_piece(i), proto.get_score(i)) for i in range(proto.get_piece_size())]
    bf = Tokenizer(models.Unigram(vocab, unk_id=proto.unk_id(), byte_fallback=True))
    bf.normalizer = normalizers.Sequence([normalizers.Precompiled(spm_charsmap(bf_model)), normalizers.Strip(left=False, right=True),
                                          normalizers.Replace(Regex(" {2,}"), "\u2581")])
    bf.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True)
    bf.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> $B:1 </s>:1",
                                                      special_tokens=[("<s>", proto.bos_id()), ("</s>", proto.eos_id())])
    bf.add_special_tokens(["<unk>", "<s>", "</s>"])
    d = MODELS / "unigram-bytefallback"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    bf.save(str(d / "tokenizer.json"))
    write_json(d / "tokenizer_config.json", {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
                                             "unk_token": "<unk>", "pad_token": "<unk>", "model_max_length": 512,
                                             "model_input_names": ["input_ids", "token_type_ids", "attention_mask"]})
    print(json.dumps({"unigram": str(out.relative_to(REPO)), "vocab": len(j["model"]["vocab"]),
                      "bytefallback_vocab": len(vocab), "charsmap_bytes": len(charsmap)}), flush=True)


def spm_charsmap(model: pathlib.Path) -> bytes:
    from transformers.convert_slow_tokenizer import import_protobuf  # the schema transformers' converter uses
    m = import_protobuf().ModelProto()
    m.ParseFromString(model.read_bytes())
    return m.normalizer_spec.precompiled_charsmap


# ------------------------------------------------------------------------------------------ goldens

TOKENIZERS = [
    ("bpe-roberta", "golden/models/bpe-roberta"),
    ("bpe-roberta-files", "golden/models/bpe-roberta-files"),
    ("bpe-backend", "golden/models/bpe-backend"),
    ("unigram-xlmr", "golden/models/unigram-xlmr"),
    ("unigram-xlmr-hub", "golden/models/unigram-xlmr-hub"),
    ("unigram-xlmr-spm", "golden/models/unigram-xlmr-spm"),
    ("unigram-camembert-hub", "golden/models/unigram-camembert-hub"),
    ("unigram-camembert-spm", "golden/models/unigram-camembert-spm"),
    ("unigram-bytefallback", "golden/models/unigram-bytefallback"),
]


def provenance(rel_dir: str) -> dict:
    return {
        "generator": "golden/make_tokenizers_bpe_unigram.py",
        "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": {"python": platform.python_version(), "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "sentencepiece": spm.__version__},
        "inputs_sha256": {"golden/inputs/tokenizer_corpus.jsonl": _data.sha256_file(INPUTS / "tokenizer_corpus.jsonl")},
        **({"tokenizer_json_sha256": _data.sha256_file(REPO / rel_dir / "tokenizer.json")}
           if (REPO / rel_dir / "tokenizer.json").exists() else
           {"files_sha256": {f: _data.sha256_file(REPO / rel_dir / f)
                             for f in ["vocab.json", "merges.txt", "sentencepiece.bpe.model"] if (REPO / rel_dir / f).exists()}}),
        "training_text": _data.source_record(),
    }


def tokenizer_golden(name: str, rel_dir: str) -> None:
    tok = AutoTokenizer.from_pretrained(str(REPO / rel_dir))
    corpus = [c["text"] for c in read_jsonl(INPUTS / "tokenizer_corpus.jsonl")] + EXTRA
    if name == "unigram-xlmr-spm":
        corpus += SPM_EXTRA
    if name.startswith("unigram-camembert"):
        corpus += CAMEMBERT_EXTRA
    rng = random.Random(SEED)
    jobs: list[tuple[str, str | None, int | None]] = [(t, None, None) for t in corpus]
    for _ in range(300):
        a, b = rng.sample(corpus, 2)
        jobs.append((a, b, None))
    short = [t for t in corpus if 0 < len(t) <= 60]
    longer = [t for t in corpus if len(t) > 60]
    for ml in [8, 9, 16, 33]:
        for _ in range(40):
            jobs.append((rng.choice(longer), rng.choice(longer), ml))
        for _ in range(15):
            a, b = rng.choice(short), rng.choice(longer)
            jobs.append((a, b, ml) if rng.random() < 0.5 else (b, a, ml))
        for _ in range(15):
            jobs.append((rng.choice(longer), None, ml))
    cases = []
    for text, pair, ml in jobs:
        enc = tok(text, pair, truncation=False) if ml is None else tok(text, pair, truncation="longest_first", max_length=ml)
        c = {"text": text, "pair": pair, "max_length": ml}
        c.update({k: list(enc[k]) for k in ["input_ids", "token_type_ids", "attention_mask"] if k in enc})
        cases.append(c)
    g = {
        "provenance": provenance(rel_dir),
        "tokenizer_dir": rel_dir + "/",
        "tokenizer_class": type(tok).__name__,
        "loaded_with": "transformers.AutoTokenizer.from_pretrained(tokenizer_dir); tok(text, pair, truncation=False) or "
                       "tok(text, pair, truncation='longest_first', max_length=max_length)",
        "model_max_length": tok.model_max_length if tok.model_max_length < 10 ** 12 else None,
        "cases": cases,
    }
    out = REPO / "golden" / "tokenizers" / f"{name}.json"
    out.write_text(_data.dumps(g) + "\n", encoding="utf-8")
    n_unk = sum(c["input_ids"].count(tok.unk_token_id) for c in cases) if tok.unk_token_id is not None else 0
    print(json.dumps({"file": str(out.relative_to(REPO)), "bytes": out.stat().st_size, "cases": len(cases),
                      "class": type(tok).__name__, "unk_tokens": n_unk}), flush=True)


# ------------------------------------------------------------------------------------ edge cases

def _tok_json(model: dict, normalizer=None, pre_tokenizer=None, post_processor=None, added=()) -> dict:
    return {"version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                              "normalized": False, "special": True} for i, c in added],
            "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": post_processor, "decoder": None,
            "model": model}


def edge_cases() -> None:
    """Small hand-made tokenizer.json files aimed at single rules (Viterbi ties, unk fusing, byte fallback, merge
    order, prefixes/suffixes, ignore_merges, Metaspace schemes, Precompiled's grapheme rule, Replace regexes), each
    with the ids transformers gives (PreTrainedTokenizerFast, no special tokens unless a post-processor adds them)
    or the error it raises; and normalizer outputs of the real charsmap and of Replace regexes."""
    meta = "\u2581"
    uni = [["<unk>", 0.0], ["a", -1.0], ["b", -1.0], ["ab", -2.0], ["c", -1.5], ["bc", -2.5], ["abc", -4.0], [meta, -3.0],
           [meta + "a", -1.5], ["<0x78>", -5.0], ["<0xC3>", -5.0], ["<0xA9>", -5.0], ["d", -2.0], ["d", -0.5]]
    byte_vocab = {"<unk>": 0, "a": 1, "b": 2, "c": 3, "##b": 4, "##c": 5, "ab": 6, "abc": 7, "c</w>": 8, "b</w>": 9,
                  "ab</w>": 10, "<0x78>": 11, "<0x79>": 12, "##a": 13, "a##b": 14, "bc": 15, "abcabc": 16}
    specs = [
        ("unigram-ties", _tok_json({"type": "Unigram", "unk_id": 0, "vocab": uni, "byte_fallback": False}),
         ["ab", "abc", "abcab", "xyz", "axb", "xx", "éa", "<unk>", "dd", "a b"]),
        ("unigram-byte-fallback", _tok_json({"type": "Unigram", "unk_id": 0, "vocab": uni, "byte_fallback": True}),
         ["x", "xx", "xy", "é", "éx", "aéb", "ü", "ab"]),
        ("unigram-metaspace-first", _tok_json({"type": "Unigram", "unk_id": 0, "vocab": uni, "byte_fallback": False},
                                              pre_tokenizer={"type": "Metaspace", "replacement": meta, "prepend_scheme": "first", "split": True},
                                              added=[(14, "<s>")]),
         ["a b", "<s>a b", "a<s>a", "  a", "a  b "]),
        ("unigram-metaspace-nosplit", _tok_json({"type": "Unigram", "unk_id": 0, "vocab": uni, "byte_fallback": False},
                                                pre_tokenizer={"type": "Metaspace", "replacement": meta, "add_prefix_space": False,
                                                               "prepend_scheme": "never", "split": False}),
         ["a b", " a", "ab c"]),
        ("unigram-metaspace-legacy-split-false", _tok_json({"type": "Unigram", "unk_id": 0, "vocab": uni, "byte_fallback": False},
                                                pre_tokenizer={"type": "Metaspace", "replacement": meta, "prepend_scheme": "always", "split": False}),
         ["a b", " a", "ab c"]),
        ("bpe-prefix-suffix-unk", _tok_json({"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": "##",
                                             "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                                             "vocab": byte_vocab, "merges": ["a ##b", "b ##c"]},
                                            pre_tokenizer={"type": "WhitespaceSplit"}),
         ["ab", "abc", "b", "c", "xyz a", "axxb", "cab"]),
        ("bpe-fuse-unk-byte-fallback", _tok_json({"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                                                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                                                  "vocab": byte_vocab, "merges": [["a", "b"], ["ab", "c"], ["b", "c"], ["abc", "abc"]]},
                                                 pre_tokenizer={"type": "WhitespaceSplit"}),
         ["abc", "abcabc", "bcbc", "xy", "zzq", "azzb", "xzzy", "éé"]),
        ("bpe-merge-order", _tok_json({"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                                       "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                                       "vocab": byte_vocab, "merges": ["b c", "a b", "ab c", "abc abc"]}),
         ["abc", "abcabc", "bcbc", "aab", "zab"]),
        ("bpe-ignore-merges", _tok_json({"type": "BPE", "dropout": 0.0, "unk_token": None, "continuing_subword_prefix": None,
                                         "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                                         "vocab": byte_vocab, "merges": ["b c", "a b"]}),
         ["abcabc", "abc", "abca"]),
        ("bytelevel-no-regex", _tok_json({"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                                          "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                                          "vocab": {**{c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}},
                                          "merges": []},
                                         pre_tokenizer={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": False}),
         ["a b", " x", "é\n"]),
    ]
    out = {"provenance": {"generator": "golden/make_tokenizers_bpe_unigram.py", "versions": {
        "transformers": transformers.__version__, "tokenizers": tokenizers.__version__}},
        "loaded_with": "AutoTokenizer on tokenizer.json + tokenizer_config.json {tokenizer_class: PreTrainedTokenizerFast}; "
                       "tok(text)['input_ids'], or the error raised", "tokenizers": [], "normalizers": []}
    for name, tj, texts in specs:
        with tempfile.TemporaryDirectory() as tmp:
            d = pathlib.Path(tmp)
            (d / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False), encoding="utf-8")
            write_json(d / "tokenizer_config.json", {"tokenizer_class": "PreTrainedTokenizerFast"})
            tok = AutoTokenizer.from_pretrained(str(d))
            cases = []
            for t in texts:
                try:
                    cases.append({"text": t, "input_ids": tok(t)["input_ids"]})
                except Exception as e:  # noqa: BLE001  the reference refuses: record that
                    cases.append({"text": t, "error": type(e).__name__ + ": " + str(e)[:120]})
        out["tokenizers"].append({"name": name, "tokenizer_json": tj, "cases": cases})
    # Unigram without unk_id meeting an unknown scalar: the reference raises.
    tj = _tok_json({"type": "Unigram", "unk_id": None, "vocab": uni, "byte_fallback": False})
    t = Tokenizer.from_str(json.dumps(tj))
    cases = [{"text": "ab", "input_ids": t.encode("ab").ids}]
    try:
        cases.append({"text": "xa", "input_ids": t.encode("xa").ids})
    except Exception as e:  # noqa: BLE001
        cases.append({"text": "xa", "error": type(e).__name__ + ": " + str(e)[:120]})
    out["tokenizers"].append({"name": "unigram-no-unk-id", "tokenizer_json": tj, "cases": cases})

    charsmap = json.loads((MODELS / "unigram-xlmr" / "tokenizer.json").read_text(encoding="utf-8"))["normalizer"]
    texts = ["\uff21\u0301", "\ufb01\u0301", "e\u0301", "\u00e9", "\u2460x", "\u3000a\u3000", "a\x00b", "\x01a", "\u1100\u1161\u11a8",
             "\u2764\ufe0f", "\U0001f468\u200d\U0001f469", "\u00bd \u2153", "\uff76\uff9e", "A\u030a\u0323", "\u0915\u094d\u0937",
             "x\u200by", "\u00a0\u2002\u2028", "\ufdfa", "\u2126\u212b", "\u1e9b\u0323", "ｈｅｌｌｏ　ｗｏｒｌｄ", "\t\n\r"]
    regexes = [("Replace", {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "\u2581"}),
               ("Replace", {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}),
               ("Replace", {"type": "Replace", "pattern": {"Regex": " {2,3}"}, "content": "_"}),
               ("Replace", {"type": "Replace", "pattern": {"Regex": "a{2}"}, "content": ""})]
    for spec in [charsmap] + [r for _, r in regexes]:
        tj = _tok_json({"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "a"}, normalizer=spec)
        n = Tokenizer.from_str(json.dumps(tj)).normalizer
        samples = texts if spec is charsmap else ["a  b   c    d e", " \t\n a\u3000\u3000b ", "aaaaa aa a", "     "]
        entry = {"normalizer": spec} if spec is not charsmap else {"normalizer_of": "golden/models/unigram-xlmr/tokenizer.json"}
        out["normalizers"].append({**entry, "cases": [{"text": t, "normalized": n.normalize_str(t)} for t in samples]})
    path = REPO / "golden" / "tokenizer_edge_cases.json"
    path.write_text(_data.dumps(out) + "\n", encoding="utf-8")
    print(json.dumps({"file": str(path.relative_to(REPO)), "bytes": path.stat().st_size}), flush=True)


def make_roberta_files_variant() -> None:
    """bpe-roberta's folder without tokenizer.json: transformers then builds RobertaTokenizer from vocab.json and
    merges.txt (TokenizersBackend.convert_to_native_format), as for an older RoBERTa cross-encoder on the hub."""
    src, out = MODELS / "bpe-roberta", MODELS / "bpe-roberta-files"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for f in ["config.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json", "vocab.json"]:
        shutil.copyfile(src / f, out / f)


def main() -> None:
    args = sys.argv[1:]
    everything = not {"goldens", "edge", "files-variant", "spm-variant", "camembert"} & set(args)
    if everything:
        lines = training_text()
        make_bpe(lines)
        with tempfile.TemporaryDirectory() as tmp:
            make_unigram(lines, pathlib.Path(tmp))
    if everything or "spm-variant" in args:
        with tempfile.TemporaryDirectory() as tmp:
            make_spm_variant(training_text(), pathlib.Path(tmp))
    if everything or "camembert" in args:
        make_camembert()
    if not {"goldens", "edge", "spm-variant", "camembert"} & set(args) or "files-variant" in args:
        make_roberta_files_variant()
    if "edge" in args:
        return edge_cases()
    # "goldens NAME ...": only the named goldens.
    only = set(args[args.index("goldens") + 1:]) if "goldens" in args else set()
    for name, rel in TOKENIZERS:
        if not only or name in only:
            tokenizer_golden(name, rel)
    if not only:
        edge_cases()


if __name__ == "__main__":
    main()
