"""From a spec to a run: build the task, model and optimizer a spec names, then train.

This is the one library call behind `seqnet run`; everything the CLI does can be done here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqnet import defaults, memory, spec_files, specs
from seqnet.callbacks import metric_mode
from seqnet.errors import SpecError
from seqnet.interfaces import FileData, Layer, Optimizer, Task
from seqnet.layers import build_layer
from seqnet.model import Sequential, layer_name, reads_tokens, stacked
from seqnet.overrides import apply_overrides, parse_override
from seqnet.plugins import default_registry
from seqnet.registry import Registry
from seqnet.signatures import from_spec
from seqnet.specs import LayerListSection, RunSpec, StackSection
from seqnet.training import Result, train

SPEC_SUFFIXES = {".yaml", ".yml", ".json", ".toml"}


@dataclass
class Parts:
    task: Task
    model: Sequential
    optimizer: Optimizer


def build(spec: RunSpec, registry: Registry | None = None) -> Parts:
    """Instantiate what a resolved spec names, each plugin class from its own options."""
    registry = registry or default_registry()
    task_cls = registry.get("task", spec.task.name).cls
    task_spec = spec.plugin_spec("task", task_cls)
    seed_option = getattr(task_cls, "seed_option", None)  # a FileData task: its split's seed
    if isinstance(seed_option, str) and getattr(task_spec, seed_option, None) is None:
        task_spec = task_spec.model_copy(update={seed_option: spec.train.seed})
    task = from_spec(task_cls, task_spec)
    if isinstance(spec.model, StackSection):  # its sizes, checked before anything is allocated
        memory.check(spec, task, registry.get("cell", spec.model.cell).cls)
    layers = model_layers(spec, registry)
    if isinstance(spec.model, LayerListSection):  # the sizes, checked before allocation
        sizes = [task.input_size]
        for layer in layers:
            sizes.append(layer.output_size(sizes[-1]))
        memory.check_sizes(spec, task, sizes[1:])
    model = Sequential(layers, task.input_size, task.output_size, dtype=spec.model.dtype)
    optimizer_cls = registry.get("optimizer", spec.optimizer.name).cls
    optimizer = from_spec(optimizer_cls, spec.plugin_spec("optimizer", optimizer_cls))
    t = spec.train  # which way is better, known before anything trains
    if t.keep != "last":
        metric_mode(t.best_metric, t.best_mode, task.target_metric, "train.best_mode")
    if t.early_stop.metric is not None:
        metric_mode(t.early_stop.metric, t.early_stop.mode, task.target_metric,
                    "train.early_stop.mode")  # fmt: skip
    return Parts(task, model, optimizer)


def model_layers(spec: RunSpec, registry: Registry) -> list[Layer]:
    """The layers a resolved spec's model section describes: its list, or the shorthand's stack."""
    if isinstance(spec.model, LayerListSection):
        return [build_layer(section, registry) for section in spec.model.layers]
    cell_cls = registry.get("cell", spec.model.cell).cls
    cell = from_spec(cell_cls, spec.plugin_spec("model", cell_cls))
    return stacked(cell, spec.model.layers, spec.model.dropout)


def pin(spec: RunSpec, task: Task, registry: Registry | None = None) -> RunSpec:
    """The spec with what a FileData task derived from its training data (a vocabulary,
    statistics, the split's seed) written into its options, so that the run folder rebuilds
    the same task; other specs unchanged. Reading the data here makes a bad file fail before
    a run folder exists."""
    if not isinstance(task, FileData):
        return spec
    raw = spec.model_dump(mode="json")
    raw["task"].update(task.derived())
    return specs.resolve(raw, registry or default_registry())


def run(
    spec: RunSpec,
    registry: Registry | None = None,
    callbacks: Iterable[object] = (),
) -> tuple[Result, dict[str, Any]]:
    """Train the run a resolved spec describes, watched by `callbacks` (objects with any of
    seqnet.Callback's methods); returns the result and its summary object. No folder is
    written, so train.keep has no effect here (seqnet.KeepBest keeps the best in memory)."""
    result = train_parts(build(spec, registry), spec, callbacks=callbacks)
    return result, summary(spec, result)


def check_inputs(parts: Parts, spec: RunSpec) -> None:
    """A SpecError if the model's first layer reads token ids and the task gives vectors: the
    run would fail at its first step. (A model built alone may read ids its caller gives.)"""
    layers = parts.model.layers
    if layers and reads_tokens(layers[0]) and getattr(parts.task, "vocab_size", None) is None:
        raise SpecError(
            f"model: layer 0 ({layer_name(layers[0])}) reads token ids, but task"
            f" '{spec.task.name}' gives vectors, not ids; drop that layer"
        )


def train_parts(parts: Parts, spec: RunSpec, **options: Any) -> Result:
    """`train` the built parts with the spec's training settings and clipping; `options` are
    train's keyword arguments (params, callbacks, resume, stop_requested)."""
    check_inputs(parts, spec)
    return train(
        parts.model, parts.task, parts.optimizer, spec.train, clip=spec.optimizer.clip, **options
    )


def summary(spec: RunSpec, result: Result) -> dict[str, Any]:
    """The object `seqnet run --json` prints: what ran, how long, and held-out metrics."""
    return {
        "task": spec.task.name,
        "cell": spec.model.label(),
        "seed": spec.train.seed,
        "steps": result.steps,
        "seconds": round(result.seconds, 4),
        "reached_target": result.reached_target,
        **result.metrics,
        **({"stopped": result.stopped} if result.stopped is not None else {}),
    }


def names_a_file(source: str) -> bool:
    """A SPEC argument is a file when it has a spec suffix or a folder separator; otherwise it is
    a task name, whatever the current folder holds (a file named `parity` does not shadow it)."""
    return Path(source).suffix.lower() in SPEC_SUFFIXES or "/" in source or os.sep in source


def load_spec(
    source: str, overrides: Iterable[str] = (), registry: Registry | None = None
) -> RunSpec:
    """The resolved spec for `source` (a task name or a spec file) after `--set` overrides."""
    registry = registry or default_registry()
    raw = raw_spec(source, registry)
    parsed = [parse_override(text) for text in overrides]
    return specs.resolve(apply_overrides(raw, parsed, registry), registry)


def raw_spec(
    source: str | Path | Mapping[str, Any] | RunSpec, registry: Registry
) -> dict[str, Any]:
    """The unvalidated spec a run starts from, under its task's defaults as `seqnet run` applies
    them: a task name's default spec, a spec file's or a mapping's sections over the task's
    defaults, or a resolved spec as it is."""
    if isinstance(source, RunSpec):
        return source.model_dump(mode="json")
    if isinstance(source, Mapping):
        return defaults.with_task_defaults(source, registry)
    if isinstance(source, Path) or names_a_file(source):
        return defaults.with_task_defaults(spec_files.load_file(Path(source)), registry)
    if source not in registry.names("task") and Path(source).is_file():
        raise SpecError(
            f"'{source}' is not a task name; a spec file needs a .yaml, .json or .toml suffix"
        )
    return defaults.default_raw(source, registry)
