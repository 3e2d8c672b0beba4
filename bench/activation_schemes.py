#!/usr/bin/env python3
"""How much rounding the inputs of every encoder linear to int8 costs, per scheme, with nothing else rounded: the
reference model in PyTorch, weights unrounded, SmoothQuant's per-channel factors (alpha as convert's default 0.5, from
the maxima over the same pairs) applied before the inputs are rounded and taken back after; mean / max |Δlogit|
against the unrounded model on a golden's pairs. A property of each scheme on this model, not cetool's code or its
result (formats/quantization.md, "int8 inputs per row and weight group").

    ref/bin/python bench/activation_schemes.py --model .models/minilm-l6-ce --golden golden/minilm-l6-ce/golden.json

Schemes: one scale per row, or per row and group of G inputs; symmetric (|x| max / 127), or asymmetric (a zero point
per row / group, 255 levels over [min, max] with 0 inside). --only restricts the rounding to linears whose module name
contains the string (e.g. output.dense: the attention output and feed-forward down projections).
"""
import argparse
import json

import torch
from transformers import AutoModelForSequenceClassification


def fake_quant(x: torch.Tensor, group: int, asym: bool) -> torch.Tensor:
    shape, k = x.shape, x.shape[-1]
    g = group if group and k % group == 0 else k
    b = x.reshape(-1, k // g, g)
    if asym:
        lo, hi = b.amin(-1, keepdim=True).clamp(max=0), b.amax(-1, keepdim=True).clamp(min=0)
        s = (hi - lo) / 255
        s[s == 0] = 1
        z = torch.round(-lo / s)
        out = (torch.clamp(torch.round(b / s) + z, 0, 255) - z) * s
    else:
        s = b.abs().amax(-1, keepdim=True) / 127
        s[s == 0] = 1
        out = torch.clamp(torch.round(b / s), -127, 127) * s
    return out.reshape(shape)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=".models/minilm-l6-ce")
    ap.add_argument("--golden", default="golden/minilm-l6-ce/golden.json")
    ap.add_argument("--alpha", type=float, default=0.5)
    ap.add_argument("--only", default="", help="round only linears whose name contains this")
    ap.add_argument("--groups", default="0,128,64,32")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cases = json.load(open(a.golden))["cases"]
    model = AutoModelForSequenceClassification.from_pretrained(a.model).eval()
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and ".layer." in n]
    state = {"scheme": None, "amax": {}, "smooth": {}}

    def hook(name):
        def pre(_, args):
            x, sch = args[0], state["scheme"]
            if sch == "calibrate":
                v = x.detach().abs().reshape(-1, x.shape[-1]).amax(0)
                state["amax"][name] = torch.maximum(state["amax"].get(name, v), v)
            elif sch is not None and a.only in name:
                f = state["smooth"].get(name, torch.ones(x.shape[-1]))
                return (fake_quant(x * f, *sch) / f,)
            return None
        return pre

    for n, m in linears:
        m.register_forward_pre_hook(hook(n))

    def run() -> torch.Tensor:
        order = sorted(range(len(cases)), key=lambda i: len(cases[i]["input_ids"]))
        out = torch.zeros(len(cases))
        with torch.no_grad():
            for b in range(0, len(order), 16):
                idx = order[b:b + 16]
                width = max(len(cases[i]["input_ids"]) for i in idx)
                pad = lambda key: torch.tensor([cases[i][key] + [0] * (width - len(cases[i][key])) for i in idx])
                out[idx] = model(input_ids=pad("input_ids"), token_type_ids=pad("token_type_ids"),
                                 attention_mask=pad("attention_mask")).logits[:, 0]
        return out

    reference = run()
    if a.alpha > 0:
        state["scheme"] = "calibrate"
        run()
        shared = {}  # Q, K and V share one input, so one factor vector (as convert does)
        for n, m in linears:
            key = n.rsplit(".", 1)[0] if n.endswith(("query", "key", "value")) else n
            shared.setdefault(key, []).append((n, m))
        for members in shared.values():
            act = state["amax"][members[0][0]].clamp(min=1e-8)
            wmax = torch.stack([m.weight.abs().amax(0) for _, m in members]).amax(0).clamp(min=1e-8)
            factor = (act ** a.alpha / wmax ** (1 - a.alpha)).clamp(1e-4, 1e4)
            for n, _ in members:
                state["smooth"][n] = 1 / factor
    print(f"{len(cases)} pairs, reference logits std {reference.std():.3f}, alpha {a.alpha}, only '{a.only}'")
    for group in (int(g) for g in a.groups.split(",")):
        for asym in (False, True):
            state["scheme"] = (group, asym)
            d = (run() - reference).abs()
            label = f"group {group}" if group else "per row"
            print(f"{label:10s} {'asymmetric' if asym else 'symmetric '}: mean |dlogit| {d.mean():.4f}, max {d.max():.4f}", flush=True)


if __name__ == "__main__":
    main()
