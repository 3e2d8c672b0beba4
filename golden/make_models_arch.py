"""Builds the tiny random-init cross-encoders of the other architectures (runs in the reference venv).

  ref/bin/python golden/make_models_arch.py           # all four; or name some: tiny-roberta tiny-xlmr ...

- tiny-roberta/     RobertaForSequenceClassification, 1 label, the byte-level BPE tokenizer of models/bpe-roberta/
- tiny-xlmr/        XLMRobertaForSequenceClassification, 3 labels (contradiction, entailment, neutral), the
                    Unigram tokenizer of models/unigram-xlmr/
- tiny-distilbert/  DistilBertForSequenceClassification, 1 label, tiny-bert-l1's WordPiece vocabulary
                    (DistilBertTokenizer: no token_type_ids)
- tiny-electra/     ElectraForSequenceClassification, 1 label, embedding_size 16 != hidden_size 32 (so the
                    checkpoint has embeddings_project), tiny-bert-l1's WordPiece vocabulary (ElectraTokenizer)

Each is saved as sentence-transformers 6.2's CrossEncoder.save writes it (config.json, model.safetensors,
config_sentence_transformers.json, modules.json, sentence_bert_config.json, tokenizer.json,
tokenizer_config.json). Weights are seeded: every Linear/Embedding N(0, 0.3^2), every
LayerNorm gain 1 + N(0, 0.1^2) and bias N(0, 0.1^2), every Linear bias N(0, 0.1^2), so logits are spread and a
kernel that drops a gain, a bias or a position offset fails the goldens. Records PROVENANCE-arch.json.
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
from transformers import (AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification, ElectraConfig,  # noqa: E402
                          ElectraForSequenceClassification, RobertaConfig, RobertaForSequenceClassification, XLMRobertaConfig,
                          XLMRobertaForSequenceClassification)

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


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Seeded weights: Linear/Embedding N(0, 0.3^2), LayerNorm gain 1 + N(0, 0.1^2), biases N(0, 0.1^2). Overwrites
    transformers' own init completely (also the zeroed padding rows), by module type, in named_modules order."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, mod in model.named_modules():
            if isinstance(mod, torch.nn.LayerNorm):
                mod.weight.copy_(1.0 + 0.1 * torch.randn(mod.weight.shape, generator=g))
                mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=g))
            elif isinstance(mod, torch.nn.Linear):
                mod.weight.copy_(0.3 * torch.randn(mod.weight.shape, generator=g))
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


BUILDERS = {
    "tiny-roberta": lambda: build_roberta("tiny-roberta", "bpe-roberta", RobertaForSequenceClassification, RobertaConfig, 4004, 1, None),
    "tiny-xlmr": lambda: build_roberta("tiny-xlmr", "unigram-xlmr", XLMRobertaForSequenceClassification, XLMRobertaConfig, 5005, 3, NLI),
    "tiny-distilbert": lambda: build_distilbert(6006),
    "tiny-electra": lambda: build_electra(7007),
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
