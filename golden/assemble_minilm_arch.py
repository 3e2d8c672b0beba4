#!/usr/bin/env python3
"""Builds real-weight DistilBERT, ELECTRA and RoBERTa cross-encoders from minilm-l6-rr (stdlib only).

  python3 golden/assemble_minilm_arch.py --source .models/minilm-l6-rr --arch electra --out .models/minilm-l6-rr-electra

The random-init tiny models of golden/make_models_arch.py check each architecture's arithmetic, but their
ranked lists score within a few int8 steps of each other, so no quantized model can hold their rankings.
These variants carry the trained reranker minilm-l6-rr (BERT, MiniLM-L6 trunk, 6 x 384) into the other
architectures' tensor layouts and heads, so int8 and fp16 artifacts of each can be held to their profiles
on real text. They are not the same function as minilm-l6-rr: each head computes what its class computes.

- electra:    ElectraForSequenceClassification, embedding_size = hidden_size (no embeddings_project).
              electra.embeddings.* and electra.encoder.* are bert.embeddings.* and bert.encoder.*;
              classifier.dense = bert.pooler.dense, classifier.out_proj = classifier (the head applies gelu
              where BERT's pooler applies tanh). Token type ids as BERT (ElectraTokenizer).
- distilbert: DistilBertForSequenceClassification. No token types: the type-0 row is added to every position
              row (float32 sum), so segment A sees what BERT saw and segment B loses its type-1 offset.
              q_lin/k_lin/v_lin/out_lin, sa_layer_norm, ffn.lin1/lin2, output_layer_norm are BERT's
              query/key/value/attention.output.dense, attention.output.LayerNorm, intermediate.dense,
              output.dense, output.LayerNorm; pre_classifier = bert.pooler.dense (ReLU in the head),
              classifier = classifier. DistilBertTokenizer (no token_type_ids).
              That mapping alone (the "construct") scores documents without the segment signal the reranker
              was trained with, so its held-out lists bunch (neighbours 6e-5 apart). The variant is the
              construct fine-tuned in DistilBERT's own layout, as a published DistilBERT cross-encoder is
              trained: golden/models/minilm-l6-rr-distilbert/delta.safetensors (LoRA on q_lin/k_lin/v_lin/
              out_lin, pre_classifier and classifier whole; golden/train_minilm_rr_distilbert.py) is merged
              into the construct by golden/assemble_minilm_rr.py's rule (float64 accumulation, one rounding).
- roberta:    RobertaForSequenceClassification with pad_token_id 0 ([PAD]): positions run from
              pad_token_id + 1, so position row p + 1 is BERT's row p and row 0 (the padding row) is zero;
              max_position_embeddings 513. type_vocab_size 1 holding BERT's type-0 row (no token_type_ids).
              classifier.dense / out_proj as for electra (tanh, as BERT's pooler). The tokenizer is
              minilm-l6-rr's WordPiece tokenizer.json with a RobertaProcessing post-processor
              ([CLS] A [SEP] [SEP] B [SEP]) and model_input_names without token_type_ids.

Output: model.safetensors written like assemble_minilm_ce.py (keys sorted, data in key order, metadata
{"format": "pt"}, header space-padded to 8 bytes), then the committed config and tokenizer files; every file
is checked against golden/models/minilm-l6-rr-<arch>/SHA256SUMS (recorded by golden/make_models_minilm_arch.py,
which also checked that these bytes are what transformers' save_pretrained writes for the same model).
"""
from __future__ import annotations

import argparse
import pathlib
import struct
import sys

import assemble_minilm_ce as asm
import assemble_minilm_rr as rr_asm

HERE = pathlib.Path(__file__).resolve().parent
SOURCE_SUMS = HERE / "models" / "minilm-l6-rr" / "SHA256SUMS"
ARCHS = ("distilbert", "electra", "roberta")
# The files each variant commits in golden/models/minilm-l6-rr-<arch>/ (as CrossEncoder.save_pretrained wrote them).
COMMITTED_FILES = ["config.json", "config_sentence_transformers.json", "modules.json", "sentence_bert_config.json",
                   "tokenizer.json", "tokenizer_config.json"]
LAYERS = 6
# The DistilBERT fine-tune's delta: tensors set whole (all replace a construct tensor of the same shape).
DISTILBERT_DELTA = "delta.safetensors"
DISTILBERT_FULL = {"pre_classifier.weight": True, "pre_classifier.bias": True, "classifier.weight": True, "classifier.bias": True}

Tensors = dict[str, tuple[str, list[int], bytes]]


def f32_add_row(table: tuple[str, list[int], bytes], row: tuple[str, list[int], bytes], what: str) -> tuple[str, list[int], bytes]:
    """table[p] + row for every p, each sum rounded once to float32 (an exact float64 sum of two float32 values
    of these magnitudes, then round to nearest even by struct.pack), as torch's float32 add."""
    (dt, shape, raw), (rdt, rshape, rraw) = table, row
    if dt != "F32" or rdt != "F32" or len(shape) != 2 or rshape[-1] != shape[1]:
        raise SystemExit(f"{what}: expected float32 [n, h] and [.., h], found {dt} {shape} and {rdt} {rshape}")
    h = shape[1]
    r = struct.unpack(f"<{h}f", rraw[:4 * h])
    t = struct.unpack(f"<{shape[0] * h}f", raw)
    out = [t[i] + r[i % h] for i in range(len(t))]
    return "F32", shape, struct.pack(f"<{len(out)}f", *out)


def first_row(t: tuple[str, list[int], bytes]) -> tuple[str, list[int], bytes]:
    dt, shape, raw = t
    return dt, [1, shape[1]], raw[:4 * shape[1]]


def shifted_positions(t: tuple[str, list[int], bytes], offset: int) -> tuple[str, list[int], bytes]:
    """`offset` zero rows, then the table: row p + offset holds row p."""
    dt, shape, raw = t
    return dt, [shape[0] + offset, shape[1]], bytes(4 * shape[1] * offset) + raw


def take(src: Tensors, name: str) -> tuple[str, list[int], bytes]:
    if name not in src:
        raise SystemExit(f"source has no tensor {name}")
    return src.pop(name)


def variant_tensors(source: Tensors, arch: str) -> Tensors:
    src = dict(source)
    out: Tensors = {}
    if arch in ("electra", "roberta"):
        prefix = "electra" if arch == "electra" else "roberta"
        for name in list(src):
            if name.startswith("bert.embeddings.") or name.startswith("bert.encoder."):
                out[prefix + name[len("bert"):]] = take(src, name)
        if arch == "roberta":
            e = "roberta.embeddings."
            out[e + "position_embeddings.weight"] = shifted_positions(out[e + "position_embeddings.weight"], 1)
            out[e + "token_type_embeddings.weight"] = first_row(out[e + "token_type_embeddings.weight"])
        for part in ("weight", "bias"):
            out[f"classifier.dense.{part}"] = take(src, f"bert.pooler.dense.{part}")
            out[f"classifier.out_proj.{part}"] = take(src, f"classifier.{part}")
    elif arch == "distilbert":
        e = "bert.embeddings."
        out["distilbert.embeddings.word_embeddings.weight"] = take(src, e + "word_embeddings.weight")
        out["distilbert.embeddings.position_embeddings.weight"] = f32_add_row(
            take(src, e + "position_embeddings.weight"), take(src, e + "token_type_embeddings.weight"), "positions + type 0")
        for part in ("weight", "bias"):
            out[f"distilbert.embeddings.LayerNorm.{part}"] = take(src, f"{e}LayerNorm.{part}")
        renames = {"attention.self.query": "attention.q_lin", "attention.self.key": "attention.k_lin",
                   "attention.self.value": "attention.v_lin", "attention.output.dense": "attention.out_lin",
                   "attention.output.LayerNorm": "sa_layer_norm", "intermediate.dense": "ffn.lin1",
                   "output.dense": "ffn.lin2", "output.LayerNorm": "output_layer_norm"}
        for i in range(LAYERS):
            for old, new in renames.items():
                for part in ("weight", "bias"):
                    out[f"distilbert.transformer.layer.{i}.{new}.{part}"] = take(src, f"bert.encoder.layer.{i}.{old}.{part}")
        for part in ("weight", "bias"):
            out[f"pre_classifier.{part}"] = take(src, f"bert.pooler.dense.{part}")
            out[f"classifier.{part}"] = take(src, f"classifier.{part}")
    else:
        raise SystemExit(f"unknown architecture {arch!r} (one of {', '.join(ARCHS)})")
    if src:
        raise SystemExit(f"{arch}: source tensors not placed: {sorted(src)}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", required=True, type=pathlib.Path, help="the assembled .models/minilm-l6-rr folder")
    ap.add_argument("--arch", required=True, choices=ARCHS)
    ap.add_argument("--out", required=True, type=pathlib.Path, help="output folder, e.g. .models/minilm-l6-rr-electra")
    ap.add_argument("--record", action="store_true", help="write SHA256SUMS instead of checking it (make_models_minilm_arch.py only)")
    args = ap.parse_args()
    weights = args.source / "model.safetensors"
    expected = asm.read_sums(SOURCE_SUMS).get("model.safetensors")
    got = asm.sha256_file(weights) if weights.exists() else None
    if got != expected:
        print(f"error: {weights}: sha256 {got}, expected {expected} (run golden/assemble_minilm_rr.py first)", file=sys.stderr)
        return 1
    committed = HERE / "models" / f"minilm-l6-rr-{args.arch}"
    tensors = variant_tensors(asm.read_safetensors(weights), args.arch)
    if args.arch == "distilbert":
        tensors, merged, seconds = rr_asm.merge_delta(tensors, committed / DISTILBERT_DELTA, DISTILBERT_FULL)
        print(f"merged {merged} LoRA weights into the construct in {seconds:.2f} s (stdlib, float64 accumulation)")
    return asm.install(tensors, committed, COMMITTED_FILES, args.out, args.record)


if __name__ == "__main__":
    sys.exit(main())
