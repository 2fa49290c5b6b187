"""The conformance kit, shared by seqnet's tests and plugin authors' tests.

`gradients`: the float64 gradient checker; `cells`: the cell conformance kit. `tasks`: the task
conformance kit; `layers` and `optimizers`: the layer and optimizer conformance kits;
`signatures`: a plugin's constructor against its Spec. Import from here.
"""

from seqnet.testing.cells import (
    SHAPES,
    check_cell,
    check_cell_gradients,
    check_deterministic,
    check_float32,
    check_input_grad_skip,
    check_kernels_agree,
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
from seqnet.testing.layers import (
    LAYER_SHAPES,
    check_from_spec,
    check_halves,
    check_layer,
    check_layer_deterministic,
    check_layer_float32,
    check_layer_gradients,
    check_layer_input_grad_skip,
    layer_problem,
)
from seqnet.testing.optimizers import (
    check_optimizer,
    check_optimizer_float32,
    check_optimizer_in_place,
    check_optimizer_resume,
    check_optimizer_state_dict,
    check_state_types,
    optimizer_variants,
)
from seqnet.testing.signatures import check_signature
from seqnet.testing.tasks import CONFIDENT, check_task, perfect_outputs, wrong_outputs

__all__ = [
    "CONFIDENT",
    "LAYER_SHAPES",
    "SHAPES",
    "TOLERANCE",
    "check_cell",
    "check_cell_gradients",
    "check_deterministic",
    "check_float32",
    "check_from_spec",
    "check_gradients",
    "check_halves",
    "check_input_grad_skip",
    "check_kernels_agree",
    "check_layer",
    "check_layer_deterministic",
    "check_layer_float32",
    "check_layer_gradients",
    "check_layer_input_grad_skip",
    "check_optimizer",
    "check_optimizer_float32",
    "check_optimizer_in_place",
    "check_optimizer_resume",
    "check_optimizer_state_dict",
    "check_sequence_matches_steps",
    "check_signature",
    "check_stacked_gradients",
    "check_state_types",
    "check_task",
    "layer_problem",
    "numeric_gradient",
    "optimizer_variants",
    "option_variants",
    "perfect_outputs",
    "random_problem",
    "relative_error",
    "wrong_outputs",
]
