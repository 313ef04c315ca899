#!/usr/bin/env python3
"""Prepares .carry/ for a run on the GPU machine, within the 64 MiB a call may carry.

- base/: the MiniLM base model with its weights halved to f16 (the loader casts them back to
  the model's float type), plus tokenizer.json and config.json.
- data/: problems.jsonl and the traces, gzip-compressed. The train traces lose their `conf`
  field (the judge does not read confidences). The eval traces keep it, because the DeepConf
  rows of a sweep need it, unless --strip-eval is given.

- With --train-prefix N, every training file (0.5B, 1.5B and data/train/'s extra 1.5B traces)
  keeps only each trace's first N generator tokens (text, tok_bytes and n_tokens cut together),
  which is all a judge trained at checkpoints up to N tokens reads. With --xz, trace files are
  written as .jsonl.xz (about a quarter smaller than gzip); the GPU scripts unpack them to .jsonl.

Run from the repository root after scripts/dev/fetch-base-model.sh.
Usage: scripts/dev/carry-prep.py [--no-base] [--no-train] [--no-eval] [--strip-eval]
                                 [--train-prefix N] [--xz]
"""
import base64, gzip, json, lzma, os, shutil, struct, sys

import numpy as np

ARGV = sys.argv[1:]
ARGS = set(ARGV)
PREFIX = int(ARGV[ARGV.index("--train-prefix") + 1]) if "--train-prefix" in ARGS else None
XZ = "--xz" in ARGS
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


def cut(t, n):
    """The trace's first n generator tokens: text, tok_bytes and n_tokens cut together."""
    lengths = base64.b64decode(t["tok_bytes"])
    if len(lengths) <= n:
        return t
    raw = t["text"].encode("utf-8")
    # A token may end inside a UTF-8 character: take the next boundary that decodes cleanly.
    while n < len(lengths):
        try:
            text = raw[: sum(lengths[:n])].decode("utf-8")
            break
        except UnicodeDecodeError:
            n += 1
    else:
        return t
    t["text"] = text
    t["tok_bytes"] = base64.b64encode(lengths[:n]).decode()
    t["n_tokens"] = n
    t["finish"] = "length"
    return t


def prep_traces(src, name, strip_conf, prefix=None):
    os.makedirs(".carry/data", exist_ok=True)
    dst = f".carry/data/{name}.jsonl" + (".xz" if XZ else ".gz")
    out = lzma.open(dst, "wt", preset=9) if XZ else gzip.open(dst, "wt", compresslevel=9)
    with gzip.open(src, "rt") as a, out as b:
        for line in a:
            t = json.loads(line)
            if strip_conf:
                t.pop("conf", None)
            if prefix is not None:
                t = cut(t, prefix)
            b.write(json.dumps(t) + "\n")


if "--no-base" not in ARGS:
    prep_base()
if "--no-train" not in ARGS:
    prep_traces("../shared/data/traces-train.jsonl.gz", "traces-train", True, PREFIX)
    if PREFIX is not None:
        prep_traces("../shared/data/traces-train-1.5b.jsonl.gz", "traces-train-1.5b", True, PREFIX)
        prep_traces("data/train/traces-train-1.5b-extra.jsonl.gz", "traces-train-1.5b-extra", True, PREFIX)
if "--no-eval" not in ARGS:
    for name in ["traces-eval", "traces-eval-1.5b"] if PREFIX is not None else ["traces-eval"]:
        prep_traces(f"../shared/data/{name}.jsonl.gz", name, "--strip-eval" in ARGS)
os.makedirs(".carry/data", exist_ok=True)
shutil.copyfile("../shared/data/problems.jsonl", ".carry/data/problems.jsonl")
