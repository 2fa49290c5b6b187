"""seqnet: recurrent networks on sequence tasks in plain numpy, every gradient written by hand.

The public API, for library users and plugin authors. Names load on first use, so that
`import seqnet` (and `seqnet --help`) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # contracts
    "Array": "seqnet.interfaces",
    "Batch": "seqnet.interfaces",
    "Carry": "seqnet.interfaces",
    "Cell": "seqnet.interfaces",
    "Layer": "seqnet.interfaces",
    "Optimizer": "seqnet.interfaces",
    "Params": "seqnet.interfaces",
    "PluginSpec": "seqnet.interfaces",
    "Task": "seqnet.interfaces",
    # plugins
    "Register": "seqnet.hookspecs",
    "hookimpl": "seqnet.plugins",
    "load_registry": "seqnet.plugins",
    "default_registry": "seqnet.plugins",
    "Registry": "seqnet.registry",
    # specs
    "RunSpec": "seqnet.specs",
    "TrainSpec": "seqnet.specs",
    "resolve": "seqnet.specs",
    # building blocks and training
    "Dense": "seqnet.layers",
    "Model": "seqnet.model",
    "Result": "seqnet.train",
    "train": "seqnet.train",
    "evaluate": "seqnet.train",
    "build": "seqnet.run",
    "run": "seqnet.run",
    # errors
    "SeqnetError": "seqnet.errors",
    "SpecError": "seqnet.errors",
    "PluginError": "seqnet.errors",
    "NonFiniteError": "seqnet.errors",
}

__all__ = [*_EXPORTS, "__version__"]

if TYPE_CHECKING:
    from seqnet.errors import NonFiniteError, PluginError, SeqnetError, SpecError
    from seqnet.hookspecs import Register
    from seqnet.interfaces import (
        Array,
        Batch,
        Carry,
        Cell,
        Layer,
        Optimizer,
        Params,
        PluginSpec,
        Task,
    )
    from seqnet.layers import Dense
    from seqnet.model import Model
    from seqnet.plugins import default_registry, hookimpl, load_registry
    from seqnet.registry import Registry
    from seqnet.run import build, run
    from seqnet.specs import RunSpec, TrainSpec, resolve
    from seqnet.train import Result, evaluate, train


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seqnet' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
