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

if TYPE_CHECKING:  # the names, for type checkers; at run time __getattr__ loads them
    from seqnet.errors import (
        NonFiniteError as NonFiniteError,
    )
    from seqnet.errors import (
        PluginError as PluginError,
    )
    from seqnet.errors import (
        SeqnetError as SeqnetError,
    )
    from seqnet.errors import (
        SpecError as SpecError,
    )
    from seqnet.hookspecs import Register as Register
    from seqnet.interfaces import (
        Array as Array,
    )
    from seqnet.interfaces import (
        Batch as Batch,
    )
    from seqnet.interfaces import (
        Carry as Carry,
    )
    from seqnet.interfaces import (
        Cell as Cell,
    )
    from seqnet.interfaces import (
        Layer as Layer,
    )
    from seqnet.interfaces import (
        Optimizer as Optimizer,
    )
    from seqnet.interfaces import (
        Params as Params,
    )
    from seqnet.interfaces import (
        PluginSpec as PluginSpec,
    )
    from seqnet.interfaces import (
        Task as Task,
    )
    from seqnet.layers import Dense as Dense
    from seqnet.model import Model as Model
    from seqnet.plugins import (
        default_registry as default_registry,
    )
    from seqnet.plugins import (
        hookimpl as hookimpl,
    )
    from seqnet.plugins import (
        load_registry as load_registry,
    )
    from seqnet.registry import Registry as Registry
    from seqnet.run import build as build
    from seqnet.run import run as run
    from seqnet.specs import RunSpec as RunSpec
    from seqnet.specs import TrainSpec as TrainSpec
    from seqnet.specs import resolve as resolve
    from seqnet.train import Result as Result
    from seqnet.train import evaluate as evaluate
    from seqnet.train import train as train


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seqnet' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
