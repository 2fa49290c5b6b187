"""The conformance kit, shared by seqnet's tests and plugin authors' tests.

`gradients`: the float64 gradient checker; `cells`: the cell conformance kit. Import from here.
"""

from seqnet.testing.cells import (
    SHAPES,
    check_cell,
    check_cell_gradients,
    check_deterministic,
    check_float32,
    check_sequence_matches_steps,
    check_stacked_gradients,
    option_variants,
    random_problem,
)
from seqnet.testing.gradients import (
    TOLERANCE,
    check_gradients,
    numeric_gradient,
    relative_error,
)

__all__ = [
    "SHAPES",
    "TOLERANCE",
    "check_cell",
    "check_cell_gradients",
    "check_deterministic",
    "check_float32",
    "check_gradients",
    "check_sequence_matches_steps",
    "check_stacked_gradients",
    "numeric_gradient",
    "option_variants",
    "random_problem",
    "relative_error",
]
