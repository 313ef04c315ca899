#!/usr/bin/env python3
"""Prepares .carry/ for a run on the GPU machine, within the 64 MiB a call may carry.

- base/: the MiniLM base model with its weights halved to f16 (the loader casts them back to
  the model's float type), plus tokenizer.json and config.json.
- data/: problems.jsonl and the traces, gzip-compressed. The train traces lose their `conf`
  field (the judge does not read confidences). The eval traces keep it, because the DeepConf
  rows of a sweep need it, unless --strip-eval is given.

Run from the repository root after scripts/dev/fetch-base-model.sh.
Usage: scripts/dev/carry-prep.py [--no-base] [--no-train] [--no-eval] [--strip-eval]
"""
import gzip, json, os, shutil, struct, sys

import numpy as np

ARGS = set(sys.argv[1:])
SRC = "models/base/all-minilm-l6-v2"


def prep_base():
    os.makedirs(".carry/base", exist_ok=True)
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
        dtype = info["dtype"]
        if dtype == "F32":
            raw = np.frombuffer(raw, dtype="<f4").astype("<f2").tobytes()
            dtype = "F16"
        out_header[name] = {"dtype": dtype, "shape": info["shape"],
                            "data_offsets": [offset, offset + len(raw)]}
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
        shutil.copyfile(f"{SRC}/{name}", f".carry/base/{name}")


def prep_traces(split, strip_conf):
    os.makedirs(".carry/data", exist_ok=True)
    with gzip.open(f"../shared/data/traces-{split}.jsonl.gz", "rt") as a, \
         gzip.open(f".carry/data/traces-{split}.jsonl.gz", "wt", compresslevel=9) as b:
        for line in a:
            t = json.loads(line)
            if strip_conf:
                t.pop("conf", None)
            b.write(json.dumps(t) + "\n")


if "--no-base" not in ARGS:
    prep_base()
if "--no-train" not in ARGS:
    prep_traces("train", strip_conf=True)
if "--no-eval" not in ARGS:
    prep_traces("eval", strip_conf="--strip-eval" in ARGS)
os.makedirs(".carry/data", exist_ok=True)
shutil.copyfile("../shared/data/problems.jsonl", ".carry/data/problems.jsonl")
