"""The plugin contract: the pluggy hooks a seqnet plugin may implement.

A plugin is a module (or any object) named by an entry point in the group `seqnet`, e.g. in its
pyproject.toml::

    [project.entry-points.seqnet]
    seqnet-reverse = "seqnet_reverse"

The entry point's name (here `seqnet-reverse`; third parties use their distribution name) is the
plugin's name: `seqnet plugins` shows it, and SEQNET_DISABLE_PLUGINS=seqnet-reverse or
`seqnet --disable-plugin seqnet-reverse ...` skips the plugin without importing it.

When the registry is first built (the first time a command, `seqnet.load_registry()` or
`seqnet.run()` needs one), seqnet imports each plugin, registers it with pluggy under its name
and calls each hook below that the plugin implements, exactly once. Implement a hook with the
`seqnet.hookimpl` marker; the hook names are checked when the plugin loads.

A plugin is loaded whole or skipped whole. It is skipped, with one `seqnet.PluginWarning` that
names it and its distribution (the CLI prints it as one `warning:` line), when its import
raises, a hook raises, a hook registers a class that does not meet its contract, a function
named `seqnet_register...` lacks the `@seqnet.hookimpl` marker, a marked function's name is not
one of these hooks, or it implements no hook at all. `seqnet plugins` lists it as failed, with
the reason. Under SEQNET_STRICT_PLUGINS=1 the first such plugin is an error instead (exit 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("seqnet")

Register = Callable[[type[Any]], None]
"""What each `seqnet_register_*` hook receives: call it once per class to register.

`register(cls)` checks the class against its kind's contract at once (see each hook); a class
that fails makes the whole plugin skipped, with the reason. It returns nothing.
"""


@hookspec
def seqnet_register_tasks(register: Register) -> None:
    """Register task classes: call ``register(cls)`` once for each.

    Called once per plugin when the registry is built. A task class needs, on the class:

    - ``name``: a unique string class attribute, the name used in specs and on the command line
      (``seqnet run reverse``); letters, digits, ``_``, ``.`` and ``-``.
    - ``Spec``: a nested pydantic model of the task's options, subclassing
      :class:`seqnet.PluginSpec` (or setting ``extra="forbid"``) so a misspelled option is an
      error. Give every field a default, so that ``seqnet run NAME`` starts.
    - ``loss``: ``"sigmoid_bce"``, ``"softmax_ce"`` or ``"mse"``.
    - ``target_metric``: the name of the metric that says the task is solved: higher is better,
      at most 1.0, and 1.0 when every output is right (an accuracy, or R²).
    - ``defaults``: a partial run spec that ``seqnet run NAME`` starts from, e.g.
      ``{"model": {"cell": "elman", "hidden": 32}, "train": {"steps": 2000}}``; may be ``{}``.
    - the methods of :class:`seqnet.Task`: ``sample(rng, batch) -> Batch``,
      ``metrics(outputs, batch) -> dict``, ``examples(outputs, batch, count) -> list[str]``;
      and ``input_size`` and ``output_size`` (properties or attributes of an instance).
    - a constructor taking the ``Spec`` fields as keywords: ``__init__(self, spec)`` decorated
      with :func:`seqnet.spec_init` (the engine hands it the validated ``Spec``; code calls
      ``cls(bits=8)``), or a classmethod ``from_spec(spec)`` beside a keyword constructor.

    The first line of the class docstring is the description ``seqnet plugins`` shows. Check a
    task with :func:`seqnet.testing.check_task`.

    A name already registered by another plugin is an error that names both providers (skip
    one of them with ``--disable-plugin``); nothing is silently replaced. Registering the same
    name twice in one plugin makes that plugin skipped.

    Example::

        @seqnet.hookimpl
        def seqnet_register_tasks(register: seqnet.Register) -> None:
            register(ReverseTask)
    """


@hookspec
def seqnet_register_cells(register: Register) -> None:
    """Register recurrent cell classes: call ``register(cls)`` once for each.

    Called once per plugin when the registry is built. A cell class needs a unique ``name``, a
    nested ``Spec`` (a :class:`seqnet.PluginSpec`) with a ``hidden`` field (every field of it is
    a ``model`` option of the shorthand, ``model.hidden``, ``model.activation``, validated by
    this Spec alone; choosing another cell keeps ``hidden``), a constructor made by
    :func:`seqnet.spec_init` that sets ``self.hidden`` (``ElmanCell(hidden=16)``), and the
    methods of :class:`seqnet.Cell`: ``init``, ``initial_carry``, ``step``,
    ``step_backward``; optionally whole-sequence ``forward`` and ``backward`` for speed. Check it
    with :func:`seqnet.testing.check_cell_gradients` and
    :func:`seqnet.testing.check_sequence_matches_steps`.

    Duplicate names across plugins are errors naming both providers.

    Example::

        @seqnet.hookimpl
        def seqnet_register_cells(register: seqnet.Register) -> None:
            register(IndRNNCell)
    """


@hookspec
def seqnet_register_layers(register: Register) -> None:
    """Register layer classes, the parts a model is a list of: call ``register(cls)`` for each.

    Called once per plugin when the registry is built. Every registered cell is a layer too,
    under its own name (``{type: lstm, hidden: 64, reverse: true}``), so a layer may not take
    a cell's name: that is an error naming both providers. A layer class needs:

    - ``name``: a unique class attribute (letters, digits, ``_``, ``.``, ``-``): the ``type``
      of a layer in a spec's ``model.layers`` list (``{type: dense, units: 32}``).
    - ``Spec``: a nested :class:`seqnet.PluginSpec` of its options; no field may be called
      ``type``. A layer section of a spec file is validated by it, once, with the rest of the
      spec; an option it does not declare is an error.
    - a way to build it from its validated ``Spec`` without validating it again (the engine's
      path): ``__init__(self, spec)`` decorated with :func:`seqnet.spec_init`, which also gives
      code the keyword constructor ``Dense(units=32, activation="relu")``; or a classmethod
      ``from_spec(spec)``. The instance either gets may be of a subclass of ``Spec`` that adds
      ``type``.
    - the methods of :class:`seqnet.Layer`: ``init(rng, input_size)``,
      ``output_size(input_size)``, ``initial_carry(batch, dtype)`` (``()`` when stateless),
      ``forward(params, x, carry, rng)`` and ``backward(params, cache, dy, dcarry,
      input_grad=True)``. ``params`` are the layer's own, with short dotted names; the model
      prefixes them (``layers.3.W``). A layer made of other layers builds them with
      :func:`seqnet.build_layer` and names their parameters with a dotted prefix
      (``fwd.W_h``).
    - optionally ``reads_tokens = True`` for a layer that reads integer token ids (T, B)
      (embedding); it may only come first, and a task's ``vocab_size`` is its input size.

    The contract is checked once, here. Check the maths with :func:`seqnet.testing.check_layer`.

    Example::

        @seqnet.hookimpl
        def seqnet_register_layers(register: seqnet.Register) -> None:
            register(CausalConv)
    """


@hookspec
def seqnet_register_optimizers(register: Register) -> None:
    """Register optimizer classes: call ``register(cls)`` once for each.

    Called once per plugin when the registry is built. An optimizer class needs a unique
    ``name``, a nested ``Spec`` (a :class:`seqnet.PluginSpec`) with an ``lr`` field (the target
    of ``--lr``), a constructor made by :func:`seqnet.spec_init` (``Adam(lr=0.01)``), and the
    methods of
    :class:`seqnet.Optimizer`: ``step(params, grads)`` (update in place),
    ``state_dict()`` and ``load_state_dict(state)``.

    Duplicate names across plugins are errors naming both providers.

    Example::

        @seqnet.hookimpl
        def seqnet_register_optimizers(register: seqnet.Register) -> None:
            register(Lion)
    """


@hookspec
def seqnet_register_engines(register: Register) -> None:
    """Register sweep engines, the places `seqnet sweep` runs its runs: ``register(cls)`` each.

    Called once per plugin when the registry is built. ``seqnet sweep --engine NAME`` picks an
    engine; the built-in ``process`` (a local process pool) and ``dask`` (Dask distributed) are
    registered by ``seqnet.sweep.engines`` through this same hook. An engine class needs:

    - ``name``: a unique class attribute (letters, digits, ``_``, ``.``, ``-``).
    - ``Spec``: a nested :class:`seqnet.PluginSpec` of its options, all with defaults. The
      command line fills them from ``--workers N`` (``workers``), ``--scheduler ADDRESS``
      (``scheduler``) and ``--engine-opt KEY=VALUE``; an option the ``Spec`` does not have is an
      error naming it. A constructor made by :func:`seqnet.spec_init` (``__init__(self,
      spec)``), or a classmethod ``from_spec(spec)``, or one taking the fields as keywords.
    - ``executor()``: a context manager yielding a :class:`concurrent.futures.Executor`. The
      sweep submits ``seqnet.sweep.runner.execute`` with one picklable job per run and reads the
      futures; a run's own errors come back as a failed result, so an exception from a future
      means the run's worker was lost (the run is rerun, alone). Leaving the block
      normally shuts the executor down; leaving it with an exception (Ctrl-C) must stop the
      runs still running without waiting for them. An executor may break
      (:class:`concurrent.futures.BrokenExecutor`); the sweep then leaves the block and enters
      a fresh ``executor()``.
    - ``slots()``: called inside the block, how many runs to keep in flight at once (e.g. the
      number of worker processes).

    Results never depend on the engine: each run's numbers come from its spec alone.

    Duplicate names across plugins are errors naming both providers.

    Example::

        @seqnet.hookimpl
        def seqnet_register_engines(register: seqnet.Register) -> None:
            register(RayEngine)
    """
