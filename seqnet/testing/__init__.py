"""The conformance kit, shared by seqnet's tests and plugin authors' tests.

`gradients`: the float64 gradient checker and the cell checks. Import from here.
"""

from seqnet.testing.gradients import (
    TOLERANCE,
    check_cell_gradients,
    check_gradients,
    check_sequence_matches_steps,
    numeric_gradient,
    random_problem,
    relative_error,
)

__all__ = [
    "TOLERANCE",
    "check_cell_gradients",
    "check_gradients",
    "check_sequence_matches_steps",
    "numeric_gradient",
    "random_problem",
    "relative_error",
]
