"""The contracts every plugin meets: Layer, Cell, Task, Optimizer, and the plain data they pass.

Protocols, not base classes: a plugin need not import or subclass anything from here; mypy
checks the structure. Shape letters: T time, B batch, D input, H hidden, V outputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, TypeGuard, runtime_checkable

import numpy as np
from numpy.typing import NDArray
from pydantic import ConfigDict

from seqnet.bounds import Checked

Array = NDArray[Any]
Params = dict[str, Array]
"""Parameters or gradients: name -> array. A model's are flat, with dotted names."""
Carry = tuple[Array, ...]
"""A recurrent carry, always a tuple: `(h,)` for Elman, `(h, c)` for LSTM."""
Cache = Any
"""Whatever a forward pass keeps for its backward pass; opaque to the engine."""
LossName = Literal["sigmoid_bce", "softmax_ce", "mse"]


@dataclass(frozen=True)
class Batch:
    """One batch of a task, time-major.

    x: (T, B, D) inputs. y: targets, (T, B, V) floats for `sigmoid_bce` and `mse`, (T, B)
    integer classes for `softmax_ce`. mask: (T, B), 1.0 where a step is scored, else 0.0.
    """

    x: Array
    y: Array
    mask: Array


@runtime_checkable
class Layer(Protocol):
    """A layer of a model, run on whole sequences (time-major); a recurrent one carries state.

    `init(rng, input_size) -> Params` (this layer's own parameters, short names such as `W`);
    `output_size(input_size) -> int`; `initial_carry(batch, dtype) -> Carry` (`()` when the
    layer is stateless); `forward(params, x (T, B, D), carry, rng) -> (y (T, B, H), carry_T,
    cache)`, where `rng` is None when evaluating (dropout off, deterministic) and a Generator
    when training; `backward(params, cache, dy (T, B, H), dcarry_T, input_grad=True) -> (dx
    (T, B, D) | None, dcarry_0, grads)`, where grads has the keys of `params` and dx may be
    None when `input_grad` is False (the model's first layer: its input is data).

    A layer that reads integer token ids (T, B) instead of vectors (embedding) sets the class
    attribute `reads_tokens = True`; its `input_size` is then the vocabulary size. A registered
    layer class is built from its validated `Spec` by an `__init__` decorated with
    `seqnet.spec_init(Spec)` or by a classmethod `from_spec(spec)` (see seqnet_register_layers);
    every registered cell is a layer through seqnet.CellLayer.
    """

    def init(self, rng: np.random.Generator, input_size: int) -> Params: ...

    def output_size(self, input_size: int) -> int: ...

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> Carry: ...

    def forward(
        self, params: Params, x: Array, carry: Carry, rng: np.random.Generator | None
    ) -> tuple[Array, Carry, Cache]: ...

    def backward(
        self, params: Params, cache: Cache, dy: Array, dcarry: Carry, input_grad: bool = True
    ) -> tuple[Array | None, Carry, Params]: ...


@runtime_checkable
class Cell(Protocol):
    """A recurrent layer, described by one step and its backward.

    `step(params, x_t (B, D), carry) -> (carry, h_t (B, H), cache)` and
    `step_backward(params, cache, dh_t (B, H), dcarry) -> (dx_t (B, D), dcarry_prev, grads)`,
    where `dcarry` is the gradient flowing into the carry that `step` returned and `grads` are
    this step's contribution to each parameter's gradient.

    A cell may also define whole-sequence `forward(params, x (T, B, D), carry0) ->
    (h (T, B, H), carry_T, cache)` and `backward(params, cache, dh (T, B, H), dcarry_T) ->
    (dx (T, B, D), dcarry0, grads)`; the engine uses them when present (seqnet.recurrent).
    If that `backward` also takes `input_grad: bool = True`, the engine passes `False` for the
    first layer, whose input is data, and the cell may skip dx's GEMM and return None for it.
    """

    name: ClassVar[str]
    hidden: int

    def init(self, rng: np.random.Generator, input_size: int) -> Params: ...

    def initial_carry(self, batch: int, dtype: np.dtype[Any]) -> Carry: ...

    def step(self, params: Params, x_t: Array, carry: Carry) -> tuple[Carry, Array, Cache]: ...

    def step_backward(
        self, params: Params, cache: Cache, dh_t: Array, dcarry: Carry
    ) -> tuple[Array, Carry, Params]: ...


@runtime_checkable
class SizedCarry(Protocol):
    """Optional cell method: a fresh carry for a sequence of `steps` steps.

    A cell whose carry holds a memory that should grow with the input (a stack, a tape) defines
    `initial_carry_for(batch, dtype, steps)`; the model calls it instead of `initial_carry`
    whenever it starts a sequence from zero, so a run evaluated on longer inputs gets a larger
    memory with the same parameters. `initial_carry` still gives the carry of a default size.
    """

    def initial_carry_for(self, batch: int, dtype: np.dtype[Any], steps: int) -> Carry: ...


def sized_carry(cell: object) -> TypeGuard[SizedCarry]:
    """Whether `cell` has `initial_carry_for` (the `SizedCarry` method), without isinstance: a
    runtime-checkable Protocol's isinstance walks the protocol's members on every call (~7 µs,
    more than a small model's whole forward step spends outside numpy)."""
    return callable(getattr(cell, "initial_carry_for", None))


class Task(Protocol):
    """A sequence task: a data stream, a loss, metrics, and examples a person can read.

    `target_metric` names the metric that says the task is solved (reaching
    `TrainSpec.target` on held-out data stops training). `defaults` is a partial run spec
    (model, optimizer and train sections) that `seqnet run <task>` starts from.

    Optional: `heldout(rng, batch) -> Batch`, data the task never trains on (charlm: windows of
    the file's tail); the engine evaluates on it instead of on `sample` when a task has one.
    """

    name: ClassVar[str]
    loss: ClassVar[LossName]
    target_metric: ClassVar[str]
    defaults: ClassVar[dict[str, dict[str, Any]]]

    @property
    def input_size(self) -> int: ...

    @property
    def output_size(self) -> int: ...

    def sample(self, rng: np.random.Generator, batch: int) -> Batch: ...

    def metrics(self, outputs: Array, batch: Batch) -> dict[str, float]: ...

    def examples(self, outputs: Array, batch: Batch, count: int) -> list[str]: ...


@runtime_checkable
class Predicting(Protocol):
    """Optional task methods behind `seqnet predict` and `seqnet eval` (checked with isinstance).

    `parse(args)` turns the words a user typed (`["12345", "67890"]`) into a Batch (the targets
    may be zeros) and raises ValueError with a one-line message on bad input; `format(outputs,
    batch)` gives one line per sequence (`"80235"`). A task that can be scored at other lengths
    also sets the class attribute `length_option` to the name of its length option (binadd:
    `"bits"`) and keeps its validated options in `spec`; an option `<length_option>_min`
    (`bits_min`, 0 when off) draws training lengths per batch from a range. `step_rows(batch)`
    may return named (T, B) rows (binadd: a, b, carry, sum) that `seqnet plot` draws above the
    hidden activations.
    """

    def parse(self, args: list[str]) -> Batch: ...

    def format(self, outputs: Array, batch: Batch) -> list[str]: ...


@runtime_checkable
class FileData(Protocol):
    """Optional task methods of a task that reads a user's files (checked with isinstance).

    `seed_option` names the option that seeds the split into parts; the engine fills it with
    `train.seed` when a spec leaves it null. `derived()` gives the options the task derived from
    its training data (a vocabulary, normalisation statistics, the seed): the engine writes them
    into the run's spec, so that `eval`, `predict` and `resume` rebuild the same task without
    deriving anything again. `test(rng, count)` is the data of the final score (the test part).
    `read(path, batch, targets)` yields the sequences of a file in the task's own form, in order,
    `batch` at a time (path None: the test part), in a stream; with `targets=False` a file may
    leave the targets out (to predict). Metrics over many batches add up
    exactly: `totals(outputs, batch)` are sums, `finish(totals)` turns summed totals into the
    metrics. `predictions(outputs, batch)` gives one JSON-able object per sequence.
    """

    seed_option: ClassVar[str]

    def derived(self) -> dict[str, Any]: ...

    def test(self, rng: np.random.Generator, count: int) -> Batch: ...

    def read(self, path: Path | None, batch: int, targets: bool = True) -> Iterator[Batch]: ...

    def totals(self, outputs: Array, batch: Batch) -> dict[str, float]: ...

    def finish(self, totals: dict[str, float]) -> dict[str, float]: ...

    def predictions(self, outputs: Array, batch: Batch) -> list[dict[str, Any]]: ...


class Optimizer(Protocol):
    """Updates parameters in place from gradients; the one place where arrays change."""

    name: ClassVar[str]

    def step(self, params: Params, grads: Params) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class PluginSpec(Checked):
    """A convenient base for a plugin's nested `Spec`: unknown options are errors."""

    # In model_config, not as class keywords: a type checker without pydantic's plugin reads
    # class keywords through dataclass_transform and then calls every plugin's `class
    # Spec(PluginSpec)` a non-frozen dataclass inheriting from a frozen one.
    model_config = ConfigDict(extra="forbid", frozen=True)
