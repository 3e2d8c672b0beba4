#!/usr/bin/env python3
"""Side-by-side cross-encoder benchmark: PyTorch (sentence-transformers) vs ONNX Runtime vs cetool.

    ref/bin/python bench/run.py --model .models/minilm-l6-ce --threads 2 --batch-sizes 32 --repeat 3 \
        --cetool .build/release/cetool --cetool-model fp32=.models/minilm-l6-ce --cetool-model int8=out/model-int8

One run, the same pairs for every system:
  main  the first 512 pairs of golden/inputs/pairs.jsonl (cycling when the file has fewer);
  long  64 pairs near max_length tokens: the longest distinct documents of that file (cycling), each
        after a short query taken from the file's sentence-queries (cycling).
Python systems each run in their own child process (`run.py --one SYSTEM --job FILE`), so that peak RSS
and cold start belong to one system; cetool runs as `cetool bench` (one process per set x batch size).
See bench/README.md for what is measured and how.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY_SYSTEMS = {
    # name: (dtype, description)
    "pytorch-fp32": ("fp32", "sentence-transformers CrossEncoder.predict, torch CPU"),
    "ort-fp32": ("fp32", "ONNX Runtime CPU EP, model.onnx"),
    "ort-int8": ("int8", "ONNX Runtime CPU EP, model-int8.onnx (quantize_dynamic, QInt8 weights)"),
    "ort-fused-fp32": ("fp32", "ONNX Runtime CPU EP, model-fused.onnx (eager export + ORT transformer fusions)"),
    "ort-fused-int8": ("int8", "ONNX Runtime CPU EP, model-fused-int8.onnx"),
    "ort-cetool-fp32": ("fp32", "ONNX Runtime CPU EP, onnx/model.onnx of `cetool export-onnx` (--cetool-onnx fp32=DIR)"),
    "ort-cetool-fp16": ("fp16", "ONNX Runtime CPU EP, onnx/model.onnx of `cetool export-onnx --dtype fp16` (--cetool-onnx fp16=DIR)"),
    "ort-cetool-int8": ("int8", "ONNX Runtime CPU EP, onnx/model.onnx of `cetool export-onnx` of an int8 artifact "
                                "(MatMulNBits bits 8 over the artifact's codes; --cetool-onnx int8=DIR)"),
}
DEFAULT_SYSTEMS = ["pytorch-fp32", "ort-fp32", "ort-int8"]
ONNX_FILES = {"ort-fp32": "model.onnx", "ort-int8": "model-int8.onnx", "ort-fused-fp32": "model-fused.onnx",
              "ort-fused-int8": "model-fused-int8.onnx",
              # cetool's exports: replaced by --cetool-onnx LABEL=DIR (DIR/onnx/model.onnx)
              "ort-cetool-fp32": "cetool-fp32/onnx/model.onnx", "ort-cetool-fp16": "cetool-fp16/onnx/model.onnx",
              "ort-cetool-int8": "cetool-int8/onnx/model.onnx"}
REFERENCE_SYSTEM = "pytorch-fp32"


# ----------------------------------------------------------------------------------------------
# helpers shared by parent and child


def vm_status(field: str) -> int | None:
    """Bytes of a Vm* line of /proc/self/status (VmHWM = peak RSS, VmRSS = current)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Linux >= 4.0: writing 5 to clear_refs resets VmHWM to the current RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def read_pairs(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.strip():
            r = json.loads(line)
            out.append((r["query"], r["document"]))
    return out


def write_pairs(path: Path, pairs: list[tuple[str, str]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for q, d in pairs:
            f.write(json.dumps({"query": q, "document": d}, ensure_ascii=False) + "\n")


def percentile(xs: list[float], p: float) -> float:
    import numpy as np
    return float(np.percentile(np.asarray(xs, dtype=np.float64), p))


# ----------------------------------------------------------------------------------------------
# child: one Python system


def child_main(system: str, job_path: Path, probe: bool) -> int:
    job = json.loads(job_path.read_text())
    threads, max_length = job["threads"], job["max_length"]
    import numpy as np

    if system == "pytorch-fp32":
        import torch
        from sentence_transformers import CrossEncoder

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        # max_length only when forced on the command line: otherwise CrossEncoder picks its own (checked below).
        model = CrossEncoder(job["model"], device="cpu", max_length=job["max_length_override"])
        identity = torch.nn.Identity()
        info = {"max_seq_length": int(model.max_seq_length), "torch_threads": torch.get_num_threads(),
                "torch_version": torch.__version__, "attn_implementation": model[0].model.config._attn_implementation}

        def predict(pairs, batch_size):
            s = model.predict(pairs, batch_size=batch_size, activation_fn=identity, show_progress_bar=False,
                              convert_to_numpy=True)
            return np.asarray(s, dtype=np.float32).reshape(len(pairs), -1)

    elif system in ONNX_FILES:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        onnx_path = job["onnx"][system]
        sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        input_names = {i.name for i in sess.get_inputs()}
        if job["ort_tokenizer"] == "transformers":
            # The HF tokenizer object exactly as CrossEncoder builds it (imports transformers -> torch).
            from transformers import AutoTokenizer

            hf_tok = AutoTokenizer.from_pretrained(job["model"])

            def encode(batch):
                e = hf_tok([q for q, _ in batch], [d for _, d in batch], padding=True, truncation=True,
                           max_length=max_length, return_tensors="np")
                return {k: e[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")
                        if k in input_names}
        else:
            # The same tokenizer.json through the `tokenizers` library the HF fast tokenizer wraps, with the
            # call's settings (padding=True -> longest in batch, truncation longest_first at max_length);
            # the settings stored in tokenizer.json itself are replaced, as transformers does.
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(Path(job["model"]) / "tokenizer.json"))
            tok.no_padding()
            tok.enable_truncation(max_length, strategy="longest_first")
            tok.enable_padding(pad_id=job["pad_id"], pad_token=job["pad_token"], pad_type_id=0)

            def encode(batch):
                enc = tok.encode_batch(batch)
                feeds = {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                         "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                         "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64)}
                return {k: v for k, v in feeds.items() if k in input_names}

        num_labels = sess.get_outputs()[0].shape[-1]
        num_labels = num_labels if isinstance(num_labels, int) else 1
        info = {"ort_providers": sess.get_providers(), "ort_tokenizer": job["ort_tokenizer"],
                "ort_version": ort.__version__, "onnx": onnx_path}

        def predict(pairs, batch_size):
            # CrossEncoder.predict's batching: np.argsort on minus the summed character lengths.
            order = np.argsort([-(len(q) + len(d)) for q, d in pairs])
            out = np.empty((len(pairs), num_labels), dtype=np.float32)
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                out[idx] = sess.run(["logits"], encode([pairs[i] for i in idx]))[0]
            return out
    else:
        raise SystemExit(f"unknown system {system}")

    sets = {name: read_pairs(Path(p)) for name, p in job["sets"].items()}
    first = sets[job["first_set"]][0]
    predict([first], 1)
    print("FIRST_SCORE", flush=True)
    if probe:
        return 0

    rows = []
    peak_resettable = True
    for set_name, pairs in sets.items():
        for bs in job["batch_sizes"]:
            peak_resettable = reset_peak_rss() and peak_resettable
            order = np.argsort([-(len(q) + len(d)) for q, d in pairs])
            predict([pairs[i] for i in order[:bs]], bs)  # warm-up: one batch, the first one timed runs see
            times, cpu, latencies, logits = [], [], [], None
            for k in range(job["repeat"]):
                # at least min(2, repeat) repeats; more only while the row's timed total stays within the budget
                budget = job["max_row_seconds"]
                if k >= 2 and budget and sum(times) + sum(times) / len(times) > budget:
                    break
                c0 = os.times()
                if bs == 1:
                    out = []
                    t0 = time.perf_counter()
                    for p in pairs:
                        s = time.perf_counter()
                        out.append(predict([p], 1))
                        latencies.append(time.perf_counter() - s)
                    dt = time.perf_counter() - t0
                    logits = np.concatenate(out)
                else:
                    t0 = time.perf_counter()
                    logits = predict(pairs, bs)
                    dt = time.perf_counter() - t0
                times.append(dt)
                c1 = os.times()
                cpu.append((c1.user - c0.user) + (c1.system - c0.system))
            logits_path = Path(job["out_dir"]) / f"{system}.{set_name}.b{bs}.npy"
            np.save(logits_path, logits.astype(np.float32))
            # cpu_seconds / seconds ~ threads when the machine is otherwise idle; much lower means contention
            row = {"set": set_name, "batch_size": bs, "pairs": len(pairs), "seconds": times, "cpu_seconds": cpu,
                   "peak_rss_bytes": vm_status("VmHWM"), "logits": str(logits_path)}
            if latencies:
                row["latency_p50_s"] = percentile(latencies, 50)
                row["latency_p99_s"] = percentile(latencies, 99)
            rows.append(row)
            print(f"  {system:14} {set_name:5} b{bs:<3} best {min(times):.3f}s of {len(times)}", file=sys.stderr,
                  flush=True)
    result = {"system": system, "rows": rows, "info": info, "peak_rss_per_row": peak_resettable,
              "process_peak_rss_bytes": vm_status("VmHWM") if not peak_resettable else None}
    Path(job["out_dir"], f"{system}.result.json").write_text(json.dumps(result))
    return 0


# ----------------------------------------------------------------------------------------------
# parent


def machine_facts() -> dict:
    facts: dict = {"platform": platform.platform(), "python": sys.version.split()[0],
                   "cpu_count": os.cpu_count()}
    try:
        facts["cpus_usable"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        for line in cpuinfo.splitlines():
            if line.startswith("model name"):
                facts["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in cpuinfo.splitlines():
            if line.startswith("flags"):
                flags = line.split(":", 1)[1].split()
                facts["cpu_flags"] = sorted(f for f in flags if f.startswith(("avx", "fma", "f16c", "amx"))
                                            or "vnni" in f)
                break
        facts["logical_cpus_in_cpuinfo"] = cpuinfo.count("processor\t:")
    except OSError:
        pass
    facts["env"] = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                   "MKL_NUM_THREADS")}
    versions = {}
    for mod in ("torch", "onnxruntime", "transformers", "sentence_transformers", "tokenizers", "numpy", "onnx"):
        try:
            # importlib.metadata: versions without importing the (slow, large) packages into the parent
            from importlib.metadata import version
            versions[mod] = version(mod.replace("_", "-"))
        except Exception:  # noqa: BLE001 - missing package is a fact, not an error
            versions[mod] = None
    facts["versions"] = versions
    try:
        facts["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                             text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        facts["git_commit"] = None
    return facts


def model_max_length(model_dir: Path) -> int:
    """What CrossEncoder uses: sentence_bert_config.json max_seq_length, else the tokenizer's model_max_length
    capped by the position table. The PyTorch child reports the CrossEncoder's own value; a mismatch is a note."""
    cfg = json.loads((model_dir / "config.json").read_text())
    limit = int(cfg.get("max_position_embeddings", 512))
    if cfg.get("model_type") in ("roberta", "xlm-roberta", "camembert"):
        limit -= int(cfg.get("pad_token_id", 1)) + 1
    sb_path = model_dir / "sentence_bert_config.json"
    if sb_path.exists():
        m = json.loads(sb_path.read_text()).get("max_seq_length")
        if isinstance(m, int) and m > 0:
            return m
    tc_path = model_dir / "tokenizer_config.json"
    if tc_path.exists():
        m = json.loads(tc_path.read_text()).get("model_max_length")
        if isinstance(m, (int, float)) and 0 < m < 1_000_000:
            return min(int(m), limit)
    return limit


def pad_token(model_dir: Path, tok) -> tuple[str, int]:
    name = None
    for fname in ("tokenizer_config.json", "special_tokens_map.json"):
        p = model_dir / fname
        if p.exists():
            v = json.loads(p.read_text()).get("pad_token")
            if isinstance(v, dict):
                v = v.get("content")
            if isinstance(v, str):
                name = v
                break
    name = name or "[PAD]"
    pid = tok.token_to_id(name)
    if pid is None:
        raise SystemExit(f"pad token {name!r} not in {model_dir}/tokenizer.json")
    return name, pid


def build_sets(args, tok, max_length: int) -> tuple[dict[str, list[tuple[str, str]]], dict]:
    rows = [json.loads(l) for l in Path(args.pairs).read_text(encoding="utf-8").split("\n") if l.strip()]
    main = [(rows[i % len(rows)]["query"], rows[i % len(rows)]["document"]) for i in range(args.n_pairs)]

    # long: the longest distinct documents, each after a short sentence query, cycling both.
    docs, seen = [], set()
    for r in rows:
        if r["document"] not in seen:
            seen.add(r["document"])
            docs.append(r["document"])
    doc_len = [len(e.ids) for e in tok.encode_batch(docs, add_special_tokens=False)]
    min_tokens = args.long_min_tokens or int(0.9 * max_length)
    long_docs = [d for n, d in sorted(zip(doc_len, docs), key=lambda t: -t[0]) if n >= min_tokens]
    queries, qseen = [], set()
    for r in rows:
        q = r["query"]
        if "sentence" in r.get("kind", "") and q not in qseen and 3 <= len(q.split()) <= 30:
            qseen.add(q)
            queries.append(q)
    if not long_docs or not queries:
        raise SystemExit("cannot build the long set: no documents of at least "
                         f"{min_tokens} tokens or no sentence queries in {args.pairs}")
    long = [(queries[i % len(queries)], long_docs[i % len(long_docs)]) for i in range(args.n_long)]

    def stats(pairs):
        enc = tok.encode_batch(pairs)
        n = [len(e.ids) for e in enc]
        return {"pairs": len(pairs), "tokens_mean": round(sum(n) / len(n), 1), "tokens_min": min(n),
                "tokens_max": max(n), "tokens_total": sum(n)}

    sets = {"main": main, "long": long}
    meta = {"main": {**stats(main), "source": args.pairs, "rule": f"first {args.n_pairs} pairs, cycling",
                     "distinct": len({p for p in main})},
            "long": {**stats(long), "source": args.pairs,
                     "rule": f"{len(long_docs)} distinct documents of >= {min_tokens} tokens (longest first) "
                             f"x {len(queries)} sentence queries, cycling, {args.n_long} pairs"}}
    return {k: v for k, v in sets.items() if k in args.sets}, {k: v for k, v in meta.items() if k in args.sets}


def dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def spawn_timed(cmd: list[str], env: dict, log_path: Path, marker: str | None) -> tuple[float, int, object]:
    """Runs cmd; returns (seconds from spawn to `marker` on stdout or to exit, returncode, rusage).
    stdout lines after the marker are kept in the log with stderr."""
    t0 = time.perf_counter()
    with open(log_path, "ab") as log:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=env, cwd=ROOT)
        t_mark = None
        out_lines = []
        assert p.stdout is not None
        for raw in p.stdout:
            if t_mark is None and marker is not None and raw.strip() == marker.encode():
                t_mark = time.perf_counter() - t0
            else:
                out_lines.append(raw)
        p.stdout.close()
        _, status, ru = os.wait4(p.pid, 0)
        t_end = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    return (t_mark if t_mark is not None else t_end), p.returncode, (ru, b"".join(out_lines))


def child_env(threads: int) -> dict:
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                "RAYON_RS_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "true",
                "TRANSFORMERS_VERBOSITY": "error", "PYTHONWARNINGS": "ignore"})
    return env


def run_python_system(system: str, job: dict, job_path: Path, tmp: Path, args, notes: list[str]) -> dict | None:
    env = child_env(args.threads)
    log = tmp / f"{system}.log"
    base = [sys.executable, str(Path(__file__).resolve()), "--one", system, "--job", str(job_path)]
    colds = []
    for _ in range(args.cold_repeat):
        t, rc, _ = spawn_timed(base + ["--probe"], env, log, "FIRST_SCORE")
        if rc != 0:
            notes.append(f"{system}: cold-start probe failed (exit {rc}); log:\n" + log.read_text()[-2000:])
            return None
        colds.append(t)
    print(f"{system}: measuring...", file=sys.stderr, flush=True)
    t, rc, (ru, _) = spawn_timed(base, env, log, "FIRST_SCORE")
    colds.append(t)  # the measuring process is one more cold-start sample (spawn to its first score)
    res_path = tmp / f"{system}.result.json"
    if rc != 0 or not res_path.exists():
        notes.append(f"{system}: failed (exit {rc}); log:\n" + log.read_text()[-3000:])
        return None
    res = json.loads(res_path.read_text())
    res["cold_start_s"] = colds
    msl = res["info"].get("max_seq_length")
    if msl is not None and msl != job["max_length"]:
        notes.append(f"{system}: CrossEncoder max_seq_length {msl} != {job['max_length']} used for the other systems")
    res["process_maxrss_bytes"] = ru.ru_maxrss * 1024
    return res


def run_cetool(label: str, model_dir: Path, binary: Path, sets_paths: dict, one_pair: Path, tmp: Path, args,
               notes: list[str], ref_repeats: dict) -> dict | None:
    import numpy as np

    system = f"cetool-{label}"
    env = dict(os.environ)
    log = tmp / f"{system}.log"
    common = ["--threads", str(args.threads)]
    colds = []
    for _ in range(max(1, args.cold_repeat)):
        t, rc, _ = spawn_timed([str(binary), "predict", str(model_dir), "--pairs", str(one_pair), "--no-progress",
                                "--batch-size", "1"] + common, env, log, None)
        if rc != 0:
            notes.append(f"{system}: `cetool predict` failed (exit {rc}); log:\n" + log.read_text()[-2000:])
            return None
        colds.append(t)
    rows = []
    set_logits: dict[str, str | None] = {}
    for set_name, path in sets_paths.items():
        for bs in args.batch_sizes:
            # as many timed repeats as the reference system made on this row: best-of-n against best-of-n
            n_rep = ref_repeats.get((set_name, bs), args.repeat)
            t_wall, rc, (ru, out) = spawn_timed([str(binary), "bench", str(model_dir), "--pairs", str(path),
                                                 "--batch-size", str(bs), "--repeat", str(n_rep),
                                                 "--format", "json"] + common, env, log, None)
            if rc != 0:
                notes.append(f"{system}: `cetool bench` failed (exit {rc}) on {set_name} b{bs}; log:\n"
                             + log.read_text()[-2000:])
                return None
            try:
                rep = json.loads([l for l in out.decode().split("\n") if l.strip().startswith("{")][-1])
            except (IndexError, ValueError):
                notes.append(f"{system}: `cetool bench` printed no JSON object: {out[-500:]!r}")
                return None
            row = {"set": set_name, "batch_size": bs, "pairs": rep.get("pairs"), "seconds": [rep["seconds"]],
                   "timing": "cetool bench: best of --repeat",
                   "peak_rss_bytes": rep.get("peak_rss_bytes") or ru.ru_maxrss * 1024,
                   "process_maxrss_bytes": ru.ru_maxrss * 1024, "load_seconds": rep.get("load_seconds"),
                   "repeats": n_rep, "cetool_report": rep,
                   **({"latency_p50_s": rep["latency_p50_s"], "latency_p99_s": rep["latency_p99_s"]}
                      if "latency_p50_s" in rep else {}),
                   # whole process (load, warm-up, repeats): CPU time over wall time
                   "process_cpu_util": (ru.ru_utime + ru.ru_stime) / t_wall if t_wall > 0 else None}
            # parity: the same pairs through `cetool predict --activation identity` (raw logits), once per set at
            # the largest batch size (padding changes logits by ~1e-6 only), compared with each row's reference.
            if set_name not in set_logits:
                set_logits[set_name] = None
                pbs = max(args.batch_sizes)
                _, rc, (_, out) = spawn_timed([str(binary), "predict", str(model_dir), "--pairs", str(path),
                                               "--activation", "identity", "--no-progress", "--batch-size", str(pbs)]
                                              + common, env, log, None)
                if rc == 0:
                    try:
                        vals = []
                        for l in out.decode().split("\n"):
                            if l.strip():
                                o = json.loads(l)
                                vals.append(o["scores"] if "scores" in o else [o["score"]])
                        lp = tmp / f"{system}.{set_name}.npy"
                        np.save(lp, np.asarray(vals, dtype=np.float32))
                        set_logits[set_name] = str(lp)
                    except (ValueError, KeyError) as e:
                        notes.append(f"{system}: cannot read `cetool predict` output for parity ({e})")
                else:
                    notes.append(f"{system}: `cetool predict` failed on {set_name} (exit {rc}): no parity")
            if set_logits[set_name]:
                row["logits"] = set_logits[set_name]
            rows.append(row)
            print(f"  {system:14} {set_name:5} b{bs:<3} {rep['seconds']:.3f}s", file=sys.stderr, flush=True)
    return {"system": system, "rows": rows, "cold_start_s": colds, "info": {"binary": str(binary)}}


def fmt(x, spec, missing="–"):
    return missing if x is None else format(x, spec)


def parent_main(args) -> int:
    import numpy as np
    from tokenizers import Tokenizer

    os.chdir(ROOT)
    model_dir = Path(args.model)
    if not (model_dir / "config.json").exists():
        raise SystemExit(f"{model_dir}: no config.json (run `make models` / scripts/fetch_models.sh)")
    max_length = args.max_length or model_max_length(model_dir)
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length, strategy="longest_first")
    pad_name, pad_id = pad_token(model_dir, tok)
    sets, set_meta = build_sets(args, tok, max_length)

    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    notes: list[str] = []
    onnx_dir = Path(args.onnx_dir) if args.onnx_dir else Path(".models/onnx") / model_dir.resolve().name
    onnx = {s: onnx_dir / f for s, f in ONNX_FILES.items()}
    for spec in args.cetool_onnx:
        label, _, path = spec.partition("=")
        onnx[f"ort-cetool-{label}"] = Path(path) / "onnx" / "model.onnx"
    artifacts = {"pytorch-fp32": dir_bytes(model_dir)}
    for s, p in onnx.items():
        if p.exists():
            artifacts[s] = p.stat().st_size + (model_dir / "tokenizer.json").stat().st_size

    systems = list(PY_SYSTEMS) if args.systems == ["all"] else args.systems
    for s in systems:
        if s not in PY_SYSTEMS:
            raise SystemExit(f"unknown system {s!r}; known: {', '.join(PY_SYSTEMS)}, all")
    if REFERENCE_SYSTEM not in systems:
        notes.append(f"{REFERENCE_SYSTEM} not run: no ratios and no parity")
    for s in list(systems):
        if s in onnx and not onnx[s].exists():
            notes.append(f"{s}: skipped, {onnx[s]} missing (run bench/export_onnx.py)")
            systems.remove(s)

    cetool_models = []
    for spec in args.cetool_model:
        label, _, path = spec.partition("=")
        if not path:
            label, path = Path(spec).name, spec
        cetool_models.append((label, Path(path)))
    binary = Path(args.cetool)

    load_start = os.getloadavg()
    if load_start[0] > 0.5 * (os.cpu_count() or 1):
        notes.append(f"load average {load_start[0]:.2f} at start (other work on the machine): figures are "
                     "pessimistic where the CPU column is well under --threads")
    t_run = time.perf_counter()
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="cetool-bench-") as tmpd:
        tmp = Path(tmpd)
        sets_paths = {}
        for name, pairs in sets.items():
            sets_paths[name] = tmp / f"{name}.jsonl"
            write_pairs(sets_paths[name], pairs)
        one_pair = tmp / "one.jsonl"
        write_pairs(one_pair, [sets[next(iter(sets))][0]])
        set_digest = {n: hashlib.sha256(p.read_bytes()).hexdigest() for n, p in sets_paths.items()}
        job = {"model": str(model_dir), "threads": args.threads, "max_length": max_length, "repeat": args.repeat,
               "max_row_seconds": args.max_row_seconds, "batch_sizes": args.batch_sizes, "sets": {k: str(v) for k, v in sets_paths.items()},
               "first_set": next(iter(sets)), "onnx": {k: str(v) for k, v in onnx.items()},
               "max_length_override": args.max_length,
               "ort_tokenizer": args.ort_tokenizer, "pad_id": pad_id, "pad_token": pad_name, "out_dir": str(tmp)}
        job_path = tmp / "job.json"
        job_path.write_text(json.dumps(job))

        for s in systems:
            r = run_python_system(s, job, job_path, tmp, args, notes)
            if r:
                results.append(r)
        for label, mdir in cetool_models:
            sysname = f"cetool-{label}"
            if not binary.exists():
                notes.append(f"{sysname}: skipped, no cetool binary at {binary} (swift build -c release)")
                continue
            if not mdir.exists():
                notes.append(f"{sysname}: skipped, model {mdir} missing")
                continue
            ref_repeats = {(row["set"], row["batch_size"]): len(row["seconds"])
                           for r0 in results if r0["system"] == REFERENCE_SYSTEM for row in r0["rows"]}
            r = run_cetool(label, mdir, binary, sets_paths, one_pair, tmp, args, notes, ref_repeats)
            if r:
                r["dtype"] = label
                artifacts[sysname] = dir_bytes(mdir)
                results.append(r)

        # load logits, compute parity against the reference system on the same set and batch size
        ref_logits = {}
        for r in results:
            for row in r["rows"]:
                if "logits" in row:
                    row["_logits"] = np.load(row["logits"]).reshape(row["pairs"] or -1, -1)
                    if r["system"] == REFERENCE_SYSTEM:
                        ref_logits[(row["set"], row["batch_size"])] = row["_logits"]
        for r in results:
            for row in r["rows"]:
                ref = ref_logits.get((row["set"], row["batch_size"]))
                lg = row.pop("_logits", None)
                row.pop("logits", None)
                if ref is not None and lg is not None and lg.shape == ref.shape:
                    d = np.abs(lg.astype(np.float64) - ref.astype(np.float64))
                    row["max_abs_dlogit"] = float(d.max())
                    row["mean_abs_dlogit"] = float(d.mean())
                    if ref.shape[1] == 1 and len(ref) > 2:
                        a = np.argsort(np.argsort(ref[:, 0]))
                        b = np.argsort(np.argsort(lg[:, 0]))
                        row["spearman_vs_reference"] = float(np.corrcoef(a, b)[0, 1])
                elif lg is not None and ref is not None:
                    notes.append(f"{r['system']}: logits shape {lg.shape} != reference {ref.shape}")

    wall = time.perf_counter() - t_run
    load_end = os.getloadavg()
    # throughput: best of the repeats (the fastest run is the least disturbed one); median kept in JSON
    table = []
    ref_pps = {}
    for r in results:
        for row in r["rows"]:
            row["best_seconds"] = min(row["seconds"])
            if row.get("cpu_seconds"):
                i = row["seconds"].index(row["best_seconds"])
                row["cpu_util"] = row["cpu_seconds"][i] / row["seconds"][i]
            else:
                row["cpu_util"] = row.get("process_cpu_util")
            row["median_seconds"] = float(np.median(row["seconds"]))
            row["pairs_per_second"] = row["pairs"] / row["best_seconds"]
            if r["system"] == REFERENCE_SYSTEM:
                ref_pps[(row["set"], row["batch_size"])] = row["pairs_per_second"]
    for r in results:
        dtype = PY_SYSTEMS[r["system"]][0] if r["system"] in PY_SYSTEMS else r.get("dtype", "?")
        for row in r["rows"]:
            rp = ref_pps.get((row["set"], row["batch_size"]))
            row["ratio_vs_reference"] = row["pairs_per_second"] / rp if rp else None
            table.append({
                "system": r["system"], "dtype": dtype, "set": row["set"], "batch": row["batch_size"],
                "threads": args.threads, "pairs_per_second": row["pairs_per_second"],
                "repeats": len(row["seconds"]) if "cetool_report" not in row else row["repeats"],
                "cpu_util": row.get("cpu_util"),
                "ratio": row["ratio_vs_reference"],
                "p50_ms": row["latency_p50_s"] * 1e3 if "latency_p50_s" in row else None,
                "p99_ms": row["latency_p99_s"] * 1e3 if "latency_p99_s" in row else None,
                "peak_rss_mb": row["peak_rss_bytes"] / 1e6 if row.get("peak_rss_bytes") else None,
                "cold_start_ms": min(r["cold_start_s"]) * 1e3 if r.get("cold_start_s") else None,
                "artifact_mb": artifacts.get(r["system"], 0) / 1e6 or None,
                "max_abs_dlogit": row.get("max_abs_dlogit"),
            })
    contended = [f"{t['system']} {t['set']} b{t['batch']} ({t['cpu_util']:.2f})" for t in table
                 if t["cpu_util"] is not None and t["cpu_util"] < 0.8 * min(args.threads, os.cpu_count() or 1)]
    if contended:
        notes.append("CPU seconds / wall seconds well under --threads (other work on the machine, or a system "
                     "that does not use its threads): " + ", ".join(contended))
    order = {"main": 0, "long": 1}
    table.sort(key=lambda t: (order.get(t["set"], 9), t["batch"]))

    facts = machine_facts()
    lines = [
        f"{facts.get('cpu_model', '?')}, {facts.get('cpus_usable', '?')} usable CPUs, threads={args.threads}, "
        f"OPENBLAS_CORETYPE={facts['env'].get('OPENBLAS_CORETYPE')}; pairs/s = best of n repeats "
        f"(tokenization included); ratio and max|Δlogit| against {REFERENCE_SYSTEM} in this run; "
        f"CPU = CPU seconds / wall seconds of that repeat (≈ threads when nothing else runs).",
        "",
    ]
    for name, m in set_meta.items():
        lines.append(f"- set `{name}`: {m['pairs']} pairs, {m['tokens_mean']} tokens/pair on average "
                     f"({m['tokens_min']}–{m['tokens_max']}), {m['rule']}")
    lines += ["", "| system | dtype | set | batch | threads | pairs/s | n | CPU | × PyTorch fp32 | p50 / p99 ms (b=1) "
                  "| peak RSS MB | cold start ms | artifact MB | max abs Δlogit |",
              "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for t in table:
        lat = f"{t['p50_ms']:.1f} / {t['p99_ms']:.1f}" if t["p50_ms"] is not None else "–"
        parity = "ref" if t["system"] == REFERENCE_SYSTEM else fmt(t["max_abs_dlogit"], ".2g")
        lines.append(f"| {t['system']} | {t['dtype']} | {t['set']} | {t['batch']} | {t['threads']} | "
                     f"{t['pairs_per_second']:.1f} | {t['repeats']} | {fmt(t['cpu_util'], '.2f')} | {fmt(t['ratio'], '.2f')} | {lat} | {fmt(t['peak_rss_mb'], '.0f')} | "
                     f"{fmt(t['cold_start_ms'], '.0f')} | {fmt(t['artifact_mb'], '.1f')} | {parity} |")
    if notes:
        lines += ["", "Notes:"] + [f"- {n}" for n in notes]
    lines.append("")
    lines.append(f"(full run {wall:.0f} s)")
    print("\n".join(lines))

    out = {
        "created": stamp, "generator": "bench/run.py", "argv": sys.argv[1:], "wall_seconds": wall,
        "machine": {**facts, "loadavg_start": load_start, "loadavg_end": load_end},
        "config": {"model": str(model_dir), "max_length": max_length, "threads": args.threads,
                   "rows": "seconds / cpu_seconds: one entry per repeat",
                   "batch_sizes": args.batch_sizes, "repeat": args.repeat, "max_row_seconds": args.max_row_seconds,
                   "timing": "best of the row's repeats (median too); Python: at least min(2, repeat), more while "
                             "the row stays within max_row_seconds; cetool: the reference row's count",
                   "cold_repeat": args.cold_repeat,
                   "cold_start": "min over fresh processes (Python: cold_repeat probes + the measuring process; "
                                 "cetool: `cetool predict` on one pair, to exit), spawn to first score",
                   "ort_tokenizer": args.ort_tokenizer,
                   "peak_rss": "VmHWM of the system's process, reset (clear_refs 5) before each set x batch row; "
                               "cetool: its own VmHWM (cetool bench's peak_rss_bytes) for a process running that row",
                   "reference_system": REFERENCE_SYSTEM, "onnx_dir": str(onnx_dir),
                   "cetool": str(binary), "cetool_models": {l: str(p) for l, p in cetool_models}},
        "sets": {k: {**v, "sha256": set_digest[k]} for k, v in set_meta.items()},
        "artifacts_bytes": artifacts,
        "table": table, "results": results, "notes": notes,
    }
    onnx_info = onnx_dir / "export.json"
    if onnx_info.exists():
        out["onnx_export"] = json.loads(onnx_info.read_text())
    if not args.no_save:
        res_dir = Path(args.results_dir)
        res_dir.mkdir(parents=True, exist_ok=True)
        path = res_dir / f"{stamp}.json"
        path.write_text(json.dumps(out, indent=1, default=str) + "\n")
        print(f"results: {path}", file=sys.stderr)
    return 0


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=".models/minilm-l6-ce", help="HF cross-encoder directory (PyTorch reference)")
    ap.add_argument("--onnx-dir", help="folder with model.onnx / model-int8.onnx (default .models/onnx/<model name>)")
    ap.add_argument("--pairs", default="golden/inputs/pairs.jsonl")
    ap.add_argument("--n-pairs", type=int, default=512)
    ap.add_argument("--n-long", type=int, default=64)
    ap.add_argument("--long-min-tokens", type=int, help="document tokens for the long set (default 0.9 x max_length)")
    ap.add_argument("--sets", type=lambda s: s.split(","), default=["main", "long"], help="main,long")
    ap.add_argument("--max-length", type=int, help="default: what CrossEncoder uses (tokenizer model_max_length)")
    ap.add_argument("--batch-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[32])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="timed repeats per row; the best is reported")
    ap.add_argument("--max-row-seconds", type=float, default=40,
                    help="Python systems: after 2 repeats, stop a row's repeats when one more would take its timed "
                         "total past this (0 = always --repeat); cetool gets the reference's repeat count per row")
    ap.add_argument("--cold-repeat", type=int, default=5,
                    help="extra start-to-first-score processes per Python system (the measuring process is one "
                         "more sample; cetool: this many `cetool predict` runs, at least 1); the minimum is reported. "
                         "One sample alone measures whatever the runs before it left in the page cache")
    ap.add_argument("--systems", type=lambda s: s.split(","), default=DEFAULT_SYSTEMS,
                    help="Python systems, comma-separated, or all (default %(default)s; known: "
                         + ",".join(PY_SYSTEMS) + ")")
    ap.add_argument("--ort-tokenizer", choices=["tokenizers", "transformers"], default="tokenizers",
                    help="tokenizers: tokenizer.json via the tokenizers library (no torch import in the ORT "
                         "process); transformers: AutoTokenizer (pulls torch in, ~+0.3 GB RSS, +5-9 s start)")
    ap.add_argument("--cetool", default=".build/release/cetool", help="cetool binary")
    ap.add_argument("--cetool-model", action="append", default=[], metavar="LABEL=DIR",
                    help="a model directory for cetool (repeatable), e.g. fp32=.models/minilm-l6-ce")
    ap.add_argument("--cetool-onnx", action="append", default=[], metavar="LABEL=DIR",
                    help="a `cetool export-onnx` folder run as system ort-cetool-LABEL (fp32, fp16, int8)")
    ap.add_argument("--results-dir", default="bench/results")
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results/<timestamp>.json")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


if __name__ == "__main__":
    a = parse_args()
    if a.one:
        sys.exit(child_main(a.one, Path(a.job), a.probe))
    sys.exit(parent_main(a))
