"""The fifteen tasks of "Neural Networks and the Chomsky Hierarchy" (Delétang et al., ICLR 2023).

Registered through the `seqnet` entry points; docs/tasks/chomsky.md lists them with examples.
"""

from __future__ import annotations

import seqnet
from seqnet_chomsky.cs import (
    BinaryAdditionTask,
    BinaryMultiplicationTask,
    BucketSortTask,
    ComputeSqrtTask,
    DuplicateStringTask,
    MissingDuplicateTask,
    OddsFirstTask,
)
from seqnet_chomsky.dcf import (
    ModularArithmeticTask,
    ReverseStringTask,
    SolveEquationTask,
    StackManipulationTask,
)
from seqnet_chomsky.layout import LayoutTask
from seqnet_chomsky.regular import (
    CycleNavigationTask,
    EvenPairsTask,
    ModularArithmeticSimpleTask,
    ParityCheckTask,
)

REGULAR: tuple[type[LayoutTask], ...] = (
    EvenPairsTask,
    ModularArithmeticSimpleTask,
    ParityCheckTask,
    CycleNavigationTask,
)
CONTEXT_FREE: tuple[type[LayoutTask], ...] = (
    StackManipulationTask,
    ReverseStringTask,
    ModularArithmeticTask,
    SolveEquationTask,
)
CONTEXT_SENSITIVE: tuple[type[LayoutTask], ...] = (
    DuplicateStringTask,
    MissingDuplicateTask,
    OddsFirstTask,
    BinaryAdditionTask,
    BinaryMultiplicationTask,
    ComputeSqrtTask,
    BucketSortTask,
)
LEVELS: dict[str, tuple[type[LayoutTask], ...]] = {
    "regular": REGULAR,
    "context-free": CONTEXT_FREE,
    "context-sensitive": CONTEXT_SENSITIVE,
}
"""The tasks by level of the hierarchy, in the paper's order (its Table 2)."""

__all__ = [
    "CONTEXT_FREE",
    "CONTEXT_SENSITIVE",
    "LEVELS",
    "REGULAR",
    "BinaryAdditionTask",
    "BinaryMultiplicationTask",
    "BucketSortTask",
    "ComputeSqrtTask",
    "CycleNavigationTask",
    "DuplicateStringTask",
    "EvenPairsTask",
    "LayoutTask",
    "MissingDuplicateTask",
    "ModularArithmeticSimpleTask",
    "ModularArithmeticTask",
    "OddsFirstTask",
    "ParityCheckTask",
    "ReverseStringTask",
    "SolveEquationTask",
    "StackManipulationTask",
]


@seqnet.hookimpl
def seqnet_register_tasks(register: seqnet.Register) -> None:
    for level in LEVELS.values():
        for task in level:
            register(task)
