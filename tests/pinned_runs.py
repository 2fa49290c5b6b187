"""Runs the pinned specs in tests/data/pinned and records what they gave, float for float.

The numbers in tests/data/pinned/outcomes.json were written by `python -m tests.pinned_runs`
from main before issue 12 (models from layers) changed how models are built; the test in
tests/test_pinned_runs.py requires every later version to give the very same floats. Clipping
became torch's clip_grad_norm_ (clip / (norm + 1e-6)) after that: adding, charlm and copy were
written again then, and that main before issue 12 with only the clipping formula changed gives
the very same floats. A spec file goes over its task's defaults, so each pinned file states
every field (fields added later, such as binadd's `bits_min`, at the value that keeps the old
behaviour): a new default cannot reach a pinned run.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import seqnet

PINNED = Path(__file__).parent / "data" / "pinned"
OUTCOMES = PINNED / "outcomes.json"


def outcome(path: Path) -> dict[str, Any]:
    """Every logged number of the run a pinned spec describes, and its final metrics."""
    spec = seqnet.load_spec(str(path))
    result, _ = seqnet.run(spec)
    return {
        "steps": result.steps,
        "reached_target": result.reached_target,
        "metrics": result.metrics,
        "history": [
            {"step": r.step, "loss": r.loss, "grad_norm": r.grad_norm, "metrics": r.metrics}
            for r in result.history
        ],
    }


def main() -> None:
    warnings.simplefilter("error")
    names = sys.argv[1:] or sorted(p.stem for p in PINNED.glob("*.yaml"))
    found = {name: outcome(PINNED / f"{name}.yaml") for name in names}
    OUTCOMES.write_text(json.dumps(found, indent=1) + "\n")  # json writes floats by repr


if __name__ == "__main__":
    main()
