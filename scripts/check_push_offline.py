"""Checks that sentence-transformers loads a `cetool push`ed folder by repository id, offline (reference venv).

  ref/bin/python scripts/check_push_offline.py [--cetool .build/release/cetool] [--model .models/minilm-l6-ce]

Saves MODEL with `cetool save-pretrained`, pushes it with `cetool push` into a temporary hub folder, then,
in a child process with HF_HUB_OFFLINE=1 and HF_HUB_CACHE=<hub folder>, loads
CrossEncoder("acme/minilm-rerank") and scores the seed example; the scores must equal those of
CrossEncoder(<saved folder>) exactly. Also pushes again (a no-op) and a different folder under the same
revision (refused). Not part of CI (needs torch).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, logging
import transformers
transformers.logging.set_verbosity_error()
from sentence_transformers import CrossEncoder
seed = json.load(open(sys.argv[2]))
ce = CrossEncoder(sys.argv[1], device="cpu")
print(json.dumps([float(x) for x in ce.predict([[seed["query"], d] for d in seed["documents"]])]))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cetool", default=str(REPO / ".build/release/cetool"))
    ap.add_argument("--model", default=str(REPO / ".models/minilm-l6-ce"))
    args = ap.parse_args()
    seed = REPO / "golden/inputs/seed.json"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        saved, hub, other = tmp / "saved", tmp / "hub", tmp / "other"
        hub.mkdir()
        subprocess.run([args.cetool, "save-pretrained", args.model, "--output", str(saved), "--name", "acme/minilm-rerank"], check=True)
        subprocess.run([args.cetool, "push", str(saved), "--hub-dir", str(hub), "--repo-id", "acme/minilm-rerank"], check=True)
        again = subprocess.run([args.cetool, "push", str(saved), "--hub-dir", str(hub), "--repo-id", "acme/minilm-rerank"],
                               check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run([args.cetool, "save-pretrained", args.model, "--output", str(other), "--dtype", "fp16"], check=True)
        refused = subprocess.run([args.cetool, "push", str(other), "--hub-dir", str(hub), "--repo-id", "acme/minilm-rerank"],
                                 capture_output=True, text=True)

        env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(hub), HF_HOME=str(tmp / "hf-home"))
        by_id = json.loads(subprocess.run([sys.executable, "-c", CHILD, "acme/minilm-rerank", str(seed)], env=env,
                                          check=True, capture_output=True, text=True).stdout)
        by_dir = json.loads(subprocess.run([sys.executable, "-c", CHILD, str(saved), str(seed)],
                                           check=True, capture_output=True, text=True).stdout)
        tree = sorted(str(p.relative_to(hub)) for p in hub.rglob("*"))
        print(json.dumps({"hub_tree": tree, "scores_by_repo_id": by_id, "identical_to_folder": by_id == by_dir,
                          "push_again": again, "different_content_same_revision": {"exit": refused.returncode,
                                                                                    "stderr": refused.stderr.strip()}}, indent=1))
        if by_id != by_dir or refused.returncode == 0:
            raise SystemExit("FAIL")
        print("PASS")


if __name__ == "__main__":
    main()
