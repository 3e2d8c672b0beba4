"""Records the real-weight architecture variants of minilm-l6-rr (runs in the reference venv).

  ref/bin/python golden/make_models_minilm_arch.py      # all three; or name some: distilbert electra roberta

Needs .models/minilm-l6-rr (scripts/fetch_models.sh). For each architecture it builds the transformers model
from minilm-l6-rr's state dict (the mapping written out here in torch, independently of the stdlib
golden/assemble_minilm_arch.py), saves it with CrossEncoder.save_pretrained (activation Sigmoid), commits
the config, sentence-transformers and tokenizer files to golden/models/minilm-l6-rr-<arch>/, runs the stdlib
assembler with --record into .models/minilm-l6-rr-<arch>, and checks that

- the assembled model.safetensors has the same bytes as transformers' save_pretrained output;
- CrossEncoder on the assembled folder gives the in-memory model's logits on a few real pairs;
- the tokenizer behaves as intended (no token_type_ids for distilbert and roberta; RobertaProcessing's
  [CLS] A [SEP] [SEP] B [SEP] for roberta).

For distilbert the stdlib mapping makes the "construct", which golden/train_minilm_rr_distilbert.py then
fine-tunes and assembles (SHA256SUMS); here its bytes are checked against save_pretrained's and its logits
after loading, in a temporary folder.

Writes golden/models/PROVENANCE-minilm-arch.json (versions, per-model facts).
"""
from __future__ import annotations

import datetime
import json
import logging
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _data  # noqa: E402
import assemble_minilm_arch as arch_asm  # noqa: E402

import sentence_transformers  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import CrossEncoder  # noqa: E402
from transformers import (BertForSequenceClassification, DistilBertConfig, DistilBertForSequenceClassification,  # noqa: E402
                          ElectraConfig, ElectraForSequenceClassification, PreTrainedTokenizerFast, RobertaConfig,
                          RobertaForSequenceClassification)

REPO = _data.REPO
SOURCE = REPO / ".models" / "minilm-l6-rr"
MODELS = HERE / "models"
torch.set_num_threads(2)
logging.getLogger("transformers").setLevel(logging.ERROR)
transformers.logging.set_verbosity_error()

CHECK_PAIRS = [("How many people live in Berlin?", "Berlin has a population of about 3.7 million registered inhabitants."),
               ("How many people live in Berlin?", "New York City is famous for the Metropolitan Museum of Art."),
               ("what causes tides", "Tides are caused by the gravitational pull of the moon and the sun on the oceans.")]


def versions() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__, "tokenizers": tokenizers.__version__,
            "numpy": np.__version__}


def bert_common(cfg) -> dict:
    return dict(vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size, num_hidden_layers=cfg.num_hidden_layers,
                num_attention_heads=cfg.num_attention_heads, intermediate_size=cfg.intermediate_size, hidden_act=cfg.hidden_act,
                layer_norm_eps=cfg.layer_norm_eps, num_labels=1)


def build(arch: str, bert: BertForSequenceClassification):
    """(model, tokenizer) of the variant, from the BERT reranker's state dict."""
    sd = {k: v.detach().clone() for k, v in bert.state_dict().items()}
    cfg = bert.config
    if arch == "electra":
        c = ElectraConfig(embedding_size=cfg.hidden_size, max_position_embeddings=cfg.max_position_embeddings,
                          type_vocab_size=cfg.type_vocab_size, pad_token_id=cfg.pad_token_id,
                          architectures=["ElectraForSequenceClassification"], **bert_common(cfg))
        m = ElectraForSequenceClassification(c)
        new = {"electra" + k[len("bert"):]: v for k, v in sd.items() if k.startswith(("bert.embeddings.", "bert.encoder."))}
        new.update({"classifier.dense.weight": sd["bert.pooler.dense.weight"], "classifier.dense.bias": sd["bert.pooler.dense.bias"],
                    "classifier.out_proj.weight": sd["classifier.weight"], "classifier.out_proj.bias": sd["classifier.bias"]})
        tok = transformers.ElectraTokenizer.from_pretrained(str(SOURCE))
    elif arch == "roberta":
        pad = cfg.pad_token_id
        c = RobertaConfig(max_position_embeddings=cfg.max_position_embeddings + pad + 1, type_vocab_size=1, pad_token_id=pad,
                          bos_token_id=101, eos_token_id=102, architectures=["RobertaForSequenceClassification"], **bert_common(cfg))
        m = RobertaForSequenceClassification(c)
        new = {"roberta" + k[len("bert"):]: v for k, v in sd.items()
               if k.startswith(("bert.embeddings.", "bert.encoder.")) and "position_ids" not in k and "token_type_ids" not in k}
        pos = sd["bert.embeddings.position_embeddings.weight"]
        new["roberta.embeddings.position_embeddings.weight"] = torch.cat([torch.zeros(pad + 1, pos.shape[1]), pos])
        new["roberta.embeddings.token_type_embeddings.weight"] = sd["bert.embeddings.token_type_embeddings.weight"][:1].clone()
        new.update({"classifier.dense.weight": sd["bert.pooler.dense.weight"], "classifier.dense.bias": sd["bert.pooler.dense.bias"],
                    "classifier.out_proj.weight": sd["classifier.weight"], "classifier.out_proj.bias": sd["classifier.bias"]})
        backend = tokenizers.Tokenizer.from_file(str(SOURCE / "tokenizer.json"))
        backend.post_processor = tokenizers.processors.RobertaProcessing(("[SEP]", 102), ("[CLS]", 101),
                                                                         trim_offsets=True, add_prefix_space=False)
        tok = PreTrainedTokenizerFast(tokenizer_object=backend, model_max_length=512, cls_token="[CLS]", sep_token="[SEP]",
                                      pad_token="[PAD]", unk_token="[UNK]", mask_token="[MASK]",
                                      model_input_names=["input_ids", "attention_mask"])
    elif arch == "distilbert":
        c = DistilBertConfig(vocab_size=cfg.vocab_size, dim=cfg.hidden_size, n_layers=cfg.num_hidden_layers,
                             n_heads=cfg.num_attention_heads, hidden_dim=cfg.intermediate_size, activation=cfg.hidden_act,
                             max_position_embeddings=cfg.max_position_embeddings, pad_token_id=cfg.pad_token_id,
                             sinusoidal_pos_embds=False, architectures=["DistilBertForSequenceClassification"], num_labels=1)
        m = DistilBertForSequenceClassification(c)
        e = "bert.embeddings."
        new = {"distilbert.embeddings.word_embeddings.weight": sd[e + "word_embeddings.weight"],
               "distilbert.embeddings.position_embeddings.weight": sd[e + "position_embeddings.weight"] + sd[e + "token_type_embeddings.weight"][0],
               "distilbert.embeddings.LayerNorm.weight": sd[e + "LayerNorm.weight"],
               "distilbert.embeddings.LayerNorm.bias": sd[e + "LayerNorm.bias"],
               "pre_classifier.weight": sd["bert.pooler.dense.weight"], "pre_classifier.bias": sd["bert.pooler.dense.bias"],
               "classifier.weight": sd["classifier.weight"], "classifier.bias": sd["classifier.bias"]}
        names = {"attention.q_lin": "attention.self.query", "attention.k_lin": "attention.self.key",
                 "attention.v_lin": "attention.self.value", "attention.out_lin": "attention.output.dense",
                 "sa_layer_norm": "attention.output.LayerNorm", "ffn.lin1": "intermediate.dense", "ffn.lin2": "output.dense",
                 "output_layer_norm": "output.LayerNorm"}
        for i in range(cfg.num_hidden_layers):
            for d, b in names.items():
                for p in ("weight", "bias"):
                    new[f"distilbert.transformer.layer.{i}.{d}.{p}"] = sd[f"bert.encoder.layer.{i}.{b}.{p}"]
        tok = transformers.DistilBertTokenizer.from_pretrained(str(SOURCE))
    else:
        raise SystemExit(f"unknown architecture {arch}")
    missing, unexpected = m.load_state_dict(new, strict=False)
    missing = [k for k in missing if not k.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise SystemExit(f"{arch}: missing {missing}, unexpected {unexpected}")
    m.eval()
    return m, tok


def record(arch: str) -> dict:
    bert = BertForSequenceClassification.from_pretrained(str(SOURCE))
    bert.eval()
    m, tok = build(arch, bert)
    out = MODELS / f"minilm-l6-rr-{arch}"
    target = REPO / ".models" / f"minilm-l6-rr-{arch}"
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as saved:
        m.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        ce = CrossEncoder(tmp, device="cpu", activation_fn=torch.nn.Sigmoid())
        ce.save_pretrained(saved, create_model_card=False)
        saved = pathlib.Path(saved)
        out.mkdir(parents=True, exist_ok=True)  # the DistilBERT fine-tune's delta, PROVENANCE and SHA256SUMS stay
        for name in arch_asm.COMMITTED_FILES:
            shutil.copyfile(saved / name, out / name)
        cfg = json.loads((out / "config.json").read_text())
        cfg.pop("_name_or_path", None)
        (out / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
        if arch == "distilbert":
            # The variant is the construct fine-tuned (golden/train_minilm_rr_distilbert.py, which assembles and
            # records it); here the stdlib construct's bytes are checked against save_pretrained's.
            construct = arch_asm.variant_tensors(arch_asm.asm.read_safetensors(SOURCE / "model.safetensors"), arch)
            same_bytes = (saved / "model.safetensors").read_bytes() == arch_asm.asm.safetensors_bytes(construct, {"format": "pt"})
            target = pathlib.Path(tempfile.mkdtemp())
            for name in ["model.safetensors"] + arch_asm.COMMITTED_FILES:
                shutil.copyfile(saved / name, target / name)
        else:
            subprocess.run([sys.executable, str(HERE / "assemble_minilm_arch.py"), "--source", str(SOURCE), "--arch", arch,
                            "--out", str(target), "--record"], check=True)
            same_bytes = (saved / "model.safetensors").read_bytes() == (target / "model.safetensors").read_bytes()
    if not same_bytes:
        raise SystemExit(f"{arch}: assembled model.safetensors differs from transformers' save_pretrained output")

    ce = CrossEncoder(str(target), device="cpu")
    feats = ce.tokenizer([q for q, _ in CHECK_PAIRS], [d for _, d in CHECK_PAIRS], padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        direct = m(**feats).logits.squeeze(-1)
    with torch.no_grad():
        loaded = ce.model(**feats).logits.squeeze(-1)
    # Not bit-equal: the in-memory model and the loaded one may pick different attention kernels (eager / sdpa).
    load_diff = float((direct - loaded).abs().max())
    if load_diff > 1e-5:
        raise SystemExit(f"{arch}: the assembled folder's logits differ from the in-memory model's: {direct} vs {loaded}")
    first = ce.tokenizer(CHECK_PAIRS[0][0], CHECK_PAIRS[0][1])
    has_types = "token_type_ids" in first
    if has_types != (arch == "electra"):
        raise SystemExit(f"{arch}: token_type_ids present = {has_types}")
    tokens = ce.tokenizer.convert_ids_to_tokens(first["input_ids"])
    if arch == "roberta" and "[SEP] [SEP]" not in " ".join(tokens):
        raise SystemExit(f"roberta: pair template not applied: {tokens}")
    return {"architectures": json.loads((target / "config.json").read_text())["architectures"],
            "tokenizer_class": type(ce.tokenizer).__name__, "model_input_names": list(ce.tokenizer.model_input_names),
            "max_seq_length": ce.max_seq_length, "activation_fn": type(ce.activation_fn).__name__,
            "pair_tokens": tokens,
            "assembled_equals_transformers_save_pretrained": same_bytes,
            "check_logits": [round(float(x), 6) for x in direct], "check_logits_max_abs_diff_after_load": load_diff,
            ("construct_safetensors_sha256" if arch == "distilbert" else "model_safetensors_sha256"):
                _data.sha256_file(target / "model.safetensors")}


def main() -> None:
    only = sys.argv[1:] or list(arch_asm.ARCHS)
    prov_path = MODELS / "PROVENANCE-minilm-arch.json"
    prov = json.loads(prov_path.read_text()) if prov_path.exists() else {"models": {}}
    prov.update({"generator": "golden/make_models_minilm_arch.py", "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
                 "assembler_sha256": _data.sha256_file(HERE / "assemble_minilm_arch.py"),
                 "source": ".models/minilm-l6-rr (golden/assemble_minilm_rr.py)",
                 "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "versions": versions()})
    for arch in only:
        prov["models"][f"minilm-l6-rr-{arch}"] = record(arch)
        print(json.dumps({arch: prov["models"][f"minilm-l6-rr-{arch}"]}, ensure_ascii=False), flush=True)
    prov["models"] = dict(sorted(prov["models"].items()))
    prov_path.write_text(json.dumps(prov, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
