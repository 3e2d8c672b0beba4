"""Where int8 weight rounding costs ranking accuracy, with no calibration draw involved: the reference model in
PyTorch with some of its weights replaced by their symmetric round-to-nearest values (one scale per row, or per row
and group of G columns, at B bits), scored on every document of the golden's ranked lists and compared with the
unrounded model's logits.

Rounding to nearest has no calibration inputs, so each figure here is a property of the scheme on this model, not a
draw (cetool's default GPTQ rounding is; bench/int8_spread.py measures that spread). Nothing here is cetool's code:
it says what a storage scheme can reach before cetool implements it.

    ref/bin/python bench/fake_quant.py --model minilm-l6-rr-distilbert
    ref/bin/python bench/fake_quant.py --model minilm-l6-rr --variants emb:8:0 emb:8:64 lin:8:64 lin:9:64

A variant is PART:BITS:GROUP with PART `emb` (the token embedding), `lin` (every encoder linear) or `both`, and
GROUP 0 for one scale per row. Prints one line per variant and writes bench/results/fake-quant-<model>-<UTC>.json.
"""
from __future__ import annotations

import argparse
import datetime
import itertools
import json
import pathlib

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_VARIANTS = ["emb:8:0", "emb:8:64", "emb:8:32", "lin:8:0", "lin:8:64", "lin:8:32", "lin:9:64", "lin:10:64",
                    "both:8:64"]
NEAR_TIE = 0.02  # the int8 profile's near-tie bound for two documents, 2 × 1e-2 (formats/golden.md)


def rounded(w: torch.Tensor, bits: int, group: int) -> torch.Tensor:
    qmax = 2 ** (bits - 1) - 1
    rows, cols = w.shape
    g = group if group and cols > group else cols
    # A last, shorter group is padded with zeros, which change neither its max nor its other values.
    padded = torch.nn.functional.pad(w, (0, -cols % g))
    blocks = padded.reshape(rows, -1, g)
    scale = blocks.abs().amax(-1, keepdim=True) / qmax
    scale[scale == 0] = 1
    return (torch.round(blocks / scale).clamp(-qmax, qmax) * scale).reshape(rows, -1)[:, :cols]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="minilm-l6-rr-distilbert", help="folder under .models/ with a golden under golden/")
    ap.add_argument("--variants", nargs="+", default=DEFAULT_VARIANTS)
    args = ap.parse_args()
    torch.set_num_threads(2)
    model_dir = ROOT / ".models" / args.model
    golden = json.loads((ROOT / "golden" / args.model / "golden.json").read_text())
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    lists = golden["rankings"]
    encoded = [tok(r["query"], d, truncation=True, max_length=golden["max_length"], return_tensors="pt")
               for r in lists for d in r["documents"]]
    original = {n: p.detach().clone() for n, p in model.named_parameters()}

    def score() -> list[float]:
        with torch.no_grad():
            return [model(**e).logits[0, 0].item() for e in encoded]

    def set_weights(part: str, bits: int, group: int) -> None:
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(original[n])
                emb = "word_embeddings" in n or "tok_embeddings" in n
                lin = p.dim() == 2 and (".layer." in n or ".layers." in n)
                if (emb and part in ("emb", "both")) or (lin and not emb and part in ("lin", "both")):
                    p.copy_(rounded(original[n], bits, group))

    base = score()
    rows = []
    for v in args.variants:
        part, bits, group = v.split(":")
        set_weights(part, int(bits), int(group))
        y = score()
        beyond, widest, at = 0, 0.0, 0
        for r in lists:
            n = len(r["documents"])
            b, s = base[at:at + n], y[at:at + n]
            at += n
            for i, j in itertools.combinations(range(n), 2):
                gap = abs(b[i] - b[j])
                if (b[i] - b[j]) * (s[i] - s[j]) < 0 and gap > NEAR_TIE:
                    beyond += 1
                    widest = max(widest, gap)
        mean = sum(abs(a - c) for a, c in zip(y, base)) / len(y)
        rows.append({"variant": v, "mean_abs_delta_logit": mean, "max_abs_delta_logit": max(abs(a - c) for a, c in zip(y, base)),
                     "reordered_pairs_beyond_near_tie": beyond, "widest_reordered_gap": widest})
        print(f"{v:12s} mean |dlogit| {mean:.4f}  reordered beyond near-tie {beyond:3d}  widest {widest:.3f}", flush=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"fake-quant-{args.model}-{stamp}.json"
    out.write_text(json.dumps({"script": "bench/fake_quant.py", "model": args.model, "documents": len(encoded),
                               "lists": len(lists), "torch": torch.__version__, "rows": rows}, indent=1) + "\n")
    print(out)


if __name__ == "__main__":
    main()
