"""Prints the seed example's passages, one per line (input for `cetool rank --documents`)."""
import json
import pathlib

seed = json.loads((pathlib.Path(__file__).resolve().parent.parent / "golden/inputs/seed.json").read_text(encoding="utf-8"))
for doc in seed["documents"]:
    print(doc.replace("\n", " "))
