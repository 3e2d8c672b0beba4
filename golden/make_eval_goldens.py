"""Records sentence-transformers' cross-encoder evaluators on the eval sets (reference venv; formats/golden.md).

  ref/bin/python golden/make_eval_goldens.py     # needs .models/minilm-l6-ce (scripts/fetch_models.sh)
                                                 # and golden/eval/data (python3 golden/make_eval_data.py)

Writes golden/eval/<model>.json: for each evaluation, the scores CrossEncoder.predict handed the evaluator
(captured by wrapping predict), the figures the evaluator returned, and the CSV file its write_csv produced.
Every old evaluator name (CEBinaryAccuracyEvaluator, CEBinaryClassificationEvaluator, CECorrelationEvaluator,
CESoftmaxAccuracyEvaluator, CERerankingEvaluator) is run beside its sentence-transformers 6.2 class and
must give the same figures and CSV bytes: in 6.2 the old names are deprecated subclasses of
CrossEncoderClassificationEvaluator / CrossEncoderCorrelationEvaluator / CrossEncoderRerankingEvaluator.
Everything here comes from PyTorch + sentence-transformers: never from cetool.
"""
from __future__ import annotations

import datetime
import json
import logging
import math
import pathlib
import platform
import sys
import tempfile
import warnings

import numpy as np
import scipy
import sklearn
import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _data  # noqa: E402

import sentence_transformers  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import CrossEncoder  # noqa: E402
from sentence_transformers.cross_encoder import evaluation as ev  # noqa: E402

REPO = _data.REPO
DATA = HERE / "eval" / "data"
OUT = HERE / "eval"

torch.set_num_threads(2)
transformers.logging.set_verbosity_error()
logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=FutureWarning)

MODELS = [
    # name, model folder (repo-relative)
    ("tiny-bert-l1", "golden/models/tiny-bert-l1"),
    ("tiny-bert-l3", "golden/models/tiny-bert-l3"),
    ("minilm-l6-ce", ".models/minilm-l6-ce"),
]

# id, task word (cetool eval --task), data file, evaluator classes (old name first), keyword arguments
ONE_LABEL = [
    ("correlation", "correlation", "pairs.jsonl", ["CECorrelationEvaluator", "CrossEncoderCorrelationEvaluator"],
     {"name": "lee-pairs"}),
    ("binary-accuracy", "binary-accuracy", "binary.jsonl",
     ["CEBinaryAccuracyEvaluator", "CEBinaryClassificationEvaluator", "CrossEncoderClassificationEvaluator"],
     {"name": "lee-binary"}),
    ("reranking", "reranking", "rerank.jsonl", ["CERerankingEvaluator", "CrossEncoderRerankingEvaluator"], {}),
    ("reranking-at5", "reranking", "rerank.jsonl", ["CERerankingEvaluator", "CrossEncoderRerankingEvaluator"],
     {"name": "lee-rerank", "at_k": 5}),
    ("reranking-documents", "reranking", "rerank-docs.jsonl", ["CERerankingEvaluator", "CrossEncoderRerankingEvaluator"],
     {"name": "lee-rerank-docs"}),
    ("reranking-documents-given", "reranking", "rerank-docs.jsonl",
     ["CERerankingEvaluator", "CrossEncoderRerankingEvaluator"],
     {"name": "lee-rerank-docs", "always_rerank_positives": False}),
    # labels 0/1/2 for a one-label model: sklearn's average_precision_score refuses multiclass y_true.
    ("softmax-on-one-label", "softmax-accuracy", "softmax.jsonl",
     ["CESoftmaxAccuracyEvaluator", "CrossEncoderClassificationEvaluator"], {"name": "lee-softmax"}),
]
THREE_LABELS = [
    ("softmax-accuracy", "softmax-accuracy", "softmax.jsonl",
     ["CESoftmaxAccuracyEvaluator", "CrossEncoderClassificationEvaluator"], {"name": "lee-softmax"}),
    # two gold classes against three predicted ones: sklearn takes the union of labels.
    ("binary-on-three-labels", "binary-classification", "binary.jsonl",
     ["CEBinaryClassificationEvaluator", "CrossEncoderClassificationEvaluator"], {"name": "lee-binary"}),
]


def read_jsonl(path: pathlib.Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text(encoding="utf-8").split("\n") if l]


def evaluator(cls_name: str, data: list[dict], kwargs: dict):
    cls = getattr(ev, cls_name)
    if "Reranking" in cls_name:
        samples = [{k: v for k, v in r.items() if k != "source"} for r in data]
        return cls(samples, **kwargs)
    pairs = [r["texts"] for r in data]
    labels = [r["label"] for r in data]
    return cls(pairs, labels, **kwargs)


def run(ce: CrossEncoder, cls_name: str, data: list[dict], kwargs: dict) -> dict:
    captured = []
    predict = ce.predict

    def recording_predict(*a, **kw):
        out = predict(*a, **kw)
        captured.append(np.array(out, copy=True))
        return out

    ce.predict = recording_predict
    try:
        e = evaluator(cls_name, data, kwargs)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                metrics = e(ce, output_path=tmp)
            except Exception as x:  # the reference refuses the input: record what it says
                return {"error": f"{type(x).__name__}: {x}"}
            files = sorted(pathlib.Path(tmp).iterdir())
            assert len(files) == 1, files
            csv_text = files[0].read_bytes().decode("utf-8")
            csv_name = files[0].name
    finally:
        del ce.predict
    assert len(captured) == 1, len(captured)
    scores = captured[0]
    for k, v in metrics.items():
        if not math.isfinite(v):
            raise SystemExit(f"{cls_name}: {k} = {v}: pick data that gives finite figures")
    return {"scores": scores, "metrics": metrics, "primary_metric": e.primary_metric, "csv_file": csv_name,
            "csv": csv_text, "csv_headers": list(e.csv_headers), "batch_size": e.batch_size}


def f32list(a: np.ndarray) -> list:
    assert a.dtype == np.float32, a.dtype
    return [float(v) for v in a] if a.ndim == 1 else [[float(v) for v in row] for row in a]


def ties(scores: np.ndarray) -> int:
    """Scores equal to another score (float32 equality), over the whole list."""
    flat = scores.reshape(len(scores), -1)[:, 0] if scores.ndim > 1 else scores
    _, counts = np.unique(flat, return_counts=True)
    return int(counts[counts > 1].sum())


def model_goldens(name: str, rel_dir: str) -> None:
    model_dir = REPO / rel_dir
    ce = CrossEncoder(str(model_dir), device="cpu")
    plan = ONE_LABEL if ce.num_labels == 1 else THREE_LABELS
    evaluations = []
    for eid, task, data_name, classes, kwargs in plan:
        data = read_jsonl(DATA / data_name)
        results = [run(ce, c, data, kwargs) for c in classes]
        first = results[0]
        for c, r in zip(classes[1:], results[1:]):
            if "error" in first:
                assert r.get("error") == first["error"], (c, r, first)
                continue
            assert r["metrics"] == first["metrics"], (c, r["metrics"], first["metrics"])
            assert r["csv"] == first["csv"] and r["csv_file"] == first["csv_file"], c
            assert np.array_equal(r["scores"], first["scores"]), c
        entry = {"id": eid, "task": task, "evaluators": classes, "data": f"golden/eval/data/{data_name}",
                 "data_sha256": _data.sha256_file(DATA / data_name), "arguments": kwargs}
        if "error" in first:
            entry["error"] = first["error"]
        else:
            entry.update({
                "batch_size": first["batch_size"],
                "metrics": first["metrics"],
                "primary_metric": first["primary_metric"],
                "csv_file": first["csv_file"],
                "csv_headers": first["csv_headers"],
                "csv": first["csv"],
                "tied_scores": ties(first["scores"]),
                "scores": f32list(first["scores"]),
            })
        evaluations.append(entry)
        print(json.dumps({"model": name, "id": eid, **({"error": entry["error"]} if "error" in entry else entry["metrics"])}),
              flush=True)

    weights = model_dir / "model.safetensors"
    g = {
        "provenance": {
            **provenance_record(),
            "device": "cpu",
            "torch_threads": torch.get_num_threads(),
            "model_weights": str(weights.relative_to(REPO)),
            "model_weights_sha256": _data.sha256_file(weights),
            "data_sources": "golden/eval/SOURCES.json",
        },
        "model": name,
        "model_dir": rel_dir,
        "num_labels": ce.num_labels,
        "max_length": ce.max_seq_length,
        "evaluations": evaluations,
    }
    out = OUT / f"{name}.json"
    out.write_text(_data.dumps(g, allow_nan=False) + "\n", encoding="utf-8")
    print(json.dumps({"file": str(out.relative_to(REPO)), "bytes": out.stat().st_size}), flush=True)


def figure(x) -> dict:
    """A value as the evaluator holds it: its float value and the kind that decides how csv.writer prints it."""
    if isinstance(x, np.float32):
        kind = "float32"
    elif isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        kind = "int"
    else:
        assert isinstance(x, (float, np.float64)), type(x)
        kind = "float"
    return {"value": float(x), "kind": kind, "str": str(x)}


def metric_cases() -> None:
    """The metric functions the evaluators call, on small seeded inputs with many tied scores."""
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import average_precision_score, f1_score, ndcg_score
    from sentence_transformers.sentence_transformer.evaluation import BinaryClassificationEvaluator as BCE

    rng = np.random.default_rng(20240917)
    binary, ranking, multiclass, correlation = [], [], [], []
    for n in [1, 2, 3, 5, 8, 13, 40, 200]:
        for levels in [3, 7, 1000]:
            for positive_rate in [0.0, 0.3, 0.7, 1.0]:
                scores = (rng.integers(0, levels, n) / levels * 4 - 1).astype(np.float32)
                if levels == 1000:
                    scores = rng.normal(size=n).astype(np.float32)
                labels = (rng.random(n) < positive_rate).astype(int)
                acc, acc_t = BCE.find_best_acc_and_threshold(scores, labels, True)
                f1, p, r, f1_t = BCE.find_best_f1_and_threshold(scores, labels, True)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ap = average_precision_score(labels, scores)
                binary.append({"scores": [float(v) for v in scores], "labels": labels.tolist(),
                               "accuracy": figure(acc), "accuracy_threshold": figure(acc_t), "f1": figure(f1),
                               "precision": figure(p), "recall": figure(r), "f1_threshold": figure(f1_t),
                               "average_precision": figure(ap)})
    reranker = ev.CrossEncoderRerankingEvaluator(samples=[], at_k=10)
    for n in [2, 3, 5, 10, 11, 30]:
        for levels in [2, 4, 1000]:
            for graded in [False, True]:
                scores = (rng.integers(0, levels, n) / levels).astype(np.float32)
                if levels == 1000:
                    scores = rng.normal(size=n).astype(np.float32)
                rel = rng.integers(0, 4 if graded else 2, n)
                if rel.sum() == 0:
                    rel[rng.integers(0, n)] = 1
                case = {"scores": [float(v) for v in scores], "relevance": rel.tolist(),
                        "ndcg": {str(k): ndcg_score([rel], [scores], k=k) for k in (1, 3, 10)}}
                if not graded:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        case["average_precision"] = average_precision_score(rel, scores)
                    # MRR reads np.argsort's order, which numpy leaves undefined among equal scores:
                    # recorded only when no tie mixes relevant and irrelevant documents.
                    groups = {}
                    for s, y in zip(scores.tolist(), rel.tolist()):
                        groups.setdefault(s, set()).add(y)
                    if all(len(g) == 1 for g in groups.values()):
                        mrr, _, _ = reranker.compute_metrics(rel.tolist(), scores)
                        case["mrr@10"] = float(mrr)
                ranking.append(case)
    for n in [1, 4, 30, 150]:
        for classes in [2, 3, 5]:
            gold = rng.integers(0, classes, n)
            pred = rng.integers(0, classes + 1, n)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                multiclass.append({"labels": gold.tolist(), "predicted": pred.tolist(),
                                   **{f"f1_{a}": f1_score(gold, pred, average=a) for a in ("macro", "micro", "weighted")}})
    for n in [2, 3, 10, 100]:
        for levels in [1, 3, 1000]:
            gold = rng.integers(0, 5, n) / 5.0
            pred = (rng.integers(0, levels, n) / max(levels, 1)).astype(np.float32)
            if levels == 1000:
                pred = (gold + rng.normal(scale=0.5, size=n)).astype(np.float32)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pe, sp = pearsonr(gold.tolist(), pred)[0], spearmanr(gold.tolist(), pred)[0]
            correlation.append({"gold": gold.tolist(), "scores": [float(v) for v in pred],
                                "pearson": None if np.isnan(pe) else float(pe), "spearman": None if np.isnan(sp) else float(sp)})
    out = {"provenance": provenance_record(), "binary": binary, "ranking": ranking, "multiclass": multiclass,
           "correlation": correlation}
    (OUT / "metric_cases.json").write_text(_data.dumps(out, allow_nan=False) + "\n", encoding="utf-8")
    print(json.dumps({"file": "golden/eval/metric_cases.json", "binary": len(binary), "ranking": len(ranking),
                      "multiclass": len(multiclass), "correlation": len(correlation)}), flush=True)


def number_text() -> None:
    """str() of float64 and numpy float32 values, as csv.writer prints evaluator figures."""
    rng = np.random.default_rng(7)
    doubles = [0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 1 / 3, 2 / 3, 1e-4, 9.999999999999999e-05, 1e-5, 1.5e-7, 123.0, 1e15,
               9.999e15, 1e16, 1.2345e16, 1e22, 1e-300, 5e-324, 1.7976931348623157e308, 0.30000000000000004]
    doubles += [float(x) for x in rng.normal(size=40)] + [float(x) for x in 10.0 ** rng.uniform(-12, 20, 40)]
    floats = [0.0, -0.0, 1.0, 0.5, 0.1, 1e-4, 1.0001e-4, 9.99e-5, 1e-5, 99999.99, 999999.0, 1e6, 1234567.0, 16777216.0,
              1e8, 3e20, 3.4028235e38, 1e-45, 1.17549435e-38, 0.7310586]
    floats += [float(np.float32(x)) for x in rng.normal(size=40)] + [float(np.float32(x)) for x in 10.0 ** rng.uniform(-8, 9, 40)]
    out = {"provenance": provenance_record(),
           "float64": [{"value": v, "str": str(np.float64(v)), "repr": repr(v)} for v in doubles],
           "float32": [{"value": float(np.float32(v)), "str": str(np.float32(v))} for v in floats]}
    for d in out["float64"]:
        assert d["str"] == d["repr"], d
    (OUT / "number_text.json").write_text(json.dumps(out, indent=0) + "\n", encoding="utf-8")
    print(json.dumps({"file": "golden/eval/number_text.json", "float64": len(doubles), "float32": len(floats)}), flush=True)


def provenance_record() -> dict:
    return {
        "generator": "golden/make_eval_goldens.py",
        "generator_sha256": _data.sha256_file(pathlib.Path(__file__)),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit_learn": sklearn.__version__,
        },
    }


def main(argv: list[str]) -> None:
    names = argv or [m[0] for m in MODELS] + ["metrics", "numbers"]
    if "metrics" in names:
        metric_cases()
    if "numbers" in names:
        number_text()
    for name, rel in MODELS:
        if name in names:
            model_goldens(name, rel)


if __name__ == "__main__":
    main(sys.argv[1:])
