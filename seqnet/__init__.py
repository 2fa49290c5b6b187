"""seqnet: recurrent networks on sequence tasks in plain numpy, every gradient written by hand.

The public API, for library users and plugin authors. Names load on first use, so that
`import seqnet` (and `seqnet --help`) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # contracts: what a plugin implements and the plain data it passes
    "Array": "seqnet.interfaces",
    "Batch": "seqnet.interfaces",
    "Cache": "seqnet.interfaces",
    "Carry": "seqnet.interfaces",
    "Cell": "seqnet.interfaces",
    "Layer": "seqnet.interfaces",
    "LossName": "seqnet.interfaces",
    "Optimizer": "seqnet.interfaces",
    "Params": "seqnet.interfaces",
    "PluginSpec": "seqnet.interfaces",
    "Task": "seqnet.interfaces",
    "FileData": "seqnet.interfaces",
    # helpers for plugins: weight initialisers, PyTorch's layout, one-line validation errors
    "InitScheme": "seqnet.init",
    "recurrent_params": "seqnet.init",
    "glorot_uniform": "seqnet.init",
    "orthogonal": "seqnet.init",
    "params_from_torch": "seqnet.torch_layout",
    "params_to_torch": "seqnet.torch_layout",
    "format_validation_error": "seqnet.spec_errors",
    "spec_init": "seqnet.signatures",
    "torch_loaded": "seqnet.torch_export",
    "torch_weights": "seqnet.torch_export",
    "torch_recurrent": "seqnet.torch_export",
    "layer_to_torch": "seqnet.torch_export",
    "layer_from_torch": "seqnet.torch_export",
    # plugins: the hook marker, what a hook receives, what was registered
    "hookimpl": "seqnet.plugins",
    "Register": "seqnet.hookspecs",
    "load_registry": "seqnet.plugins",
    "Registry": "seqnet.registry",
    "PluginWarning": "seqnet.plugins",
    # specs of a run
    "RunSpec": "seqnet.specs",
    "TaskSection": "seqnet.specs",
    "ModelSection": "seqnet.specs",
    "StackSection": "seqnet.specs",
    "LayerListSection": "seqnet.specs",
    "OptimizerSection": "seqnet.specs",
    "TrainSpec": "seqnet.trainspec",
    "load_spec": "seqnet.runner",
    "resolve": "seqnet.specs",
    # building and training
    "Model": "seqnet.model",
    "Sequential": "seqnet.model",
    "CellLayer": "seqnet.recurrent",
    "layer_spec": "seqnet.layers",
    "build_layer": "seqnet.layers",
    "build": "seqnet.runner",
    "run": "seqnet.runner",
    "train": "seqnet.training",
    "evaluate": "seqnet.training",
    "evaluate_lengths": "seqnet.lengths",
    "length_score": "seqnet.lengths",
    "Record": "seqnet.training",
    "Result": "seqnet.training",
    "Snapshot": "seqnet.training",
    # callbacks: what a training loop tells its watchers, and the built-in watchers
    "Callback": "seqnet.callbacks",
    "Start": "seqnet.callbacks",
    "StopTraining": "seqnet.callbacks",
    "EarlyStopping": "seqnet.callbacks",
    "KeepBest": "seqnet.callbacks",
    "ProgressBar": "seqnet.progress",
    "CSVLogger": "seqnet.loggers",
    "TensorBoardLogger": "seqnet.loggers",
    # a run and its folder, a sweep and its folder: what a script needs, and what the CLI calls
    "Run": "seqnet.runs",
    "Sweep": "seqnet.sweep.session",
    # figures (matplotlib, optional): shown inline by a notebook, written by `seqnet plot`
    "plot_learning_curves": "seqnet.plots",
    "plot_hidden": "seqnet.plots",
    # PyTorch (optional): a model exported as a torch.nn.Module, and one imported
    "to_torch": "seqnet.torch_export",
    "from_torch": "seqnet.torch_export",
    # process-wide tuning a program may opt into (the seqnet command does)
    "keep_freed_memory": "seqnet.allocator",
    # errors
    "SeqnetError": "seqnet.errors",
    "SpecError": "seqnet.errors",
    "PluginError": "seqnet.errors",
    "DataError": "seqnet.errors",
    "NonFiniteError": "seqnet.errors",
}
_SUBMODULES = ("testing",)  # seqnet.testing: the gradient checker and the conformance kits

__all__ = [*_EXPORTS, *_SUBMODULES, "__version__"]

if TYPE_CHECKING:  # the names, for type checkers; at run time __getattr__ loads them
    from seqnet import testing as testing
    from seqnet.allocator import keep_freed_memory as keep_freed_memory
    from seqnet.callbacks import Callback as Callback
    from seqnet.callbacks import EarlyStopping as EarlyStopping
    from seqnet.callbacks import KeepBest as KeepBest
    from seqnet.callbacks import Start as Start
    from seqnet.callbacks import StopTraining as StopTraining
    from seqnet.errors import DataError as DataError
    from seqnet.errors import NonFiniteError as NonFiniteError
    from seqnet.errors import PluginError as PluginError
    from seqnet.errors import SeqnetError as SeqnetError
    from seqnet.errors import SpecError as SpecError
    from seqnet.hookspecs import Register as Register
    from seqnet.init import InitScheme as InitScheme
    from seqnet.init import glorot_uniform as glorot_uniform
    from seqnet.init import orthogonal as orthogonal
    from seqnet.init import recurrent_params as recurrent_params
    from seqnet.interfaces import Array as Array
    from seqnet.interfaces import Batch as Batch
    from seqnet.interfaces import Cache as Cache
    from seqnet.interfaces import Carry as Carry
    from seqnet.interfaces import Cell as Cell
    from seqnet.interfaces import FileData as FileData
    from seqnet.interfaces import Layer as Layer
    from seqnet.interfaces import LossName as LossName
    from seqnet.interfaces import Optimizer as Optimizer
    from seqnet.interfaces import Params as Params
    from seqnet.interfaces import PluginSpec as PluginSpec
    from seqnet.interfaces import Task as Task
    from seqnet.layers import build_layer as build_layer
    from seqnet.layers import layer_spec as layer_spec
    from seqnet.lengths import evaluate_lengths as evaluate_lengths
    from seqnet.lengths import length_score as length_score
    from seqnet.loggers import CSVLogger as CSVLogger
    from seqnet.loggers import TensorBoardLogger as TensorBoardLogger
    from seqnet.model import Model as Model
    from seqnet.model import Sequential as Sequential
    from seqnet.plots import plot_hidden as plot_hidden
    from seqnet.plots import plot_learning_curves as plot_learning_curves
    from seqnet.plugins import PluginWarning as PluginWarning
    from seqnet.plugins import hookimpl as hookimpl
    from seqnet.plugins import load_registry as load_registry
    from seqnet.progress import ProgressBar as ProgressBar
    from seqnet.recurrent import CellLayer as CellLayer
    from seqnet.registry import Registry as Registry
    from seqnet.runner import build as build
    from seqnet.runner import load_spec as load_spec
    from seqnet.runner import run as run
    from seqnet.runs import Run as Run
    from seqnet.signatures import spec_init as spec_init
    from seqnet.spec_errors import format_validation_error as format_validation_error
    from seqnet.specs import LayerListSection as LayerListSection
    from seqnet.specs import ModelSection as ModelSection
    from seqnet.specs import OptimizerSection as OptimizerSection
    from seqnet.specs import RunSpec as RunSpec
    from seqnet.specs import StackSection as StackSection
    from seqnet.specs import TaskSection as TaskSection
    from seqnet.specs import resolve as resolve
    from seqnet.sweep.session import Sweep as Sweep
    from seqnet.torch_export import from_torch as from_torch
    from seqnet.torch_export import layer_from_torch as layer_from_torch
    from seqnet.torch_export import layer_to_torch as layer_to_torch
    from seqnet.torch_export import to_torch as to_torch
    from seqnet.torch_export import torch_loaded as torch_loaded
    from seqnet.torch_export import torch_recurrent as torch_recurrent
    from seqnet.torch_export import torch_weights as torch_weights
    from seqnet.torch_layout import params_from_torch as params_from_torch
    from seqnet.torch_layout import params_to_torch as params_to_torch
    from seqnet.training import Record as Record
    from seqnet.training import Result as Result
    from seqnet.training import Snapshot as Snapshot
    from seqnet.training import evaluate as evaluate
    from seqnet.training import train as train
    from seqnet.trainspec import TrainSpec as TrainSpec


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"seqnet.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seqnet' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
