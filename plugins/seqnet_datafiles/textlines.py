"""The `textlines` task: a TSV file of `label<TAB>text`, classified from the text's characters."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from seqnet_datafiles.linetask import LineTask
from seqnet_datafiles.records import Bad, Kinds, Record


def parse_tsv(raw: str, kinds: Kinds, first: str, targets_needed: bool = True) -> Record:
    """`label<TAB>text` (the text may hold more tabs); without targets, a line with no tab
    is all text."""
    line = raw.rstrip("\r\n")
    label, tab, text = line.partition("\t")
    if not tab:
        if targets_needed:
            raise Bad("no TAB between the label and the text")
        label, text = "", line
    if not text:
        raise Bad("the text after the TAB is empty")
    if tab and not label:
        raise Bad("the label before the TAB is empty")
    kinds.form, kinds.inputs, kinds.width = "classification", "symbols", 1
    kinds.targets, kinds.target_width = "classes", 1
    return Record(list(text), [label] if tab else None)


class TextlinesTask(LineTask):
    """Classify lines of text from their characters: a TSV file of `label<TAB>text`.

    x: (T, B) character ids below `vocab_size` = V + 1 (0 for characters training never saw),
    right-padded; y: the label's class, scored at each line's last character (softmax,
    `accuracy`).
    """

    name: ClassVar[str] = "textlines"
    parse = staticmethod(parse_tsv)
    example: ClassVar[Path] = Path(__file__).parent / "data" / "example.tsv"
    defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "model": {"cell": "gru", "hidden": 64, "layers": 1},
        "optimizer": {"name": "adam", "lr": 0.005, "clip": 1.0},
        "train": {"steps": 2000, "batch": 32, "eval_every": 100, "eval_samples": 1000},
    }
