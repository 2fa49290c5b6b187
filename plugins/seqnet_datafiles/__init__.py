"""Tasks that read a user's data files: `sequences` (JSON Lines), `timeseries` (CSV) and
`textlines` (TSV), registered through the `seqnet` entry points."""

from __future__ import annotations

import seqnet
from seqnet_datafiles.sequences import SequencesTask
from seqnet_datafiles.textlines import TextlinesTask
from seqnet_datafiles.timeseries import TimeseriesTask

__all__ = ["SequencesTask", "TextlinesTask", "TimeseriesTask"]


@seqnet.hookimpl
def seqnet_register_tasks(register: seqnet.Register) -> None:
    register(SequencesTask)
    register(TimeseriesTask)
    register(TextlinesTask)
