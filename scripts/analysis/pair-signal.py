#!/usr/bin/env python3
"""Two pair-signal checks on the shared traces, from the repository root:
- the pooled AUROC of scoring every pair by its problem's true same-answer rate (a difficulty
  oracle that never compares two prefixes), per traces file;
- the pooled and within-problem AUROC of the word/number Jaccard of two K-token prefixes on
  traces-eval-1.5b.
usage: scripts/analysis/pair-signal.py [K ...]   (default 64 128 256)"""
import base64, collections, gzip, itertools, json, re, sys

D = "../shared/data"


def load(name):
    d = collections.defaultdict(list)
    for line in gzip.open(f"{D}/{name}.jsonl.gz", "rt"):
        t = json.loads(line)
        d[t["pid"]].append(t)
    return d


def same(a, b):
    return a["answer_class"] == b["answer_class"] and a["answer_class"] >= 0


def auroc(scores, labels):
    pairs = sorted(zip(scores, labels))
    n, ranks, i = len(pairs), [0.0] * len(pairs), 0
    while i < n:
        j = i
        while j < n and pairs[j][0] == pairs[i][0]:
            j += 1
        for x in range(i, j):
            ranks[x] = (i + j - 1) / 2 + 1
        i = j
    pos = sum(1 for _, y in pairs if y)
    if pos in (0, n):
        return None
    return (sum(r for r, (_, y) in zip(ranks, pairs) if y) - pos * (pos + 1) / 2) / (pos * (n - pos))


def prefix(t, k):
    lens = base64.b64decode(t["tok_bytes"])
    return t["text"].encode()[: sum(lens[:k])].decode("utf-8", "ignore")


def feats(text):
    w = re.findall(r"[A-Za-z]+|\d+(?:\.\d+)?", text.lower())
    return set(w) | set(zip(w, w[1:]))


for name in ["traces-eval-1.5b", "traces-eval"]:
    scores, labels = [], []
    for ts in load(name).values():
        ls = [same(a, b) for a, b in itertools.combinations(ts, 2)]
        scores += [sum(ls) / len(ls)] * len(ls)
        labels += ls
    print(f"{name}: difficulty oracle, pooled AUROC {auroc(scores, labels):.3f}")

data = load("traces-eval-1.5b")
for k in [int(a) for a in sys.argv[1:]] or [64, 128, 256]:
    scores, labels, within = [], [], []
    for ts in data.values():
        f = [feats(prefix(t, k)) for t in ts]
        s, l = [], []
        for i, j in itertools.combinations(range(len(ts)), 2):
            s.append(len(f[i] & f[j]) / max(1, len(f[i] | f[j])))
            l.append(same(ts[i], ts[j]))
        scores += s
        labels += l
        a = auroc(s, l)
        if a is not None:
            within.append((a, len(s)))
    w = sum(a * n for a, n in within) / sum(n for _, n in within)
    print(f"traces-eval-1.5b, {k} tokens: Jaccard pooled AUROC {auroc(scores, labels):.3f}, within-problem {w:.3f}")
