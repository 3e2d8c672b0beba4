"""Builds the tiny random-init decoder cross-encoders and their goldens (runs in the reference venv, ≈ 1 min).

  ref/bin/python golden/make_models_qwen3.py            # models, then goldens; `models`, `goldens`, `split`, `configs`, `causal-model` or `causal` for a part

Models (golden/models/<name>/, as sentence-transformers 6.2's CrossEncoder.save writes them, README dropped):
- tiny-qwen3/        Qwen3ForSequenceClassification, 1 label, hidden 48, 2 layers, 4 heads over 2 kv heads (GQA 2),
                     head_dim 16 != 48 / 4, q/k RMSNorm, rope_theta 1e6, tie_word_embeddings true
- tiny-qwen3-gqa4/   Qwen3ForSequenceClassification, 1 label, hidden 32, 3 layers, 8 heads over 2 kv heads (GQA 4),
                     head_dim 4 = 32 / 8, rope_theta 10,000, untied
- tiny-qwen3-mha/    Qwen3ForSequenceClassification, 2 labels (LABEL_0, LABEL_1), 4 heads over 4 kv heads (GQA 1),
                     attention_bias true (q/k/v/o biases), rope_parameters {rope_type default, rope_theta 5e5}
- tiny-qwen2/        Qwen2ForSequenceClassification, 1 label, q/k/v biases (Qwen2 always has them), no q/k norm, GQA 2
- tiny-llama/        LlamaForSequenceClassification, 1 label, GQA 2, head_dim 12 != 32 / 4, no biases
- tiny-qwen3-lm/     Qwen3ForCausalLM (tiny-qwen3's dimensions, tied embeddings), a plain transformers folder: the
                     causal-LM reranker form `cetool convert --fold-lm-head yes,no` folds; golden/tiny-qwen3-lm/golden.json
                     holds sentence-transformers' LogitScore scores of it

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
2,344 corpus strings, 300 pairs, longest_first truncations); golden/qwen2-split.json (Qwen2's Split pre-tokenizer on
edge-case texts); golden/tiny-qwen3/config-resolution.json (what the config classes resolve for 23 config.json
variants). Records models/PROVENANCE-qwen3.json.
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
                          Qwen2ForSequenceClassification, Qwen3Config, Qwen3ForCausalLM, Qwen3ForSequenceClassification)

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


# Strings aimed at each alternative of Qwen2's pattern and at onig's rules (case-folded contractions, the optional
# prefix of a letter run, CR/LF runs, the (?!\S) back-off, Unicode letters, marks, numbers and spaces).
SPLIT_TEXTS = ["a'ſx a'Kx a'ﬆx a'Sx a'llx a'LLx a'rEx a'ǅx a'İx a'ⓢx a'tx a'ſtx a'VE a'M a'D'", "''s 'S 'ſ x'sx", "a'", "'",
               "a  \n\n  b \r\n c   ", "  a!!\n\nb ..\r\r\nx", "\u00a0a \u3000b\u2028c\u0085d", '"hello" 123 ab12 ½⅓²x',
               "ǅx ʰa", "\n", " !", "\t\tx", " ", "  ", "x  ", "x \n", "\r\n\r\n", "a\u0301b x\u200dy", "数字123 and 7", "emoji 🙂🙂 done\r\n",
               "!!!abc ???\n\n", " ?x", "\n!x", "a\tb\u000bc\u000cd", "   lead", "trail   ", "mixed\u3000\u3000space", "Ǆ ǆ ǅ ᾈ",
               "x\u0300\u0301\u0302", "١٢٣ ٤", "ⅫⅦ ↂ", "\U0001d400\U0001d7ce", "tab\t\n\tend"]


def split_golden() -> None:
    """golden/qwen2-split.json: what tokenizers' Split(Regex(QWEN2_REGEX), isolated) makes of each text (pre_tokenize_str),
    the texts above plus every text of golden/tokenizer_edge_cases.json's normalizer cases."""
    p = pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated", invert=False)
    edge = json.loads((HERE / "tokenizer_edge_cases.json").read_text(encoding="utf-8"))
    texts = SPLIT_TEXTS + [c["text"] for n in edge["normalizers"] for c in n["cases"]]
    cases = [{"text": t, "words": [w for w, _ in p.pre_tokenize_str(t)]} for t in texts]
    out = {"generator": "golden/make_models_qwen3.py split", "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
           "versions": make_models_arch.versions(), "pattern": QWEN2_REGEX,
           "loaded_with": "tokenizers.pre_tokenizers.Split(Regex(pattern), behavior='isolated', invert=False).pre_tokenize_str(text)",
           "cases": cases}
    (HERE / "qwen2-split.json").write_text(_data.dumps(out) + "\n", encoding="utf-8")
    print(json.dumps({"file": "golden/qwen2-split.json", "cases": len(cases)}), flush=True)


# config.json variants: what transformers 5.23 resolves (head size, kv heads, rotary base and type, layer kinds, biases).
BASE = {"vocab_size": 64, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "intermediate_size": 48, "pad_token_id": 0}
DROP = object()  # a case value that removes the key from BASE
CONFIG_CASES = [
    ("qwen3-defaults", "Qwen3ForSequenceClassification", {}),
    ("qwen3-kv-absent", "Qwen3ForSequenceClassification", {"num_key_value_heads": DROP}),
    ("qwen2-kv-absent", "Qwen2ForSequenceClassification", {"num_key_value_heads": DROP}),
    ("llama-kv-absent", "LlamaForSequenceClassification", {"num_key_value_heads": DROP}),
    ("qwen3-head-dim", "Qwen3ForSequenceClassification", {"head_dim": 12, "num_key_value_heads": 2}),
    ("qwen3-kv-null", "Qwen3ForSequenceClassification", {"num_key_value_heads": None}),
    ("qwen3-rope-parameters", "Qwen3ForSequenceClassification", {"rope_parameters": {"rope_type": "default", "rope_theta": 1e6}}),
    ("qwen3-rope-theta-top", "Qwen3ForSequenceClassification", {"rope_theta": 5e5}),
    ("qwen3-rope-scaling-wins", "Qwen3ForSequenceClassification", {"rope_scaling": {"type": "default", "rope_theta": 7.0},
                                                                   "rope_parameters": {"rope_type": "default", "rope_theta": 9.0}}),
    ("qwen3-rope-linear", "Qwen3ForSequenceClassification", {"rope_scaling": {"rope_type": "linear", "factor": 2.0}}),
    ("qwen3-rope-yarn", "Qwen3ForSequenceClassification", {"rope_parameters": {"rope_type": "yarn", "factor": 4.0, "rope_theta": 1e6}}),
    ("qwen3-sliding", "Qwen3ForSequenceClassification", {"use_sliding_window": True, "sliding_window": 8, "max_window_layers": 1}),
    ("qwen3-sliding-off", "Qwen3ForSequenceClassification", {"use_sliding_window": False, "sliding_window": 8, "max_window_layers": 1}),
    ("qwen3-sliding-late", "Qwen3ForSequenceClassification", {"use_sliding_window": True, "sliding_window": 8, "max_window_layers": 2}),
    ("qwen3-layer-types", "Qwen3ForSequenceClassification", {"layer_types": ["full_attention", "sliding_attention"], "sliding_window": 8}),
    ("qwen3-gelu", "Qwen3ForSequenceClassification", {"hidden_act": "gelu"}),
    ("qwen3-swish", "Qwen3ForSequenceClassification", {"hidden_act": "swish"}),
    ("qwen3-attention-bias", "Qwen3ForSequenceClassification", {"attention_bias": True}),
    ("qwen2-defaults", "Qwen2ForSequenceClassification", {}),
    ("qwen2-head-dim", "Qwen2ForSequenceClassification", {"head_dim": 16}),
    ("llama-defaults", "LlamaForSequenceClassification", {}),
    ("llama-biases", "LlamaForSequenceClassification", {"attention_bias": True, "mlp_bias": True, "num_key_value_heads": 1}),
    ("llama-rope-llama3", "LlamaForSequenceClassification", {"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                                              "high_freq_factor": 4.0, "original_max_position_embeddings": 64}}),
]


def config_resolution() -> None:
    """golden/tiny-qwen3/config-resolution.json: each variant of BASE as transformers resolves it, with the model's tensors."""
    out = []
    for cid, arch, extra in CONFIG_CASES:
        cfg = {k: v for k, v in dict(BASE, architectures=[arch], **extra).items() if v is not DROP}
        config_cls, model_cls = {"Qwen3ForSequenceClassification": (Qwen3Config, Qwen3ForSequenceClassification),
                                 "Qwen2ForSequenceClassification": (Qwen2Config, Qwen2ForSequenceClassification),
                                 "LlamaForSequenceClassification": (LlamaConfig, LlamaForSequenceClassification)}[arch]
        c = {"id": cid, "config": cfg}
        try:
            conf = config_cls(**{k: v for k, v in cfg.items() if k != "architectures"})
            model = model_cls(conf)
            attn = model.model.layers[0].self_attn
            c["resolved"] = {"head_dim": attn.head_dim, "num_key_value_heads": conf.num_key_value_heads,
                             "rope_type": conf.rope_parameters.get("rope_type"), "rope_theta": conf.rope_parameters.get("rope_theta"),
                             "layer_types": list(conf.layer_types) if getattr(conf, "layer_types", None) else None,
                             "q_bias": attn.q_proj.bias is not None, "o_bias": attn.o_proj.bias is not None,
                             "mlp_bias": model.model.layers[0].mlp.gate_proj.bias is not None,
                             "q_norm": hasattr(attn, "q_norm"), "hidden_act": conf.hidden_act}
        except Exception as e:  # noqa: BLE001  the reference refuses the config
            c["error"] = f"{type(e).__name__}: {e}"[:300]
        out.append(c)
    doc = {"generator": "golden/make_models_qwen3.py configs", "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
           "versions": make_models_arch.versions(), "cases": out}
    path = HERE / "tiny-qwen3" / "config-resolution.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({"file": "golden/tiny-qwen3/config-resolution.json", "cases": len(out)}), flush=True)


def build_causal(seed: int = 3401) -> dict:
    """models/tiny-qwen3-lm/: Qwen3ForCausalLM (tiny-qwen3's dimensions, tied embeddings), as a plain transformers folder
    (model.save_pretrained + tiny-qwen3's tokenizer), the form Qwen3-Reranker ships in; CrossEncoder scores it with LogitScore."""
    tok = AutoTokenizer.from_pretrained(str(MODELS / "tiny-qwen3"))
    cfg = Qwen3Config(vocab_size=len(tok), max_position_embeddings=512, eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
                      bos_token_id=None, hidden_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                      intermediate_size=80, rope_parameters={"rope_type": "default", "rope_theta": 1e6}, tie_word_embeddings=True, **SMALL)
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(cfg).eval()
    randomize(model, seed)
    out = MODELS / "tiny-qwen3-lm"
    if out.exists():
        shutil.rmtree(out)
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return {"seed": seed, "architectures": cfg.architectures, "files": sorted(p.name for p in out.iterdir()),
            "model_safetensors_sha256": _data.sha256_file(out / "model.safetensors")}


def causal_golden() -> None:
    """golden/tiny-qwen3-lm/golden.json: CrossEncoder's LogitScore scores (logit[yes] - logit[no] at the last token, left
    padding) of the seed pairs, 90 pairs.jsonl pairs and LITERAL_QWEN, less the pairs whose last token is the pad id (the
    folded classifier skips it, LogitScore does not) and the empty one."""
    import numpy as np
    ce = CrossEncoder(str(MODELS / "tiny-qwen3-lm"), device="cpu")
    pad = ce.tokenizer.pad_token_id
    seed = json.loads((make_goldens.INPUTS / "seed.json").read_text(encoding="utf-8"))
    pairs = make_goldens.read_jsonl(make_goldens.INPUTS / "pairs.jsonl")
    items = [{"id": f"seed-{i:02d}", "kind": "seed", "query": seed["query"], "document": d} for i, d in enumerate(seed["documents"])]
    items += [{"id": p["id"], "kind": p["kind"], "query": p["query"], "document": p["document"]} for p in pairs[:90]]
    items += [{"id": f"qw-{i:02d}", "kind": "odd-literal-qwen", "query": q, "document": d} for i, (q, d) in enumerate(LITERAL_QWEN)]
    cases, excluded = [], []
    for it in items:
        ids = ce.tokenizer(it["query"], it["document"])["input_ids"]
        if not ids or ids[-1] == pad:
            excluded.append(it["id"])
            continue
        it["input_ids"], it["attention_mask"] = ids, [1] * len(ids)
        cases.append(it)
    inputs = [[c["query"], c["document"]] for c in cases]
    logits = np.asarray(ce.predict(inputs, batch_size=32, activation_fn=torch.nn.Identity()), dtype=np.float32).reshape(-1)
    for c, v in zip(cases, logits):
        c["logits"] = [float(v)]
        c["scores"] = [float(1 / (1 + np.exp(-np.float64(v))))]
    g = {"provenance": {"generator": "golden/make_models_qwen3.py causal", "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
                        "versions": make_models_arch.versions(), "model_weights": "golden/models/tiny-qwen3-lm/model.safetensors",
                        "model_weights_sha256": _data.sha256_file(MODELS / "tiny-qwen3-lm" / "model.safetensors")},
         "model": "tiny-qwen3-lm", "model_dir": "golden/models/tiny-qwen3-lm", "max_length": ce.max_seq_length, "num_labels": 1,
         "activation": "sigmoid", "activation_fn": "sigmoid of LogitScore's logit[yes] - logit[no] (the folded classifier's activation)",
         "scoring": f"{type(ce[-1]).__name__}(true_token_id={ce[-1].true_token_id}, false_token_id={ce[-1].false_token_id})",
         "padding_side": ce.tokenizer.padding_side, "batch_size": 32, "cases": cases, "rankings": [], "batches": [],
         "excluded_cases": {"ids": excluded, "reason": "no token, or the pad id last: LogitScore scores that token, a folded classifier the one before"}}
    out = REPO / "golden/tiny-qwen3-lm/golden.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_data.dumps(g) + "\n", encoding="utf-8")
    print(json.dumps({"file": str(out.relative_to(REPO)), "cases": len(cases), "excluded": excluded, "scoring": g["scoring"]}), flush=True)


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
        prov["models"]["tiny-qwen3-lm"] = build_causal()
        (MODELS / "PROVENANCE-qwen3.json").write_text(json.dumps(prov, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if "goldens" in what:
        goldens(list(BUILDERS))
    if "split" in what or "goldens" in what:
        split_golden()
    if "configs" in what or "goldens" in what:
        config_resolution()
    if "causal-model" in what:
        prov_path = MODELS / "PROVENANCE-qwen3.json"
        prov = json.loads(prov_path.read_text())
        prov["models"]["tiny-qwen3-lm"] = build_causal()
        prov_path.write_text(json.dumps(prov, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if "causal" in what or "causal-model" in what or "goldens" in what:
        causal_golden()


if __name__ == "__main__":
    main()
