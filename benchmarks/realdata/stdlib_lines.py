"""Lines of Python's standard library labelled with their package (`textlines`): seqnet's GRU
and LSTM read characters; against the majority class and a character n-gram model
(scikit-learn: tf-idf of 1- to 3-grams, logistic regression), on one split from `export.py`.

    python benchmarks/realdata/stdlib_lines.py DATA [--seeds 0,1,2] [--steps 3000] > results.jsonl
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HIDDEN, LR = 64, 0.005


def rows(path: Path) -> tuple[list[str], list[str]]:
    pairs = [line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines()]
    return [text for _, text in pairs], [label for label, _ in pairs]


def baselines(data: Path) -> list[dict[str, object]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    x, y = rows(data / "train.tsv")
    tx, ty = rows(data / "test.tsv")
    majority = Counter(y).most_common(1)[0][0]
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    model = LogisticRegression(max_iter=2000).fit(vectorizer.fit_transform(x), y)
    ngram = float((model.predict(vectorizer.transform(tx)) == ty).mean())
    return [
        {"model": f"majority class ({majority})", "accuracy": ty.count(majority) / len(ty)},
        {"model": "char 1-3-gram tf-idf + logistic regression", "accuracy": ngram},
    ]


def seqnet_run(data: Path, cell: str, seed: int, steps: int, out: Path) -> dict[str, object]:
    command = [
        "seqnet", "run", "textlines", "--cell", cell, "--hidden", str(HIDDEN), "--lr", str(LR),
        "--steps", str(steps), "--seed", str(seed),
        "--set", f"task.train={data / 'train.tsv'}",
        "--set", f"task.validation={data / 'validation.tsv'}",
        "--set", f"task.test={data / 'test.tsv'}",
        "--set", "train.eval_every=500", "--json", "-q", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout.splitlines()[-1])
    return {"model": f"seqnet {cell}", "seed": seed, "steps": steps,
            "accuracy": summary["accuracy"], "seconds": summary["seconds"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args()
    data = args.data / "stdlib"
    for row in baselines(data):
        print(json.dumps(row), flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        for seed in map(int, args.seeds.split(",")):
            for cell in ("gru", "lstm"):
                out = Path(scratch) / f"{cell}-{seed}"
                print(json.dumps(seqnet_run(data, cell, seed, args.steps, out)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
