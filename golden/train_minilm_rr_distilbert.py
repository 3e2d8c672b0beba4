"""Fine-tunes the DistilBERT variant of minilm-l6-rr in its own layout (runs in the reference venv).

  ref/bin/python golden/train_minilm_rr_distilbert.py [--threads N]

golden/assemble_minilm_arch.py maps the trained BERT reranker minilm-l6-rr onto DistilBERT's tensors (the
"construct"). DistilBERT has no token types, so the construct scores documents without the segment offset the
reranker learned to read, and its held-out lists bunch up (neighbours 6e-5 apart in logit): no reduced
precision can keep such lists in order, and no published DistilBERT cross-encoder looks like that, since each
is trained in DistilBERT's layout. This script trains the construct the way golden/train_minilm_rr.py trained
minilm-l6-rr: the same data (golden/_rr_data.py training split), loss, batches, optimiser, schedule and seed;
LoRA (rank 8, alpha 16) on q_lin, k_lin, v_lin and out_lin of the 6 layers; pre_classifier and classifier
trained whole; everything else frozen; dropout off.

Writes golden/models/minilm-l6-rr-distilbert/delta.safetensors and PROVENANCE.json, then assembles
.models/minilm-l6-rr-distilbert with golden/assemble_minilm_arch.py --record (SHA256SUMS) and checks the
stdlib merge against torch's merged weights, the assembled bytes against save_pretrained's, and the held-out
ranking quality (the validation lists of train_minilm_rr.py) of the construct and of the fine-tuned model.
The config and tokenizer files (golden/make_models_minilm_arch.py) are not changed: LoRA keeps every shape.
"""
from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import random
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _data  # noqa: E402
import _rr_data  # noqa: E402
import assemble_minilm_arch as arch_asm  # noqa: E402
import assemble_minilm_ce as asm  # noqa: E402
import train_minilm_rr as base  # noqa: E402

from transformers import AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification  # noqa: E402

REPO = _data.REPO
SOURCE = REPO / ".models" / "minilm-l6-rr"
OUT = HERE / "models" / "minilm-l6-rr-distilbert"
TARGET = REPO / ".models" / "minilm-l6-rr-distilbert"
TARGETS = ("q_lin", "k_lin", "v_lin", "out_lin")
FULL = list(arch_asm.DISTILBERT_FULL)


def construct_state() -> dict[str, torch.Tensor]:
    """The construct's tensors from the stdlib mapping, as torch tensors."""
    weights = SOURCE / "model.safetensors"
    expected = asm.read_sums(arch_asm.SOURCE_SUMS).get("model.safetensors")
    if asm.sha256_file(weights) != expected:
        raise SystemExit(f"{weights}: not the recorded minilm-l6-rr; run scripts/fetch_models.sh")
    out = {}
    for name, (dtype, shape, raw) in arch_asm.variant_tensors(asm.read_safetensors(weights), "distilbert").items():
        assert dtype == "F32"
        out[name] = torch.from_numpy(np.frombuffer(raw, dtype="<f4").reshape(shape).copy())
    return out


def build_model(state: dict[str, torch.Tensor]) -> tuple[DistilBertForSequenceClassification, dict]:
    torch.manual_seed(base.SEED)
    model = DistilBertForSequenceClassification(DistilBertConfig.from_pretrained(str(OUT)))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if [k for k in missing if not k.endswith("position_ids")] or unexpected:
        raise SystemExit(f"construct: missing {missing}, unexpected {unexpected}")
    for p in model.parameters():
        p.requires_grad_(False)
    loras = {}
    for i, layer in enumerate(model.distilbert.transformer.layer):
        for t in TARGETS:
            wrapped = base.LoRALinear(getattr(layer.attention, t), base.RANK, base.ALPHA)
            setattr(layer.attention, t, wrapped)
            loras[f"distilbert.transformer.layer.{i}.attention.{t}"] = wrapped
    for p in list(model.pre_classifier.parameters()) + list(model.classifier.parameters()):
        p.requires_grad_(True)
    return model, loras


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    random.seed(base.SEED)
    np.random.seed(base.SEED)
    t_start = time.time()

    rng = random.Random(base.SEED)
    groups, data_stats = base.training_groups(rng)
    batch_list = base.batches(rng, groups)
    print(json.dumps(data_stats), flush=True)

    state = construct_state()
    tok = AutoTokenizer.from_pretrained(str(OUT))
    model, loras = build_model(state)
    fit = base.train(model, tok, batch_list)

    meta = {"format": "pt", "lora_rank": str(base.RANK), "lora_alpha": str(base.ALPHA),
            "base": "the construct of golden/assemble_minilm_arch.py --arch distilbert from .models/minilm-l6-rr "
                    f"(model.safetensors sha256 {asm.read_sums(arch_asm.SOURCE_SUMS)['model.safetensors']})"}
    asm.write_safetensors(OUT / arch_asm.DISTILBERT_DELTA, base.delta_tensors(model, loras, FULL), meta)
    sd = base.merged_state(model, loras)

    t0 = time.time()
    subprocess.run([sys.executable, str(HERE / "assemble_minilm_arch.py"), "--source", str(SOURCE), "--arch", "distilbert",
                    "--out", str(TARGET), "--record"], check=True)
    assemble_seconds = time.time() - t0

    check = base.assembled_checks(TARGET, sd, loras, DistilBertForSequenceClassification) | {
        "assemble_seconds_including_sha256": round(assemble_seconds, 2),
        "model_safetensors_sha256": _data.sha256_file(TARGET / "model.safetensors"),
        "delta_safetensors_sha256": _data.sha256_file(OUT / arch_asm.DISTILBERT_DELTA),
        "delta_safetensors_bytes": (OUT / arch_asm.DISTILBERT_DELTA).stat().st_size,
        "lora_delta_frobenius": {n: round(float((l.scale * (l.lora_B @ l.lora_A)).norm()), 4) for n, l in loras.items()},
    }
    print(json.dumps({k: v for k, v in check.items() if k != "lora_delta_frobenius"}), flush=True)
    base.require_checks(check)

    lists = _rr_data.held_out_lists(**base.VALIDATION)
    print(f"validation: {len(lists)} held-out lists x {base.VALIDATION['size']} documents", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        c = DistilBertForSequenceClassification(DistilBertConfig.from_pretrained(str(OUT)))
        c.load_state_dict(state, strict=False)
        c.save_pretrained(tmp)
        for name in arch_asm.COMMITTED_FILES[1:]:
            (pathlib.Path(tmp) / name).write_bytes((OUT / name).read_bytes())
        construct_logits = base.crossencoder_logits(pathlib.Path(tmp), lists)
    tuned_logits = base.crossencoder_logits(TARGET, lists)

    def neighbour_gaps(logits: list[list[float]]) -> dict:
        gaps = [b - a for row in logits for a, b in zip(sorted(row), sorted(row)[1:])]
        return {"min": round(float(min(gaps)), 6), "median": round(float(np.median(gaps)), 4),
                "share_below_0.02": round(float(np.mean(np.array(gaps) < 0.02)), 4)}

    quality = {"model": base.evaluate_logits(lists, tuned_logits) | {"neighbour_gaps": neighbour_gaps(tuned_logits)},
               "construct": base.evaluate_logits(lists, construct_logits) | {"neighbour_gaps": neighbour_gaps(construct_logits)},
               "minilm_l6_rr": base.evaluate_logits(lists, base.crossencoder_logits(SOURCE, lists))}
    print(json.dumps(quality, indent=1), flush=True)

    prov = {
        "generator": "golden/train_minilm_rr_distilbert.py",
        "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
        "recipe_module_sha256": _data.sha256_file(HERE / "train_minilm_rr.py"),
        "data_module_sha256": _data.sha256_file(HERE / "_rr_data.py"),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": base.versions(),
        "torch_threads": torch.get_num_threads(),
        "start": meta["base"],
        "recipe": {"as": "golden/train_minilm_rr.py", "seed": base.SEED, "lora_rank": base.RANK, "lora_alpha": base.ALPHA,
                   "lora_targets": list(TARGETS), "trained_fully": FULL, "max_length": base.MAX_LENGTH,
                   "lr_lora": base.LR_LORA, "lr_head": base.LR_HEAD, "queries_per_batch": base.QUERIES_PER_BATCH},
        "data": data_stats,
        "training": fit,
        "checks": check,
        "validation_lists": base.VALIDATION,
        "held_out_quality": quality,
        "wall_seconds": round(time.time() - t_start, 1),
    }
    (OUT / "PROVENANCE.json").write_text(json.dumps(prov, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
