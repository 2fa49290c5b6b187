"""The `sequences` task: JSON Lines of labelled sequences, classified sequences, or sequences
to read and then write."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from seqnet_datafiles.linetask import LineTask
from seqnet_datafiles.records import parse_json


class SequencesTask(LineTask):
    """Your sequences from a JSON Lines file: labelling, classification or read-then-write.

    One JSON object per line, in one of three forms (found from the first line):
    `{"input": [...], "target": [...]}` (a target per step), `{"input": [...], "label": k}`
    (scored at the last step), `{"input": [...], "output": [...]}` (written after the input).
    Inputs are numbers, vectors or symbols (token ids, 0 for symbols training never saw);
    targets are classes (strings or integers: softmax cross-entropy, `accuracy`) or numbers
    (MSE, `skill` against the training mean). x: (T, B, D), or ids (T, B) below `vocab_size`
    for symbols, right-padded; mask: scored steps.
    """

    name: ClassVar[str] = "sequences"
    parse = staticmethod(parse_json)
    example: ClassVar[Path] = Path(__file__).parent / "data" / "example.jsonl"
    defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "model": {"cell": "lstm", "hidden": 64, "layers": 1},
        "optimizer": {"name": "adam", "lr": 0.01, "clip": 1.0},
        "train": {"steps": 2000, "batch": 32, "eval_every": 100, "eval_samples": 1000},
    }
