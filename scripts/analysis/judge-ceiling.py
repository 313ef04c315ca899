#!/usr/bin/env python3
"""What does the pair label reward, and how much of it can a prefix tell? (issue 3)

Two parts, both on every same-problem pair of the eval traces (the pairs `judge eval` scores):

1. Scores built from reference labels (not judges; they bound what kinds of knowledge pay):
   problem rate     the problem's true same-answer rate (knows only which problems are easy)
   both valid       1 when both traces end with an answer (answer_class >= 0)
   both correct     both traces correct, plus half a point when both merely have an answer
   answer share     product of each trace's share of the problem's other traces with its answer

2. A per-trace text model with no pair features at all: TF-IDF of word uni- and bigrams of
   each trace's first K generator tokens, a logistic regression trained on the training traces
   to predict `correct` (or `answer_class >= 0`), and the product of the two traces'
   probabilities as the pair's score. A third row adds three statistics of the prefix's DeepConf
   token confidence (`conf`: mean, minimum, mean of the last 32 tokens) to the features. If this matches the cross-encoder judge, the judge has
   learned how a trace looks when it is going well, not whether two traces agree.

Prints pooled and within-problem AUROC (the mean per-problem AUROC weighted by pairs, over
problems with both labels), as `deepprune judge eval` computes them.

Needs numpy, scipy and scikit-learn (pip install numpy scikit-learn); CI does not run it.
Usage: python3 scripts/analysis/judge-ceiling.py TRAIN.jsonl.gz EVAL.jsonl.gz K [K ...]
"""
import base64, collections, gzip, json, sys

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score


def load(path):
    by = collections.defaultdict(list)
    with gzip.open(path, "rt") as f:
        for line in f:
            t = json.loads(line)
            t["tb"] = np.frombuffer(base64.b64decode(t["tok_bytes"]), dtype=np.uint8)
            t["cf"] = np.frombuffer(base64.b64decode(t["conf"]), dtype=np.uint8) / 10.0
            by[t["pid"]].append(t)
    for ts in by.values():
        ts.sort(key=lambda t: t["sample"])
    return by


def prefix(t, k):
    data = t["text"].encode()
    return data[: int(t["tb"][:k].sum())].decode("utf-8", "replace")


def pairs(by):
    """(pid, i, j, same) for every same-problem pair, i < j."""
    out = []
    for pid, ts in by.items():
        for i in range(len(ts)):
            for j in range(i + 1, len(ts)):
                a, b = ts[i]["answer_class"], ts[j]["answer_class"]
                out.append((pid, i, j, a == b and a >= 0))
    return out


def metrics(scores, ps):
    y = np.array([p[3] for p in ps])
    s = np.asarray(scores, dtype=float)
    pooled = roc_auc_score(y, s)
    groups = collections.defaultdict(list)
    for k, p in enumerate(ps):
        groups[p[0]].append(k)
    num = den = 0.0
    for idx in groups.values():
        yy = y[idx]
        if 0 < yy.sum() < len(yy):
            num += roc_auc_score(yy, s[idx]) * len(idx)
            den += len(idx)
    return pooled, num / den


def show(name, scores, ps):
    pooled, within = metrics(scores, ps)
    print(f"  {name:<46} {pooled:>12.3f} {within:>20.3f}")


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    train, ev = load(sys.argv[1]), load(sys.argv[2])
    ks = [int(k) for k in sys.argv[3:]]
    ps = pairs(ev)
    y = np.array([p[3] for p in ps])
    print(f"{len(ps)} eval pairs, same-answer rate {y.mean():.3f}")
    print("reference labels (bounds, not judges)")
    print(f"  {'score':<46} {'pooled AUROC':>12} {'within-problem AUROC':>20}")
    rate = collections.defaultdict(list)
    for p in ps:
        rate[p[0]].append(p[3])
    show("problem rate", [np.mean(rate[p[0]]) for p in ps], ps)
    tr = lambda p, k: ev[p[0]][p[k]]
    valid = lambda t: t["answer_class"] >= 0
    show("both valid", [valid(tr(p, 1)) and valid(tr(p, 2)) for p in ps], ps)
    show("both correct", [(tr(p, 1)["correct"] and tr(p, 2)["correct"]) + 0.5 * (valid(tr(p, 1)) and valid(tr(p, 2))) for p in ps], ps)
    share = {}
    for pid, ts in ev.items():
        classes = collections.Counter(t["answer_class"] for t in ts)
        for i, t in enumerate(ts):
            c = t["answer_class"]
            share[(pid, i)] = 0.0 if c < 0 else (classes[c] - 1) / (len(ts) - 1)
    show("answer share", [share[(p[0], p[1])] * share[(p[0], p[2])] for p in ps], ps)

    flat = lambda by: [t for ts in by.values() for t in ts]
    ft, fe = flat(train), flat(ev)
    index = {(t["pid"], i): n for n, (t, i) in enumerate((t, i) for ts in ev.values() for i, t in enumerate(ts))}
    for k in ks:
        print(f"per-trace TF-IDF logistic regression, first {k} tokens (trained on {len(ft)} training traces)")
        print(f"  {'score':<46} {'pooled AUROC':>12} {'within-problem AUROC':>20}")
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=3, max_features=200_000, sublinear_tf=True)
        xt = vec.fit_transform([prefix(t, k) for t in ft])
        xe = vec.transform([prefix(t, k) for t in fe])
        for target, label in [("correct", lambda t: bool(t["correct"])), ("has an answer", valid)]:
            model = LogisticRegression(C=1.0, max_iter=3000).fit(xt, [label(t) for t in ft])
            prob = model.predict_proba(xe)[:, 1]
            trace_auc = roc_auc_score([label(t) for t in fe], prob)
            score = [prob[index[(p[0], p[1])]] * prob[index[(p[0], p[2])]] for p in ps]
            show(f"P({target}) product (trace AUROC {trace_auc:.3f})", score, ps)
        conf = lambda ts: csr_matrix([[t["cf"][:k].mean(), t["cf"][:k].min(), t["cf"][:k][-32:].mean()] for t in ts])
        xt, xe = hstack([xt, conf(ft)]).tocsr(), hstack([xe, conf(fe)]).tocsr()
        model = LogisticRegression(C=1.0, max_iter=3000).fit(xt, [bool(t["correct"]) for t in ft])
        prob = model.predict_proba(xe)[:, 1]
        trace_auc = roc_auc_score([bool(t["correct"]) for t in fe], prob)
        score = [prob[index[(p[0], p[1])]] * prob[index[(p[0], p[2])]] for p in ps]
        show(f"+ confidence: P(correct) (trace {trace_auc:.3f})", score, ps)


if __name__ == "__main__":
    main()
