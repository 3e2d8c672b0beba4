"""Which int8 tensors of a DeBERTa-v2 artifact move a golden's rankings: the reference model (PyTorch) with one tensor,
or one kind of tensor in every block, replaced by the artifact's dequantized weight q·scale[row, group]·smooth[col],
scored on every document of the golden's ranked lists. Nothing here is cetool's code: the reference computes what
the int8 weights alone do (cetool's weight-only int8 computes the same), tensor by tensor.

  ref/bin/python bench/deberta_int8_tensors.py --model golden/models/tiny-deberta-c2p --golden golden/tiny-deberta-c2p \\
      --artifact /tmp/c2p-int8                      # after: cetool convert golden/models/tiny-deberta-c2p --output /tmp/c2p-int8

Prints, per replacement, the widest |Δlogit| over the lists' documents and, per list, the widest reference-logit gap
of a document pair the replacement reorders (the int8 profile lets pairs up to 0.1 apart reorder; formats/golden.md).
"""
from __future__ import annotations

import argparse
import itertools
import json
import pathlib

import numpy as np
import torch
from safetensors.numpy import load_file
from sentence_transformers import CrossEncoder

# cetool's canonical block linears -> transformers' DebertaV2Layer submodules (Sources/CEImport/HFNames.swift).
HF = {"attn_q": "attention.self.query_proj", "attn_k": "attention.self.key_proj", "attn_v": "attention.self.value_proj",
      "attn_out": "attention.output.dense", "ffn_up": "intermediate.dense", "ffn_down": "output.dense"}


def dequantized(art: dict, name: str) -> torch.Tensor:
    q = art[name].astype(np.float32)
    rows, cols = q.shape
    scale = art[name + "_scale"].reshape(rows, -1)
    group = -(-cols // scale.shape[1])
    w = q * np.repeat(scale, group, axis=1)[:, :cols]
    if name + "_smooth" in art:
        w = w * art[name + "_smooth"][None, :]
    return torch.tensor(w)


def widest_reordered(base: np.ndarray, x: np.ndarray) -> float:
    gaps = [abs(base[i] - base[j]) for i, j in itertools.combinations(range(len(base)), 2) if (base[i] - base[j]) * (x[i] - x[j]) < 0]
    return round(float(max(gaps, default=0.0)), 4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--golden", required=True, help="golden folder holding golden.json with rankings")
    ap.add_argument("--artifact", required=True, help="cetool int8 artifact of --model")
    args = ap.parse_args()
    torch.set_num_threads(2)
    art = load_file(str(pathlib.Path(args.artifact) / "cetool-model.safetensors"))
    ce = CrossEncoder(args.model, device="cpu")
    lists = json.loads((pathlib.Path(args.golden) / "golden.json").read_text(encoding="utf-8"))["rankings"]
    targets = {}
    for k, v in art.items():
        if v.dtype == np.int8:
            parts = k.split(".")
            targets[k] = (ce.model.deberta.encoder.layer[int(parts[1])].get_submodule(HF[parts[2]]).weight if k.startswith("blk.")
                          else ce.model.deberta.embeddings.word_embeddings.weight)
    original = {k: t.detach().clone() for k, t in targets.items()}

    def score() -> dict[str, np.ndarray]:
        return {L["id"]: ce.predict([[L["query"], d] for d in L["documents"]], batch_size=32,
                                    activation_fn=torch.nn.Identity()).reshape(-1) for L in lists}
    base = score()
    groups = {"every int8 tensor": list(targets)} | {k: [k] for k in targets}
    groups |= {f"{kind} of every block": [k for k in targets if k.split(".")[-2] == kind] for kind in HF}
    for label, names in groups.items():
        with torch.no_grad():
            for k in names:
                targets[k].copy_(dequantized(art, k))
        s = score()
        delta = max(float(np.abs(s[L["id"]] - base[L["id"]]).max()) for L in lists)
        print(json.dumps({"replaced": label, "max_abs_delta_logit": round(delta, 4),
                          "widest_reordered_gap": {L["id"]: widest_reordered(base[L["id"]], s[L["id"]]) for L in lists}}), flush=True)
        with torch.no_grad():
            for k in names:
                targets[k].copy_(original[k])


if __name__ == "__main__":
    main()
