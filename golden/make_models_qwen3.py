"""Builds the tiny random-init decoder cross-encoders and their goldens (runs in the reference venv, ≈ 1 min).

  ref/bin/python golden/make_models_qwen3.py            # models, then goldens; `models` or `goldens` for one half

Models (golden/models/<name>/, as sentence-transformers 6.2's CrossEncoder.save writes them, README dropped):
- tiny-qwen3/        Qwen3ForSequenceClassification, 1 label, hidden 48, 2 layers, 4 heads over 2 kv heads (GQA 2),
                     head_dim 16 != 48 / 4, q/k RMSNorm, rope_theta 1e6, tie_word_embeddings true
- tiny-qwen3-gqa4/   Qwen3ForSequenceClassification, 1 label, hidden 32, 3 layers, 8 heads over 2 kv heads (GQA 4),
                     head_dim 4 = 32 / 8, rope_theta 10,000, untied, no pad in config? no: pad_token_id set as the others
- tiny-qwen3-mha/    Qwen3ForSequenceClassification, 2 labels (LABEL_0, LABEL_1), 4 heads over 4 kv heads (GQA 1),
                     attention_bias true (q/k/v/o biases), rope_parameters {rope_type default, rope_theta 5e5}
- tiny-qwen2/        Qwen2ForSequenceClassification, 1 label, q/k/v biases (Qwen2 always has them), no q/k norm, GQA 2
- tiny-llama/        LlamaForSequenceClassification, 1 label, GQA 2, head_dim 12 != 32 / 4, no biases

Tokenizer: a byte-level BPE trained here with the `tokenizers` library on golden/inputs/tokenizer_corpus.jsonl
(vocabulary 1,200) under Qwen2's NFC normalizer and Split(Qwen2 regex, isolated) + ByteLevel(no prefix space, no regex)
pre-tokenizer, ByteLevel decoder and post-processor, then Qwen2's three specials (<|endoftext|>, <|im_start|>,
<|im_end|>) appended as special added tokens, as Qwen2/Qwen3 vocabularies place them; tokenizer_config.json names
Qwen2Tokenizer (pad <|endoftext|>, eos <|im_end|>, no bos or unk) as the hub's Qwen3 rerankers do. Llama's model uses
the same tokenizer (the tokenizer class is Qwen2Tokenizer; only the model graph is Llama's).
Weights: seeded; every Linear N(0, 0.15^2), Embedding N(0, 0.5^2), RMSNorm gain 1 + N(0, 0.2^2), Linear bias
N(0, 0.1^2), overwriting transformers' init by module order. pad_token_id is <|endoftext|>'s id in every config.

Goldens: golden/<name>/golden.json in make_goldens.py's format (the same function, so the same cases: seed, pairs.jsonl,
the odd batches) plus decoder cases written for the last-non-pad pooling (literal <|endoftext|> inside and at the end
of a pair, specials written out); golden/tokenizers/tiny-qwen3.json (make_goldens.tokenizer_golden's cases: the
2,344 corpus strings, 300 pairs, longest_first truncations). Records models/PROVENANCE-qwen3.json.
"""
from __future__ import annotations

import datetime
import json
import logging
import pathlib
import shutil
import sys
import tempfile

import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _data  # noqa: E402
import make_goldens  # noqa: E402
import make_models_arch  # noqa: E402

import transformers  # noqa: E402
from sentence_transformers import CrossEncoder  # noqa: E402
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import (AutoTokenizer, LlamaConfig, LlamaForSequenceClassification, Qwen2Config,  # noqa: E402
                          Qwen2ForSequenceClassification, Qwen3Config, Qwen3ForSequenceClassification)

MODELS = HERE / "models"
REPO = _data.REPO
TOKENIZER_DIR = MODELS / "tiny-qwen3-tokenizer"
# transformers 5.23 models/qwen2/tokenization_qwen2.py PRETOKENIZE_REGEX (the hub's Qwen2/Qwen3 tokenizer.json holds the same).
QWEN2_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
torch.set_num_threads(2)
logging.getLogger("transformers").setLevel(logging.ERROR)
transformers.logging.set_verbosity_error()


def train_tokenizer() -> pathlib.Path:
    """The tiny Qwen2-style byte-level BPE, saved with a Qwen2Tokenizer tokenizer_config.json."""
    tok = Tokenizer(models.BPE(dropout=None, unk_token=None, continuing_subword_prefix="", end_of_word_suffix="",
                               fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    corpus = [c["text"] for c in make_goldens.read_jsonl(make_goldens.INPUTS / "tokenizer_corpus.jsonl")]
    trainer = trainers.BpeTrainer(vocab_size=1200, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus + ["yes", "no"] * 50, trainer=trainer)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS])
    if TOKENIZER_DIR.exists():
        shutil.rmtree(TOKENIZER_DIR)
    TOKENIZER_DIR.mkdir(parents=True)
    tok.save(str(TOKENIZER_DIR / "tokenizer.json"))
    decoder = {str(tok.token_to_id(s)): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                                         "single_word": False, "special": True} for s in SPECIALS}
    cfg = {"add_bos_token": False, "add_prefix_space": False, "added_tokens_decoder": decoder, "bos_token": None,
           "clean_up_tokenization_spaces": False, "eos_token": "<|im_end|>", "errors": "replace", "model_max_length": 512,
           "pad_token": "<|endoftext|>", "split_special_tokens": False, "tokenizer_class": "Qwen2Tokenizer", "unk_token": None}
    (TOKENIZER_DIR / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    return TOKENIZER_DIR


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Seeded weights by module order: Linear N(0, 0.15^2) (+ bias N(0, 0.1^2)), Embedding N(0, 0.5^2), RMSNorm 1 + N(0, 0.2^2)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, mod in model.named_modules():
            if type(mod).__name__.endswith("RMSNorm"):
                mod.weight.copy_(1.0 + 0.2 * torch.randn(mod.weight.shape, generator=g))
            elif isinstance(mod, torch.nn.Linear):
                mod.weight.copy_(0.15 * torch.randn(mod.weight.shape, generator=g))
                if mod.bias is not None:
                    mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=g))
            elif isinstance(mod, torch.nn.Embedding):
                mod.weight.copy_(0.5 * torch.randn(mod.weight.shape, generator=g))


def build(name: str, config_cls, model_cls, seed: int, **kw) -> dict:
    tok = AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))
    pad = tok.convert_tokens_to_ids("<|endoftext|>")
    cfg = config_cls(vocab_size=len(tok), max_position_embeddings=512, pad_token_id=pad, eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
                     bos_token_id=None, **kw)
    torch.manual_seed(seed)
    model = model_cls(cfg)
    randomize(model, seed)
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
        readme.unlink()
    return make_models_arch.describe(out, seed)


SMALL = dict(rms_norm_eps=1e-6, hidden_act="silu")
BUILDERS = {
    "tiny-qwen3": lambda: build("tiny-qwen3", Qwen3Config, Qwen3ForSequenceClassification, 3101, hidden_size=48, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, head_dim=16, intermediate_size=80,
                                rope_parameters={"rope_type": "default", "rope_theta": 1e6}, tie_word_embeddings=True, num_labels=1, **SMALL),
    "tiny-qwen3-gqa4": lambda: build("tiny-qwen3-gqa4", Qwen3Config, Qwen3ForSequenceClassification, 3102, hidden_size=32,
                                     num_hidden_layers=3, num_attention_heads=8, num_key_value_heads=2, head_dim=4, intermediate_size=64,
                                     rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, tie_word_embeddings=False,
                                     num_labels=1, **SMALL),
    "tiny-qwen3-mha": lambda: build("tiny-qwen3-mha", Qwen3Config, Qwen3ForSequenceClassification, 3103, hidden_size=32,
                                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4, head_dim=8, intermediate_size=48,
                                    attention_bias=True, rope_parameters={"rope_type": "default", "rope_theta": 5e5}, num_labels=2,
                                    rms_norm_eps=1e-5, hidden_act="silu"),
    "tiny-qwen2": lambda: build("tiny-qwen2", Qwen2Config, Qwen2ForSequenceClassification, 3201, hidden_size=32, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, intermediate_size=64,
                                rope_parameters={"rope_type": "default", "rope_theta": 1e6}, num_labels=1, **SMALL),
    "tiny-llama": lambda: build("tiny-llama", LlamaConfig, LlamaForSequenceClassification, 3301, hidden_size=32, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, head_dim=12, intermediate_size=64,
                                rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, num_labels=1, rms_norm_eps=1e-5,
                                hidden_act="silu"),
}
# Pairs aimed at the last-non-pad pooling and the added tokens: the pad token (<|endoftext|>) inside and at the end of a
# pair (the reference takes the rightmost token that is not the pad id), specials written out, a pair of only pads.
LITERAL_QWEN = [("where is the station<|endoftext|>", "the station is near the river<|endoftext|>"),
                ("<|im_start|>user where is it<|im_end|>", "it is <|endoftext|> near"),
                ("yes or no", "no<|endoftext|><|endoftext|>"), ("<|endoftext|>", "<|endoftext|>"),
                ("a<|im_end|>b", "don't we'll I'M  \n\n  x  "), ("数字123456 and 7", "emoji 🙂🙂 done\r\n")]


def goldens(names: list[str]) -> None:
    for name in names:
        make_goldens.EXTRA_CASES[name] = [{"id": f"qw-{i:02d}", "kind": "odd-literal-qwen", "query": q, "document": d}
                                          for i, (q, d) in enumerate(LITERAL_QWEN)]
        g = make_goldens.model_golden(name, f"golden/models/{name}", None, f"golden/{name}/golden.json", None)
        # provenance names this script (make_goldens.model_golden computed the cases).
        g["provenance"]["generator"] = "golden/make_models_qwen3.py (make_goldens.model_golden)"
        g["provenance"]["generator_sha256"] = _data.sha256_file(pathlib.Path(__file__))
        g["padding_side"] = CrossEncoder(str(REPO / f"golden/models/{name}"), device="cpu").tokenizer.padding_side
        # A pair that encodes to no token (both texts empty: Qwen2's tokenizer adds no special token) has nothing to
        # pool: in a batch transformers scores the all-padding row, a value of the batch, not of the pair. cetool
        # refuses such a pair; the golden leaves it out and says so.
        empty = [c["id"] for c in g["cases"] if not c["input_ids"]]
        g["cases"] = [c for c in g["cases"] if c["input_ids"]]
        g["excluded_cases"] = {"ids": empty, "reason": "no token: the reference pools a padding row whose value depends on the batch"}
        out = REPO / f"golden/{name}/golden.json"
        out.write_text(_data.dumps(g) + "\n", encoding="utf-8")
    make_goldens.tokenizer_golden("tiny-qwen3", "golden/models/tiny-qwen3")


def main() -> None:
    what = sys.argv[1:] or ["models", "goldens"]
    if "models" in what:
        train_tokenizer()
        prov = {"generator": "golden/make_models_qwen3.py", "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
                "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "versions": make_models_arch.versions(), "models": {}}
        for name, b in BUILDERS.items():
            prov["models"][name] = b()
            print(json.dumps({name: prov["models"][name]}, ensure_ascii=False), flush=True)
        shutil.rmtree(TOKENIZER_DIR)
        (MODELS / "PROVENANCE-qwen3.json").write_text(json.dumps(prov, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if "goldens" in what:
        goldens(list(BUILDERS))


if __name__ == "__main__":
    main()
