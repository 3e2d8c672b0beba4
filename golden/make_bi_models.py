"""Builds the tiny random-init bi-encoders (SentenceTransformer folders) under golden/models/ (reference venv).

  ref/bin/python golden/make_bi_models.py

One folder per pooling mode, tiny-bi-{cls,mean,max,mean_sqrt_len_tokens,weightedmean,lasttoken}/ (Transformer +
Pooling), and tiny-bi-dense/ (Transformer + Pooling mean with include_prompt false + Dense 32 -> 16 with Tanh +
Normalize, prompts "query: " / "passage: "). The trunk is a seeded random BertModel (hidden 32, 1 layer) with
tiny-bert-l1's WordPiece tokenizer. Every folder is saved by SentenceTransformer.save; the generated README.md is
dropped. PROVENANCE-bi.json records versions, seeds and each model.safetensors sha256.
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
from sentence_transformers import SentenceTransformer  # noqa: E402
from sentence_transformers.models import Dense, Normalize, Pooling, Transformer  # noqa: E402
from transformers import AutoTokenizer, BertConfig, BertModel  # noqa: E402

MODELS = HERE / "models"
TOKENIZER_SOURCE = MODELS / "tiny-bert-l1"
POOLING_MODES = ["cls", "mean", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"]
HIDDEN = 32

torch.set_num_threads(2)
transformers.logging.set_verbosity_error()
logging.getLogger("sentence_transformers").setLevel(logging.ERROR)


def trunk(seed: int) -> tuple[BertModel, object]:
    """A seeded BertModel with non-default LayerNorm gains and biases (as make_models.randomize)."""
    tok = AutoTokenizer.from_pretrained(str(TOKENIZER_SOURCE))
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=HIDDEN, num_hidden_layers=1, num_attention_heads=4, intermediate_size=48,
                     max_position_embeddings=128, type_vocab_size=2, initializer_range=0.2, hidden_act="gelu", pad_token_id=0,
                     architectures=["BertModel"])
    m = BertModel(cfg, add_pooling_layer=False).eval()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
    return m, tok


def build(name: str, seed: int, pooling: str, include_prompt: bool = True, dense: bool = False) -> dict:
    out = MODELS / name
    bert, tok = trunk(seed)
    with tempfile.TemporaryDirectory() as tmp:
        bert.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        modules = [Transformer(tmp, max_seq_length=128)]
        modules.append(Pooling(HIDDEN, pooling_mode=pooling, include_prompt=include_prompt))
        if dense:
            torch.manual_seed(seed + 2)
            d = Dense(HIDDEN, 16, activation_function=torch.nn.Tanh())
            with torch.no_grad():
                d.linear.bias.copy_(0.1 * torch.randn(16, generator=torch.Generator().manual_seed(seed + 3)))
            modules += [d, Normalize()]
        st = SentenceTransformer(modules=modules, device="cpu")
        if dense:
            st.prompts = {"query": "query: ", "passage": "passage: "}
        if out.exists():
            shutil.rmtree(out)
        st.save(str(out))
    readme = out / "README.md"
    if readme.exists():
        readme.unlink()
    return {"seed": seed, "pooling_mode": pooling, "include_prompt": include_prompt, "dense": dense,
            "files": sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()),
            "model_safetensors_sha256": _data.sha256_file(out / "model.safetensors")}


def main() -> None:
    prov = {
        "generator": "golden/make_bi_models.py",
        "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
                     "sentence_transformers": sentence_transformers.__version__, "tokenizers": tokenizers.__version__,
                     "numpy": np.__version__},
        "tokenizer": "golden/models/tiny-bert-l1 (WordPiece trained on the Lee corpus, make_models.py)",
        "models": {},
    }
    for i, mode in enumerate(POOLING_MODES):
        prov["models"][f"tiny-bi-{mode}"] = build(f"tiny-bi-{mode}", 11000 + i, mode)
    prov["models"]["tiny-bi-dense"] = build("tiny-bi-dense", 12000, "mean", include_prompt=False, dense=True)
    (MODELS / "PROVENANCE-bi.json").write_text(json.dumps(prov, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(prov["models"], indent=1))


if __name__ == "__main__":
    main()
