"""Records the encoder trunk's last hidden states of one tiny model per architecture (reference venv).

  ref/bin/python golden/make_hidden_goldens.py

For each model folder below, transformers' AutoModelForSequenceClassification is loaded and its trunk (`base_model`:
BertModel, RobertaModel, DistilBertModel, ElectraModel, ModernBertModel; ModernBERT's includes final_norm) is run on
single texts tokenized by the folder's own tokenizer (padding=True): the hidden states cetool's encoder hook
(Executor.hiddenStates) returns, and what a SentenceTransformer's Transformer module hands to Pooling.
Writes golden/bi/hidden/<model>.json: texts, input_ids, attention_mask, last_hidden_state (B, T, C) as base64
little-endian float32, provenance.
"""
from __future__ import annotations

import base64
import datetime
import json
import pathlib
import platform
import sys

import numpy as np
import torch
import transformers
from transformers import AutoModelForSequenceClassification, AutoTokenizer

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _data  # noqa: E402

REPO = _data.REPO
MODELS = ["tiny-bert-l1", "tiny-roberta", "tiny-xlmr", "tiny-distilbert", "tiny-electra", "tiny-modernbert"]
TEXTS = ["How many people live in Berlin?", "", "a",
         "Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.",
         "The urban area of Berlin comprised about 4.1 million people in 2014, making it the seventh most populous "
         "urban area in the European Union. Berlin is known for its museums and its nightlife."]

torch.set_num_threads(2)
transformers.logging.set_verbosity_error()


def main() -> None:
    for name in MODELS:
        d = REPO / "golden" / "models" / name
        tok = AutoTokenizer.from_pretrained(d)
        model = AutoModelForSequenceClassification.from_pretrained(d).eval()
        enc = tok(TEXTS, padding=True, truncation=True, return_tensors="pt")
        inputs = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        with torch.no_grad():
            h = model.base_model(**inputs).last_hidden_state
        a = np.ascontiguousarray(h.numpy().astype("<f4"))
        out = {
            "provenance": {
                "generator": "golden/make_hidden_goldens.py",
                "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
                "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "versions": {"python": platform.python_version(), "torch": torch.__version__,
                             "transformers": transformers.__version__, "numpy": np.__version__},
                "model": f"golden/models/{name}", "trunk": type(model.base_model).__name__,
            },
            "texts": TEXTS,
            "input_ids": enc["input_ids"].tolist(),
            "attention_mask": enc["attention_mask"].tolist(),
            "last_hidden_state": {"shape": list(a.shape), "float32_base64": base64.b64encode(a.tobytes()).decode()},
        }
        p = REPO / "golden" / "bi" / "hidden" / f"{name}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"{p.relative_to(REPO)}: {type(model.base_model).__name__} {list(a.shape)}")


if __name__ == "__main__":
    main()
