"""Builds the tiny random-init cross-encoders of the other architectures (runs in the reference venv).

  ref/bin/python golden/make_models_arch.py           # all four; or name some: tiny-roberta tiny-xlmr ...

- tiny-roberta/     RobertaForSequenceClassification, 1 label, the byte-level BPE tokenizer of models/bpe-roberta/
- tiny-xlmr/        XLMRobertaForSequenceClassification, 3 labels (contradiction, entailment, neutral), the
                    Unigram tokenizer of models/unigram-xlmr/
- tiny-xlmr-spm/    XLMRobertaForSequenceClassification, 1 label, in the hub-era XLM-R layout without tokenizer.json:
                    sentencepiece.bpe.model of models/unigram-xlmr-spm/ and a tokenizer_config.json holding only
                    model_max_length (AutoTokenizer takes XLMRobertaTokenizer from config.json's model_type and reads
                    the SentencePiece model)
- tiny-camembert/   CamembertForSequenceClassification, 1 label, the CamembertTokenizer of models/unigram-camembert-hub/
                    (saved by transformers 5: tokenizer.json + tokenizer_config.json)
- tiny-distilbert/  DistilBertForSequenceClassification, 1 label, tiny-bert-l1's WordPiece vocabulary
                    (DistilBertTokenizer: no token_type_ids)
- tiny-electra/     ElectraForSequenceClassification, 1 label, embedding_size 16 != hidden_size 32 (so the
                    checkpoint has embeddings_project), tiny-bert-l1's WordPiece vocabulary (ElectraTokenizer)
- tiny-modernbert/  ModernBertForSequenceClassification, 1 label, classifier_pooling "cls", 4 layers (global every 3rd:
                    layers 0 and 3 global, 1 and 2 local), local_attention 16, no biases (ModernBERT's defaults),
                    max_position_embeddings 8192 = model_max_length; the byte-level BPE vocabulary of models/bpe-roberta/
                    as a ModernBERT-style tokenizer.json (see modernbert_tokenizer)
- tiny-modernbert-mean/  ModernBertForSequenceClassification, 3 labels (contradiction, entailment, neutral),
                    classifier_pooling "mean", 3 layers (global every 2nd), local_attention 11 (half-window 5), every bias
                    flag on, hidden 36 with head_dim 12, gelu_pytorch_tanh / tanh, rotary bases 40,000 / 5,000,
                    max_position_embeddings 512 and no tokenizer limit (CrossEncoder caps max_length at 512 and its
                    save writes model_max_length 512)

Each is saved as sentence-transformers 6.2's CrossEncoder.save writes it (config.json, model.safetensors,
config_sentence_transformers.json, modules.json, sentence_bert_config.json, tokenizer.json,
tokenizer_config.json). Weights are seeded: every Linear/Embedding N(0, 0.3^2) (ModernBERT's Linears N(0, 0.2^2)), every
LayerNorm gain 1 + N(0, 0.1^2) and bias N(0, 0.1^2), every Linear bias N(0, 0.1^2) (when the module has one), so logits
are spread and a kernel that drops a gain, a bias or a position offset fails the goldens. Records PROVENANCE-arch.json.
"""
from __future__ import annotations

import datetime
import json
import logging
import pathlib
import platform
import shutil
import sys
import tempfile

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _data  # noqa: E402

import sentence_transformers  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import CrossEncoder  # noqa: E402
from transformers import (AutoTokenizer, CamembertConfig, CamembertForSequenceClassification, DistilBertConfig, DistilBertForSequenceClassification, ElectraConfig,  # noqa: E402
                          ElectraForSequenceClassification, ModernBertConfig, ModernBertForSequenceClassification, RobertaConfig,
                          RobertaForSequenceClassification, XLMRobertaConfig, XLMRobertaForSequenceClassification)

MODELS = HERE / "models"
torch.set_num_threads(2)
logging.getLogger("transformers").setLevel(logging.ERROR)
transformers.logging.set_verbosity_error()

NLI = {0: "contradiction", 1: "entailment", 2: "neutral"}
# Small everywhere: hidden 32, 2 layers, 4 heads, FFN 64.
COMMON = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, initializer_range=0.2,
              hidden_act="gelu")


def versions() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__, "tokenizers": tokenizers.__version__,
            "numpy": np.__version__}


def randomize(model: torch.nn.Module, seed: int, linear_std: float = 0.3) -> None:
    """Seeded weights: Linear N(0, linear_std^2), Embedding N(0, 0.3^2), LayerNorm gain 1 + N(0, 0.1^2), biases N(0, 0.1^2). Overwrites
    transformers' own init completely (also the zeroed padding rows), by module type, in named_modules order. A module
    built without a bias (ModernBERT's bias flags off) draws nothing for it, so models whose modules all have biases
    get the same draws as before the check existed."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, mod in model.named_modules():
            if isinstance(mod, torch.nn.LayerNorm):
                mod.weight.copy_(1.0 + 0.1 * torch.randn(mod.weight.shape, generator=g))
                if mod.bias is not None:
                    mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=g))
            elif isinstance(mod, torch.nn.Linear):
                mod.weight.copy_(linear_std * torch.randn(mod.weight.shape, generator=g))
                if mod.bias is not None:
                    mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=g))
            elif isinstance(mod, torch.nn.Embedding):
                mod.weight.copy_(0.3 * torch.randn(mod.weight.shape, generator=g))


def labels_kw(id2label: dict | None, num_labels: int) -> dict:
    if id2label:
        return {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}, "num_labels": num_labels}
    return {"num_labels": num_labels}


def save(name: str, model, tok, seed: int) -> dict:
    """CrossEncoder.save of model + tokenizer into models/<name>/ (the generated model card dropped)."""
    out = MODELS / name
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        ce = CrossEncoder(tmp, device="cpu")
        if out.exists():
            shutil.rmtree(out)
        ce.save(str(out))
    readme = out / "README.md"
    if readme.exists():
        readme.unlink()  # dated text, not needed by loaders
    return describe(out, seed)


def describe(out: pathlib.Path, seed: int) -> dict:
    """What sentence-transformers loads from models/<name>/ (PROVENANCE-arch.json's entry)."""
    cfg = json.loads((out / "config.json").read_text())
    ce = CrossEncoder(str(out), device="cpu")
    return {"seed": seed, "architectures": cfg["architectures"], "vocab_size": cfg["vocab_size"], "len_tokenizer": len(ce.tokenizer),
            "num_labels": ce.num_labels, "max_seq_length": ce.max_seq_length, "activation_fn": type(ce.activation_fn).__name__,
            "tokenizer_class": type(ce.tokenizer).__name__, "model_input_names": list(ce.tokenizer.model_input_names),
            "parameters": sum(p.numel() for p in ce.model.parameters()),
            "files": sorted(p.name for p in out.iterdir()),
            "model_safetensors_sha256": _data.sha256_file(out / "model.safetensors")}


def build_roberta(name: str, tok_dir: str, cls, config_cls, seed: int, num_labels: int, id2label: dict | None) -> dict:
    # max_position_embeddings = 128 + pad + 1: positions run from padding_idx + 1 (create_position_ids_from_input_ids),
    # and model_max_length 128 keeps CrossEncoder's max_seq_length (min of the two) inside the table.
    tok = AutoTokenizer.from_pretrained(str(MODELS / tok_dir), model_max_length=128)
    pad = tok.pad_token_id
    cfg = config_cls(vocab_size=len(tok), max_position_embeddings=128 + pad + 1, type_vocab_size=1, pad_token_id=pad,
                     bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, layer_norm_eps=1e-5,
                     architectures=[cls.__name__], **COMMON, **labels_kw(id2label, num_labels))
    torch.manual_seed(seed)
    m = cls(cfg)
    randomize(m, seed)
    return save(name, m, tok, seed)


def build_xlmr_spm(seed: int) -> dict:
    """tiny XLM-R reranker whose folder has sentencepiece.bpe.model and no tokenizer.json, as hub-era XLM-R models."""
    name = "tiny-xlmr-spm"
    build_roberta(name, "unigram-xlmr-spm", XLMRobertaForSequenceClassification, XLMRobertaConfig, seed, 1, None)
    out = MODELS / name
    for f in ["tokenizer.json", "special_tokens_map.json"]:
        (out / f).unlink(missing_ok=True)
    shutil.copyfile(MODELS / "unigram-xlmr-spm" / "sentencepiece.bpe.model", out / "sentencepiece.bpe.model")
    (out / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 128}, indent=2) + "\n", encoding="utf-8")
    d = describe(out, seed)
    assert d["tokenizer_class"] == "XLMRobertaTokenizer" and d["max_seq_length"] == 128, d
    return d


def build_distilbert(seed: int) -> dict:
    src = MODELS / "tiny-bert-l1"
    tok = transformers.DistilBertTokenizer.from_pretrained(str(src), model_max_length=128)
    cfg = DistilBertConfig(vocab_size=len(tok), dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=128,
                           activation="gelu", initializer_range=0.2, pad_token_id=tok.pad_token_id, sinusoidal_pos_embds=False,
                           architectures=["DistilBertForSequenceClassification"], num_labels=1)
    torch.manual_seed(seed)
    m = DistilBertForSequenceClassification(cfg)
    randomize(m, seed)
    return save("tiny-distilbert", m, tok, seed)


def build_electra(seed: int) -> dict:
    src = MODELS / "tiny-bert-l1"
    tok = transformers.ElectraTokenizer.from_pretrained(str(src), model_max_length=128)
    cfg = ElectraConfig(vocab_size=len(tok), embedding_size=16, max_position_embeddings=128, type_vocab_size=2,
                        pad_token_id=tok.pad_token_id, layer_norm_eps=1e-12, architectures=["ElectraForSequenceClassification"],
                        **COMMON, num_labels=1)
    torch.manual_seed(seed)
    m = ElectraForSequenceClassification(cfg)
    randomize(m, seed)
    assert hasattr(m.electra, "embeddings_project")
    return save("tiny-electra", m, tok, seed)


# ModernBERT's hub tokenizer (answerdotai/ModernBERT-base) is byte-level BPE with an NFC normalizer, ByteLevel
# pre-tokenizer without prefix space, added tokens after the BPE vocabulary (whitespace runs and |||IP_ADDRESS|||-style
# placeholders as normalized non-special tokens, <|endoftext|>, then [UNK] [CLS] [SEP] [PAD] [MASK], [MASK] with lstrip),
# a TemplateProcessing "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1", model_input_names without token_type_ids, and
# an embedding table padded past the tokenizer to a multiple of 64 rows. The same layout on models/bpe-roberta/'s
# vocabulary and merges (3,000 tokens; its five RoBERTa specials stay as plain vocabulary entries, no longer added tokens).
MODERNBERT_ADDED = ([("|||IP_ADDRESS|||", False, True, False), ("|||EMAIL_ADDRESS|||", False, True, False)]
                    + [(" " * n, False, True, False) for n in range(8, 1, -1)]
                    + [("<|endoftext|>", True, False, False), ("[UNK]", True, False, False), ("[CLS]", True, False, False),
                       ("[SEP]", True, False, False), ("[PAD]", True, False, False), ("[MASK]", True, False, True)])


def modernbert_tokenizer(model_max_length: int | None):
    """The ModernBERT-style tokenizer folder (tokenizer.json, tokenizer_config.json as the hub ships them, config.json
    with model_type modernbert so AutoTokenizer takes the class transformers assigns that model type), loaded with
    AutoTokenizer."""
    src = json.loads((MODELS / "bpe-roberta" / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = src["model"]["vocab"]
    added = []
    for k, (content, special, normalized, lstrip) in enumerate(MODERNBERT_ADDED):
        added.append({"id": len(vocab) + k, "content": content, "single_word": False, "lstrip": lstrip, "rstrip": False,
                      "normalized": normalized, "special": special})
    ids = {a["content"]: a["id"] for a in added}
    j = dict(src)
    j["added_tokens"] = added
    j["normalizer"] = {"type": "NFC"}
    j["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    j["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
        "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ["[CLS]", "[SEP]"]}}
    j["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": True, "cls_token": "[CLS]",
           "mask_token": "[MASK]", "pad_token": "[PAD]", "sep_token": "[SEP]", "unk_token": "[UNK]",
           "model_input_names": ["input_ids", "attention_mask"]}
    if model_max_length is not None:
        cfg["model_max_length"] = model_max_length
    tmp = pathlib.Path(tempfile.mkdtemp())
    (tmp / "tokenizer.json").write_text(json.dumps(j, ensure_ascii=False), encoding="utf-8")
    (tmp / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    (tmp / "config.json").write_text(json.dumps({"model_type": "modernbert"}) + "\n", encoding="utf-8")
    tok = AutoTokenizer.from_pretrained(str(tmp))
    shutil.rmtree(tmp)
    assert list(tok.model_input_names) == ["input_ids", "attention_mask"], tok.model_input_names
    assert tok("a", "b")["input_ids"] == [ids["[CLS]"], vocab["a"], ids["[SEP]"], vocab["b"], ids["[SEP]"]]
    return tok


def build_modernbert(name: str, seed: int, pooling: str, num_labels: int, id2label: dict | None, model_max_length: int | None,
                     **options) -> dict:
    tok = modernbert_tokenizer(model_max_length)
    vocab_size = (len(tok) + 63) // 64 * 64  # as the hub checkpoints pad tok_embeddings
    cfg = ModernBertConfig(vocab_size=vocab_size, pad_token_id=tok.pad_token_id, cls_token_id=tok.cls_token_id,
                           sep_token_id=tok.sep_token_id, bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id,
                           classifier_pooling=pooling, architectures=["ModernBertForSequenceClassification"],
                           **options, **labels_kw(id2label, num_labels))
    torch.manual_seed(seed)
    m = ModernBertForSequenceClassification(cfg)
    # Linear weights N(0, 0.2^2): ModernBERT's residual stream has no LayerNorm between blocks, and at 0.3 the 4-layer
    # model was so sensitive that the reference itself, run on fp16-rounded encoder weights, moved logits by up to
    # 0.039 (beyond the fp16 profile's 1e-2); at 0.2 by 0.0037, with logits still spread over about 4 units.
    randomize(m, seed, linear_std=0.2)
    assert isinstance(m.model.layers[0].attn_norm, torch.nn.Identity)
    return save(name, m, tok, seed)


BUILDERS = {
    "tiny-roberta": lambda: build_roberta("tiny-roberta", "bpe-roberta", RobertaForSequenceClassification, RobertaConfig, 4004, 1, None),
    "tiny-xlmr": lambda: build_roberta("tiny-xlmr", "unigram-xlmr", XLMRobertaForSequenceClassification, XLMRobertaConfig, 5005, 3, NLI),
    "tiny-xlmr-spm": lambda: build_xlmr_spm(5006),
    "tiny-camembert": lambda: build_roberta("tiny-camembert", "unigram-camembert-hub", CamembertForSequenceClassification, CamembertConfig,
                                            5007, 1, None),
    "tiny-distilbert": lambda: build_distilbert(6006),
    "tiny-electra": lambda: build_electra(7007),
    "tiny-modernbert": lambda: build_modernbert(
        "tiny-modernbert", 8008, "cls", 1, None, 8192, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
        intermediate_size=48, global_attn_every_n_layers=3, local_attention=16, max_position_embeddings=8192),
    "tiny-modernbert-mean": lambda: build_modernbert(
        "tiny-modernbert-mean", 9009, "mean", 3, NLI, None, hidden_size=36, num_hidden_layers=3, num_attention_heads=3,
        intermediate_size=40, global_attn_every_n_layers=2, local_attention=11, max_position_embeddings=512,
        global_rope_theta=40000.0, local_rope_theta=5000.0, norm_eps=1e-6, attention_bias=True, mlp_bias=True, norm_bias=True,
        classifier_bias=True, hidden_activation="gelu_pytorch_tanh", classifier_activation="tanh"),
}


def main() -> None:
    only = sys.argv[1:] or list(BUILDERS)
    prov_path = MODELS / "PROVENANCE-arch.json"
    prov = json.loads(prov_path.read_text()) if prov_path.exists() else {"models": {}}
    prov.update({"generator": "golden/make_models_arch.py", "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
                 "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "versions": versions()})
    for name in only:
        prov["models"][name] = BUILDERS[name]()
        print(json.dumps({name: prov["models"][name]}, ensure_ascii=False), flush=True)
    prov["models"] = dict(sorted(prov["models"].items()))
    prov_path.write_text(json.dumps(prov, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
