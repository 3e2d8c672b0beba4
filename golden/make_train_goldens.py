"""Training goldens for CETrain (issue 28), from PyTorch autograd (runs in the reference venv).

  ref/bin/python golden/make_train_goldens.py

Writes golden/train/:
- grads-<model>.json: one batch of text pairs through each tiny cross-encoder of golden/models (BERT, RoBERTa, DistilBERT,
  ELECTRA, ModernBERT cls and mean), the model in train() mode with every dropout probability set to 0, padded as
  CrossEncoder pads (attention_mask), the loss sentence-transformers' fit uses (BCEWithLogitsLoss for one label,
  CrossEntropyLoss for several), then loss.backward(). Recorded: the unpadded input ids / token type ids, labels, logits,
  loss, and per parameter (HF name) the gradient's L2 norm, its largest |entry| and 16 entries at seeded flat indices.
- fit-<model>.json: a deterministic fit (dropout 0, no shuffling): 24 steps of batch 4 on 96 training pairs, the
  defaults of CrossEncoder.fit spelt out in plain PyTorch (torch.optim.AdamW with weight decay 0.01 on every parameter
  but biases and LayerNorm weights, transformers' get_linear_schedule_with_warmup with 4 warm-up steps over 24,
  clip_grad_norm_ 1.0, lr 1e-3), and the logits of 8 held-out pairs before and after. tiny-bert-l1 (1 label, BCE) and
  tiny-bert-l3 (3 labels, cross-entropy).
"""
from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import sentence_transformers
import torch
import transformers
from sentence_transformers import CrossEncoder

ROOT = pathlib.Path(__file__).resolve().parent
OUT = ROOT / "train"
GRAD_MODELS = ["tiny-bert-l1", "tiny-bert-l3", "tiny-roberta", "tiny-distilbert", "tiny-electra", "tiny-modernbert",
               "tiny-modernbert-mean"]
FIT_MODELS = ["tiny-bert-l1", "tiny-bert-l3"]

SENTENCES = [
    "How many people live in Berlin?",
    "Berlin has a population of 3.5 million registered inhabitants.",
    "The river Spree flows through the centre of the city.",
    "Paris is the capital and most populous city of France.",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "The mitochondria is often called the powerhouse of the cell.",
    "What is the boiling point of water at sea level?",
    "Water boils at 100 degrees Celsius under standard atmospheric pressure.",
    "The Great Wall of China is visible from low orbit only under ideal conditions.",
    "Who wrote the novel Pride and Prejudice?",
    "Jane Austen published Pride and Prejudice in 1813.",
    "Mount Everest is the highest mountain above sea level.",
    "A neural network learns by adjusting its weights with gradient descent.",
    "The stock market fell sharply after the announcement.",
    "Bees communicate the location of flowers through a waggle dance.",
    "The recipe calls for two cups of flour and one egg.",
]


def versions() -> dict:
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__, "numpy": np.__version__,
            "python": sys.version.split()[0], "script": "golden/make_train_goldens.py"}


def pairs(n: int, offset: int) -> list[tuple[str, str]]:
    k = len(SENTENCES)
    return [(SENTENCES[(i * 3 + offset) % k], SENTENCES[(i * 7 + 2 * offset + 1) % k]) for i in range(n)]


def labels_for(n: int, num_labels: int, offset: int) -> list:
    if num_labels == 1:
        return [float((i + offset) % 2) if (i + offset) % 5 else 0.75 for i in range(n)]
    return [(i * 2 + offset) % num_labels for i in range(n)]


def zero_dropout(model: torch.nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    cfg = model.config
    for key in ("attention_probs_dropout_prob", "attention_dropout", "hidden_dropout_prob"):
        if hasattr(cfg, key):
            setattr(cfg, key, 0.0)


def encode(ce: CrossEncoder, batch: list[tuple[str, str]]):
    enc = ce.tokenizer([a for a, _ in batch], [b for _, b in batch], padding=True, truncation="longest_first",
                       return_tensors="pt")
    mask = enc["attention_mask"]
    ids, types = [], []
    for r in range(mask.shape[0]):
        n = int(mask[r].sum())
        ids.append(enc["input_ids"][r, :n].tolist())
        tt = enc.get("token_type_ids")
        types.append(tt[r, :n].tolist() if tt is not None else [0] * n)
    return enc, ids, types


def loss_of(logits: torch.Tensor, labels: list, num_labels: int) -> torch.Tensor:
    if num_labels == 1:
        return torch.nn.BCEWithLogitsLoss()(logits.view(-1), torch.tensor(labels, dtype=torch.float32))
    return torch.nn.CrossEntropyLoss()(logits, torch.tensor(labels, dtype=torch.long))


def grads_golden(name: str) -> dict:
    torch.manual_seed(0)
    ce = CrossEncoder(str(ROOT / "models" / name), device="cpu")
    model = ce.model
    zero_dropout(model)
    model.train()
    num_labels = model.config.num_labels
    batch = pairs(5, len(name))
    labels = labels_for(5, num_labels, len(name))
    enc, ids, types = encode(ce, batch)
    logits = model(**enc).logits
    loss = loss_of(logits, labels, num_labels)
    model.zero_grad()
    loss.backward()
    rng = np.random.RandomState(7)
    params = {}
    for pname, p in model.named_parameters():
        g = p.grad.detach().to(torch.float64).reshape(-1).numpy() if p.grad is not None else np.zeros(p.numel())
        idx = sorted(set(rng.randint(0, g.size, size=16).tolist()))
        params[pname] = {"shape": list(p.shape), "norm": float(np.linalg.norm(g)), "max_abs": float(np.abs(g).max()),
                         "indices": idx, "values": [float(g[i]) for i in idx]}
    return {"model": f"golden/models/{name}", "versions": versions(), "num_labels": num_labels,
            "loss_fn": "BCEWithLogitsLoss" if num_labels == 1 else "CrossEntropyLoss",
            "input_ids": ids, "token_type_ids": types, "labels": labels,
            "logits": logits.detach().tolist(), "loss": float(loss), "parameters": params}


def no_decay(model: torch.nn.Module) -> set[str]:
    names = set()
    for mname, m in model.named_modules():
        for pname, _ in m.named_parameters(recurse=False):
            full = f"{mname}.{pname}" if mname else pname
            if pname == "bias" or isinstance(m, torch.nn.LayerNorm):
                names.add(full)
    return names


def fit_golden(name: str) -> dict:
    torch.manual_seed(0)
    ce = CrossEncoder(str(ROOT / "models" / name), device="cpu")
    model = ce.model
    zero_dropout(model)
    num_labels = model.config.num_labels
    steps, batch_size, warmup, lr, wd, max_norm = 24, 4, 4, 1e-3, 0.01, 1.0
    train = pairs(steps * batch_size, 3)
    train_labels = labels_for(len(train), num_labels, 1)
    held = pairs(8, 11)
    _, held_ids, held_types = encode(ce, held)

    def held_logits():
        model.eval()
        with torch.no_grad():
            enc, _, _ = encode(ce, held)
            return model(**enc).logits.tolist()

    before = held_logits()
    nd = no_decay(model)
    groups = [{"params": [p for n, p in model.named_parameters() if n not in nd], "weight_decay": wd},
              {"params": [p for n, p in model.named_parameters() if n in nd], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=lr)
    sched = transformers.get_linear_schedule_with_warmup(opt, num_warmup_steps=warmup, num_training_steps=steps)
    train_ids, train_types, losses = [], [], []
    for s in range(steps):
        model.train()
        chunk = train[s * batch_size:(s + 1) * batch_size]
        labels = train_labels[s * batch_size:(s + 1) * batch_size]
        enc, ids, types = encode(ce, chunk)
        train_ids += ids
        train_types += types
        loss = loss_of(model(**enc).logits, labels, num_labels)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        opt.step()
        sched.step()
        losses.append(float(loss))
    return {"model": f"golden/models/{name}", "versions": versions(), "num_labels": num_labels,
            "loss_fn": "BCEWithLogitsLoss" if num_labels == 1 else "CrossEntropyLoss",
            "options": {"steps": steps, "batch_size": batch_size, "warmup_steps": warmup, "lr": lr, "weight_decay": wd,
                        "max_grad_norm": max_norm, "scheduler": "WarmupLinear", "shuffle": False, "dropout": 0},
            "no_decay": sorted(nd),
            "train_ids": train_ids, "train_token_type_ids": train_types, "train_labels": train_labels,
            "losses": losses, "held_ids": held_ids, "held_token_type_ids": held_types,
            "held_logits_before": before, "held_logits_after": held_logits()}


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(exist_ok=True)
    for name in GRAD_MODELS:
        (OUT / f"grads-{name}.json").write_text(json.dumps(grads_golden(name), indent=1) + "\n")
        print("grads", name)
    for name in FIT_MODELS:
        (OUT / f"fit-{name}.json").write_text(json.dumps(fit_golden(name), indent=1) + "\n")
        print("fit", name)


if __name__ == "__main__":
    main()
