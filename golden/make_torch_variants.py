"""Re-saves the golden models' weights as PyTorch zip checkpoints (torch.save, default settings) and as
sharded checkpoints, beside the safetensors originals, so the importer can be checked bit for bit.

Run in the reference venv:  ref/bin/python golden/make_torch_variants.py   (`... arch`: only tiny-roberta-torch, tiny-electra-torch)
Writes (committed): golden/models/tiny-bert-l1-torch/, tiny-bert-l3-torch/, tiny-bert-l1-sharded/,
tiny-bert-l1-torch-sharded/; (not committed, > 8 MB): .models/minilm-l6-ce-torch/ when
.models/minilm-l6-ce exists.
"""
import hashlib
import json
import pathlib
import platform
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
WEIGHT_FILES = {"model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json"}


def copy_non_weights(src: pathlib.Path, dst: pathlib.Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for f in sorted(src.iterdir()):
        if f.is_file() and f.name not in WEIGHT_FILES and not f.name.startswith("model-"):
            shutil.copy2(f, dst / f.name)


def torch_variant(name: str, src: pathlib.Path, dst: pathlib.Path) -> dict:
    copy_non_weights(src, dst)
    state = load_file(str(src / "model.safetensors"))
    torch.save(state, str(dst / "pytorch_model.bin"))
    return {"from": str(src.relative_to(ROOT)), "file": "pytorch_model.bin", "how": "torch.save(safetensors.torch.load_file(model.safetensors))",
            "sha256": hashlib.sha256((dst / "pytorch_model.bin").read_bytes()).hexdigest()}


def sharded(src: pathlib.Path, dst: pathlib.Path, torch_format: bool) -> dict:
    """Splits the tensors into two shards in name order, with the index transformers writes."""
    copy_non_weights(src, dst)
    state = load_file(str(src / "model.safetensors"))
    names = sorted(state)
    half = len(names) // 2
    parts = [names[:half], names[half:]]
    ext = "bin" if torch_format else "safetensors"
    stem = "pytorch_model" if torch_format else "model"
    weight_map, total = {}, 0
    for i, part in enumerate(parts):
        shard = f"{stem}-{i + 1:05d}-of-{len(parts):05d}.{ext}"
        sd = {n: state[n].contiguous() for n in part}
        if torch_format:
            torch.save(sd, str(dst / shard))
        else:
            save_file(sd, str(dst / shard), metadata={"format": "pt"})
        for n in part:
            weight_map[n] = shard
            total += state[n].numel() * state[n].element_size()
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (dst / f"{stem}.{ext}.index.json").write_text(json.dumps(index, indent=2) + "\n")
    return {"from": str(src.relative_to(ROOT)), "index": f"{stem}.{ext}.index.json", "shards": len(parts)}


ARCH_VARIANTS = ["tiny-roberta", "tiny-electra"]


def main_arch() -> None:
    """`make_torch_variants.py arch`: only the torch variants of the other architectures (after
    make_models_arch.py), merged into VARIANTS.json with the versions that made them; the BERT variants stay."""
    models = ROOT / "golden/models"
    prov = json.loads((models / "VARIANTS.json").read_text())
    for name in ARCH_VARIANTS:
        v = torch_variant(name, models / name, models / f"{name}-torch")
        v["versions"] = {"python": platform.python_version(), "torch": torch.__version__}
        v["generator_sha256"] = hashlib.sha256(pathlib.Path(__file__).read_bytes()).hexdigest()
        prov["variants"][f"{name}-torch"] = v
        print(json.dumps({f"{name}-torch": v}))
    (models / "VARIANTS.json").write_text(json.dumps(prov, indent=1) + "\n")


def main() -> None:
    if sys.argv[1:] == ["arch"]:
        return main_arch()
    models = ROOT / "golden/models"
    made = {
        "tiny-bert-l1-torch": torch_variant("tiny-bert-l1", models / "tiny-bert-l1", models / "tiny-bert-l1-torch"),
        "tiny-bert-l3-torch": torch_variant("tiny-bert-l3", models / "tiny-bert-l3", models / "tiny-bert-l3-torch"),
        "tiny-bert-l1-sharded": sharded(models / "tiny-bert-l1", models / "tiny-bert-l1-sharded", torch_format=False),
        "tiny-bert-l1-torch-sharded": sharded(models / "tiny-bert-l1", models / "tiny-bert-l1-torch-sharded", torch_format=True),
    }
    real = ROOT / ".models/minilm-l6-ce"
    if (real / "model.safetensors").exists():
        torch_variant("minilm-l6-ce", real, ROOT / ".models/minilm-l6-ce-torch")
    provenance = {
        "generator": "golden/make_torch_variants.py",
        "generator_sha256": hashlib.sha256(pathlib.Path(__file__).read_bytes()).hexdigest(),
        "versions": {"python": platform.python_version(), "torch": torch.__version__},
        "variants": made,
    }
    (models / "VARIANTS.json").write_text(json.dumps(provenance, indent=1) + "\n")
    print(json.dumps(made, indent=1))


if __name__ == "__main__":
    sys.exit(main())
