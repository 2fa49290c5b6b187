"""The plugin contract: the pluggy hooks a seqnet plugin may implement.

A plugin is a module (or any object) named by an entry point in the group `seqnet`, e.g. in its
pyproject.toml::

    [project.entry-points.seqnet]
    my_dist_name = "my_package"

seqnet imports it, registers it with pluggy under the entry point's name, and calls each hook
below once per plugin, when the registry is first built (the first time a command or
`seqnet.registry()` needs one). Implement a hook with the `seqnet.hookimpl` marker; the hook
names are checked when the plugin loads, so a misspelled one is an error, not silence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("seqnet")

Register = Callable[[type[Any]], None]
"""What each `seqnet_register_*` hook receives: call it once per class to register."""


@hookspec
def seqnet_register_tasks(register: Register) -> None:
    """Register task classes.

    Called once per plugin when the registry is built. Call ``register(cls)`` for each task
    class. The class needs: a unique ``name`` (str, class attribute), a nested pydantic
    ``Spec`` model of its options (use ``extra="forbid"`` so typos are errors), a constructor
    taking those options as keywords (``cls(**options)``), and the members of
    :class:`seqnet.interfaces.Task` (``loss``, ``target_metric``, ``defaults``, ``input_size``,
    ``output_size``, ``sample``, ``metrics``, ``examples``). The first line of its docstring is
    the description ``seqnet plugins`` shows.

    A name already registered by any plugin (this one included) is an error that names both
    providers; nothing is silently replaced.

    Example::

        @seqnet.hookimpl
        def seqnet_register_tasks(register):
            register(ReverseTask)
    """


@hookspec
def seqnet_register_cells(register: Register) -> None:
    """Register recurrent cell classes.

    Called once per plugin when the registry is built. Call ``register(cls)`` for each cell
    class. The class needs: a unique ``name``, a nested pydantic ``Spec`` whose fields include
    ``hidden`` (the engine passes ``model.hidden`` and the other ``model`` options not its own),
    a constructor ``cls(**options)``, and the members of :class:`seqnet.interfaces.Cell`
    (``init``, ``initial_carry``, ``step``, ``step_backward``; optionally whole-sequence
    ``forward`` and ``backward`` for speed). Check it with :mod:`seqnet.testing`.

    Duplicate names are errors naming both providers.
    """


@hookspec
def seqnet_register_optimizers(register: Register) -> None:
    """Register optimizer classes.

    Called once per plugin when the registry is built. Call ``register(cls)`` for each
    optimizer class. The class needs a unique ``name``, a nested pydantic ``Spec`` of its
    options (which must include ``lr``, the target of ``--lr``), a constructor
    ``cls(**options)``, and :class:`seqnet.interfaces.Optimizer`'s ``step(params, grads)``
    (update in place), ``state_dict()`` and ``load_state_dict(state)``.

    Duplicate names are errors naming both providers.
    """
