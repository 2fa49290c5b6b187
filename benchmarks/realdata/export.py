"""Export three data sets that no one here made to files seqnet reads (scikit-learn and
statsmodels are needed here only, never by seqnet): `python benchmarks/realdata/export.py OUT`.

- digits/{train,validation,test}.jsonl: scikit-learn's 1,797 handwritten digits (8×8), each
  read as 8 steps of 8 pixels scaled to [0, 1], labelled 0-9; one fixed split (60/20/20 %,
  numpy seed 0) shared by every model compared.
- sunspots.csv: statsmodels' yearly sunspot numbers, 1700-2008 (`year,sunspots`).
- stdlib.tsv: lines of Python's standard-library source, labelled with their top-level package;
  stdlib/{train,validation,test}.tsv: one fixed split of it (80/10/10 %).
"""

from __future__ import annotations

import argparse
import json
import sysconfig
from pathlib import Path

import numpy as np

PACKAGES = ("asyncio", "email", "json", "unittest", "xml", "http")
LINES_PER_PACKAGE = 1500


def digits(out: Path) -> None:
    from sklearn.datasets import load_digits

    data = load_digits()
    images = data.images / 16.0  # (N, 8, 8): row t is step t
    order = np.random.default_rng(0).permutation(len(images))
    n_val = n_test = round(0.2 * len(images))
    parts = {"test": order[:n_test], "validation": order[n_test : n_test + n_val],
             "train": order[n_test + n_val :]}  # fmt: skip
    (out / "digits").mkdir(parents=True, exist_ok=True)
    for name, index in parts.items():
        with (out / "digits" / f"{name}.jsonl").open("w") as f:
            for i in index:
                rows = [[round(float(v), 4) for v in row] for row in images[i]]
                f.write(json.dumps({"input": rows, "label": int(data.target[i])}) + "\n")


def sunspots(out: Path) -> None:
    import statsmodels.api as sm

    frame = sm.datasets.sunspots.load_pandas().data
    with (out / "sunspots.csv").open("w") as f:
        f.write("year,sunspots\n")
        for year, value in zip(frame["YEAR"], frame["SUNACTIVITY"], strict=True):
            f.write(f"{int(year)},{value}\n")


def stdlib(out: Path) -> None:
    """Non-blank lines (stripped, 2 to 80 characters, no tabs) of each package's .py files,
    LINES_PER_PACKAGE of each drawn at random (numpy seed 0), shuffled."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    rng = np.random.default_rng(0)
    rows = []
    for package in PACKAGES:
        lines = []
        for path in sorted((lib / package).rglob("*.py")):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                line = line.strip()
                if 2 <= len(line) <= 80 and "\t" not in line:
                    lines.append(line)
        pick = rng.choice(len(lines), size=min(LINES_PER_PACKAGE, len(lines)), replace=False)
        rows += [f"{package}\t{lines[i]}" for i in sorted(pick)]
    order = rng.permutation(len(rows))
    (out / "stdlib.tsv").write_text("".join(rows[i] + "\n" for i in order), encoding="utf-8")
    # one fixed split (80/10/10 %), shared by seqnet and the baselines
    n_val = n_test = round(0.1 * len(rows))
    parts = {"test": order[:n_test], "validation": order[n_test : n_test + n_val],
             "train": order[n_test + n_val :]}  # fmt: skip
    (out / "stdlib").mkdir(exist_ok=True)
    for name, index in parts.items():
        text = "".join(rows[i] + "\n" for i in index)
        (out / "stdlib" / f"{name}.tsv").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("data"), help="folder to write")
    target = parser.parse_args().out
    target.mkdir(parents=True, exist_ok=True)
    digits(target)
    sunspots(target)
    stdlib(target)
    print(f"wrote {target}/digits/*.jsonl, {target}/sunspots.csv, {target}/stdlib[/*].tsv")
