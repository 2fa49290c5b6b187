"""The public API: `seqnet` re-exports exactly what plugin authors and library users need.

A change to the exported names fails here on purpose: update EXPECTED in the same commit, and
say why in its message, so the API changes only deliberately.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import seqnet

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "seqnet-reverse"

EXPECTED = {
    # contracts
    "Array", "Batch", "Cache", "Carry", "Cell", "Layer", "LossName", "Optimizer", "Params",
    "PluginSpec", "Task", "FileData",
    # helpers for plugins
    "InitScheme", "recurrent_params", "glorot_uniform", "orthogonal", "params_from_torch",
    "params_to_torch", "format_validation_error",
    # a plugin's keyword constructor from its Spec; a layer's PyTorch module and back
    "spec_init", "torch_loaded", "torch_weights", "torch_recurrent", "layer_to_torch",
    "layer_from_torch",
    # plugins
    "hookimpl", "Register", "load_registry", "Registry", "PluginWarning",
    # specs
    "RunSpec", "TaskSection", "ModelSection", "StackSection", "LayerListSection",
    "OptimizerSection", "TrainSpec", "load_spec", "resolve",
    # building and training
    "Model", "build", "run", "train", "evaluate", "Record", "Result", "Snapshot",
    # callbacks: the protocol, stopping, and the built-in watchers
    "Callback", "Start", "StopTraining", "EarlyStopping", "KeepBest", "ProgressBar",
    "CSVLogger", "TensorBoardLogger",
    # a run and its folder (seqnet.runs), a sweep and its folder; what the CLI calls
    "Run", "Sweep",
    # export to PyTorch and import from it (torch optional)
    "to_torch", "from_torch",
    # scoring at other lengths (the Chomsky benchmark's score)
    "evaluate_lengths", "length_score",
    # layers: cells as layers, layers from spec sections
    "CellLayer", "layer_spec", "build_layer", "Sequential",
    # figures, for notebooks and `seqnet plot`
    "plot_learning_curves", "plot_hidden",
    # process-wide tuning, opt-in
    "keep_freed_memory",
    # errors
    "SeqnetError", "SpecError", "PluginError", "NonFiniteError", "DataError",
    # the testing kit, a subpackage
    "testing",
    "__version__",
}  # fmt: skip


def test_the_exported_names_are_the_expected_ones() -> None:
    assert set(seqnet.__all__) == EXPECTED
    assert dir(seqnet) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(seqnet, name) is not None


def test_no_exported_name_is_shadowed_by_a_submodule() -> None:
    """Importing seqnet.X sets the package attribute X to that module, so an export named like a
    submodule (a function `train` beside a seqnet/train.py) turns into the module as soon as
    anything imports it."""
    submodules = {info.name for info in pkgutil.iter_modules(seqnet.__path__)}
    assert not submodules & set(seqnet._EXPORTS)
    for name, module in seqnet._EXPORTS.items():
        assert getattr(seqnet, name) is getattr(importlib.import_module(module), name), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Dense'"):
        getattr(seqnet, "Dense")  # noqa: B009  (the name is the point)


def test_the_testing_kit_is_reachable_from_seqnet() -> None:
    assert seqnet.testing.check_task is not None
    assert seqnet.testing.check_cell_gradients is not None


def test_type_checkers_see_the_same_names_as_run_time() -> None:
    """The TYPE_CHECKING imports in seqnet/__init__.py mirror the _EXPORTS table."""
    tree = ast.parse((ROOT / "seqnet" / "__init__.py").read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    seen = set()
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            assert alias.asname == alias.name  # `as` re-exports the name for mypy
            seen.add((alias.name, node.module))
    tables = {(name, module) for name, module in seqnet._EXPORTS.items()}
    assert seen == tables | {("testing", "seqnet")}


def test_import_seqnet_stays_light() -> None:
    """`import seqnet` loads no numpy, pydantic or plugin, so `seqnet --help` starts fast."""
    code = "import sys, seqnet; print(sorted(m for m in ('numpy', 'pydantic', 'pluggy', " \
        "'seqnet.plugins') if m in sys.modules))"  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"


def seqnet_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found |= {n for n in names if n == "seqnet" or n.startswith("seqnet.")}
    return found


def test_the_example_plugin_imports_only_the_public_api() -> None:
    files = sorted(EXAMPLE.rglob("*.py"))
    assert len(files) >= 4
    used = set().union(*(seqnet_imports(f) for f in files))
    assert used == {"seqnet", "seqnet.testing"}


@pytest.mark.parametrize(
    "package", sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists())
)
def test_every_reference_plugin_imports_only_the_public_api(package: str) -> None:
    """What a stranger's plugin may import, and nothing more: `seqnet` and `seqnet.testing`."""
    files = sorted((ROOT / "plugins" / package).rglob("*.py"))
    for path in files:
        private = seqnet_imports(path) - {"seqnet", "seqnet.testing"}
        assert not private, f"{path.relative_to(ROOT)} imports {sorted(private)}"


def test_seqnet_ships_its_types() -> None:
    """py.typed: type checkers read seqnet's annotations instead of treating it as untyped."""
    assert (ROOT / "seqnet" / "py.typed").exists()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"seqnet",' in pyproject.split("[tool.hatch.build.targets.wheel]")[1]


def test_the_example_plugin_passes_mypy_strict_against_the_installed_seqnet(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A stranger's plugin type-checks against seqnet as installed (not this checkout's
    config, no pydantic plugin): mypy --strict, run from an empty folder on the example package
    and its tests. mypy's cache is kept in pytest's, so only a first run reads numpy's stubs."""
    pytest.importorskip("mypy")
    kept = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    cache = kept.mkdir("mypy") if kept is not None else tmp_path / "cache"
    command = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache),
               "--config-file", "",
               str(EXAMPLE / "seqnet_reverse"), str(EXAMPLE / "tests")]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout
