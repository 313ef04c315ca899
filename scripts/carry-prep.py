#!/usr/bin/env python3
"""Prepares .carry/ for a run on the GPU machine, within the 64 MiB a call may carry.

- base/: the MiniLM base model with its weights halved to f16 (the loader casts them back to
  the model's float type), plus tokenizer.json and config.json.
- data/: problems.jsonl and the train/eval traces without the `conf` field (the judge does not
  read confidences), gzip-compressed.
Run from the repository root after scripts/fetch-base-model.sh.
"""
import gzip, json, os, struct, sys
import numpy as np

SRC = "models/base/all-minilm-l6-v2"
os.makedirs(".carry/base", exist_ok=True)
os.makedirs(".carry/data", exist_ok=True)

with open(f"{SRC}/model.safetensors", "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    body = f.read()
out_header, chunks, offset = {}, [], 0
for name, info in header.items():
    if name == "__metadata__":
        out_header[name] = info
        continue
    start, end = info["data_offsets"]
    raw = body[start:end]
    if info["dtype"] == "F32":
        raw = np.frombuffer(raw, dtype="<f4").astype("<f2").tobytes()
        dtype = "F16"
    else:
        dtype = info["dtype"]
    out_header[name] = {"dtype": dtype, "shape": info["shape"], "data_offsets": [offset, offset + len(raw)]}
    chunks.append(raw)
    offset += len(raw)
h = json.dumps(out_header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(".carry/base/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)))
    f.write(h)
    for c in chunks:
        f.write(c)
for name in ["tokenizer.json", "config.json"]:
    with open(f"{SRC}/{name}", "rb") as a, open(f".carry/base/{name}", "wb") as b:
        b.write(a.read())

for split in ["train", "eval"]:
    with gzip.open(f"../shared/data/traces-{split}.jsonl.gz", "rt") as a, \
         gzip.open(f".carry/data/traces-{split}.jsonl.gz", "wt", compresslevel=9) as b:
        for line in a:
            t = json.loads(line)
            t.pop("conf", None)
            b.write(json.dumps(t) + "\n")
with open("../shared/data/problems.jsonl", "rb") as a, open(".carry/data/problems.jsonl", "wb") as b:
    b.write(a.read())
