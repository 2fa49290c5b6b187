"""Loading plugins: broken ones are skipped with one warning, strict mode, disabling, clashes.

Each test builds its own registry from fake entry points (real `EntryPoint` objects read from a
`*.dist-info` folder made in tmp_path, so each has a distribution and a version) pointing at
fake plugin modules.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint, PathDistribution, entry_points
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from typer.testing import CliRunner

import seqnet
from seqnet import plugins
from seqnet.cli import app
from seqnet.plugins import BrokenPluginError, PluginWarning, load_registry

runner = CliRunner()


class Echo:
    """Say the symbol just read."""

    name: ClassVar[str] = "echo"
    loss: ClassVar[seqnet.LossName] = "softmax_ce"
    target_metric: ClassVar[str] = "accuracy"
    defaults: ClassVar[dict[str, dict[str, Any]]] = {}

    class Spec(seqnet.PluginSpec):
        pass

    def sample(self, rng: np.random.Generator, batch: int) -> seqnet.Batch:
        raise NotImplementedError

    def metrics(self, outputs: seqnet.Array, batch: seqnet.Batch) -> dict[str, float]:
        raise NotImplementedError

    def examples(self, outputs: seqnet.Array, batch: seqnet.Batch, count: int) -> list[str]:
        raise NotImplementedError


class Cell:
    """A cell in name only: the loader checks the class, not the maths."""

    name: ClassVar[str] = "fakecell"

    class Spec(seqnet.PluginSpec):
        hidden: int

    def init(self) -> None: ...
    def initial_carry(self) -> None: ...
    def step(self) -> None: ...
    def step_backward(self) -> None: ...


class Opt:
    """An optimizer in name only."""

    name: ClassVar[str] = "fakeopt"

    class Spec(seqnet.PluginSpec):
        lr: float = 0.1

    def step(self) -> None: ...
    def state_dict(self) -> None: ...
    def load_state_dict(self) -> None: ...


class FakeLayer:
    """A layer in name only."""

    name: ClassVar[str] = "fakelayer"

    class Spec(seqnet.PluginSpec):
        units: int = 3

    @classmethod
    def from_spec(cls, spec: Any) -> None: ...
    def init(self) -> None: ...
    def output_size(self) -> None: ...
    def initial_carry(self) -> None: ...
    def forward(self) -> None: ...
    def backward(self) -> None: ...


def registers(kind: str, *classes: object) -> Callable[[seqnet.Register], None]:
    """A marked hook function that registers `classes` as `kind` (tasks, cells, optimizers)."""

    def hook(register: seqnet.Register) -> None:
        for cls in classes:
            register(cls)  # type: ignore[arg-type]

    hook.__name__ = f"seqnet_register_{kind}"
    return seqnet.hookimpl(hook)


Make = Callable[..., EntryPoint]


@pytest.fixture(autouse=True)
def no_plugin_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests set the variables themselves; the caller's must not leak in."""
    monkeypatch.delenv("SEQNET_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("SEQNET_STRICT_PLUGINS", raising=False)


@pytest.fixture
def make_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Make:
    """make_plugin(name, **attributes) -> an entry point `name` in distribution seqnet-NAME 1.2.3
    whose module has `attributes`; source="..." instead makes a module file with that code."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(name: str, source: str | None = None, **attributes: Any) -> EntryPoint:
        module_name = f"fake_{name.replace('-', '_')}_plugin"
        if source is None:
            module = types.ModuleType(module_name)
            for attr, value in attributes.items():
                setattr(module, attr, value)
            monkeypatch.setitem(sys.modules, module_name, module)
        else:
            (tmp_path / f"{module_name}.py").write_text(source)
        info = tmp_path / f"seqnet_{name}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: seqnet-{name}\n"
                                       "Version: 1.2.3\n")  # fmt: skip
        (info / "entry_points.txt").write_text(f"[seqnet]\n{name} = {module_name}\n")
        (ep,) = PathDistribution(info).entry_points
        return ep

    return make


def builtin(name: str) -> EntryPoint:
    (ep,) = [
        ep for ep in entry_points(group="seqnet", name=name) if ep.dist and ep.dist.name == "seqnet"
    ]
    return ep


def test_a_good_plugin_registers_each_kind_with_its_distribution(make_plugin: Make) -> None:
    ep = make_plugin("good", seqnet_register_tasks=registers("tasks", Echo),
                     seqnet_register_cells=registers("cells", Cell),
                     seqnet_register_optimizers=registers("optimizers", Opt))  # fmt: skip
    registry = load_registry([ep])
    assert [(e.kind, e.name) for e in registry.all()] == [
        ("task", "echo"), ("cell", "fakecell"), ("optimizer", "fakeopt")
    ]  # fmt: skip
    entry = registry.get("task", "echo")
    assert (entry.plugin, entry.distribution, entry.version) == ("good", "seqnet-good", "1.2.3")
    assert entry.description == "Say the symbol just read."
    assert [s.name for s in registry.plugins] == ["good"] and not registry.failed


def test_a_plugin_whose_import_raises_is_skipped_with_one_warning(make_plugin: Make) -> None:
    broken = make_plugin("broken", source="raise RuntimeError('boom')\n")
    with pytest.warns(PluginWarning) as caught:
        registry = load_registry([broken, builtin("binadd")])
    assert [str(w.message) for w in caught] == [
        "plugin 'broken' (seqnet-broken 1.2.3) skipped: import failed: RuntimeError: boom"
        " (fake_broken_plugin.py:1)"
    ]
    assert registry.names("task") == ["binadd"]  # the others still load
    (failure,) = registry.failed
    assert failure.source.name == "broken" and "RuntimeError: boom" in failure.reason


def test_a_plugin_whose_hook_raises_is_skipped_whole(make_plugin: Make) -> None:
    @seqnet.hookimpl
    def seqnet_register_cells(register: seqnet.Register) -> None:
        raise KeyError("missing")

    ep = make_plugin("half", seqnet_register_tasks=registers("tasks", Echo),
                     seqnet_register_cells=seqnet_register_cells)  # fmt: skip
    pattern = (
        r"plugin 'half' \(seqnet-half 1.2.3\) skipped: "
        r"seqnet_register_cells raised KeyError: 'missing' \(test_plugins.py:\d+\)"
    )
    with pytest.warns(PluginWarning, match=pattern):
        registry = load_registry([ep])
    assert registry.names("task") == []  # what it registered before raising is dropped too


class NoName(Echo):
    name = ""


class NoSpec:
    name = "nospec"

    def sample(self) -> None: ...
    def metrics(self) -> None: ...
    def examples(self) -> None: ...


class LooseSpec(Echo):
    class Spec(seqnet.PluginSpec, extra="ignore"):
        pass


class NoExamples(Echo):
    examples = None  # type: ignore[assignment]


class BadLoss(Echo):
    loss = "hinge"  # type: ignore[assignment]


class NoHidden(Cell):
    class Spec(seqnet.PluginSpec):
        width: int = 3


class NoFromSpec(FakeLayer):
    from_spec = None  # type: ignore[assignment]


class TypedLayer(FakeLayer):
    class Spec(seqnet.PluginSpec):
        type: str = "x"


class ReversingCell(Cell):
    class Spec(seqnet.PluginSpec):
        hidden: int
        reverse: bool = False


class NoLr(Opt):
    class Spec(seqnet.PluginSpec):
        rate: float = 0.1


@pytest.mark.parametrize(
    ("kind", "classes", "reason"),
    [
        ("tasks", [NoName], "task class NoName needs a class attribute `name`"),
        ("tasks", [NoSpec], "task 'nospec' (NoSpec): no nested pydantic `Spec`"),
        ("tasks", [LooseSpec], "task 'echo' (LooseSpec): its `Spec` must forbid unknown options"),
        ("tasks", [NoExamples], "task 'echo' (NoExamples): no method `examples`"),
        ("tasks", [BadLoss], "`loss` must be one of sigmoid_bce, softmax_ce, mse (got 'hinge')"),
        ("cells", [NoHidden], "cell 'fakecell' (NoHidden): its `Spec` has no `hidden` field"),
        ("optimizers", [NoLr], "optimizer 'fakeopt' (NoLr): its `Spec` has no `lr` field"),
        ("layers", [NoFromSpec], "layer 'fakelayer' (NoFromSpec): no way to build it from"),
        ("layers", [TypedLayer], "its `Spec` may not have a `type` field (the engine's)"),
        ("cells", [ReversingCell], "its `Spec` may not have a `reverse` field (the engine's)"),
        ("tasks", [Echo()], "register() takes a class; got <"),
        ("tasks", [Echo, Echo], "task 'echo' is registered twice by this plugin"),
    ],
)
def test_a_class_off_its_contract_skips_its_plugin(
    make_plugin: Make, kind: str, classes: list[object], reason: str
) -> None:
    ep = make_plugin("off", **{f"seqnet_register_{kind}": registers(kind, *classes)})
    with pytest.warns(PluginWarning) as caught:
        registry = load_registry([ep, builtin("elman")])
    assert len(caught) == 1
    assert str(caught[0].message).startswith("plugin 'off' (seqnet-off 1.2.3) skipped: ")
    assert reason in str(caught[0].message)
    assert registry.failed[0].reason in str(caught[0].message)
    assert [e.name for e in registry.all()] == ["elman"]


def test_a_hook_cannot_swallow_the_contract_error(make_plugin: Make) -> None:
    @seqnet.hookimpl
    def seqnet_register_tasks(register: seqnet.Register) -> None:
        # a plugin hiding its own problem must not hide it from the user
        with contextlib.suppress(Exception):
            register(NoExamples)

    ep = make_plugin("sly", seqnet_register_tasks=seqnet_register_tasks)
    with pytest.warns(PluginWarning, match="no method `examples`"):
        load_registry([ep])


def test_a_misspelled_hook_name_is_caught_at_load(make_plugin: Make) -> None:
    ep = make_plugin("typo", seqnet_register_task=registers("task", Echo))
    with pytest.warns(PluginWarning, match=r"skipped: .*unknown hook 'seqnet_register_task'"):
        registry = load_registry([ep])
    assert registry.names("task") == []


def test_a_hook_without_the_marker_is_named(make_plugin: Make) -> None:
    def seqnet_register_tasks(register: seqnet.Register) -> None:
        register(Echo)

    ep = make_plugin("unmarked", seqnet_register_tasks=seqnet_register_tasks)
    with pytest.warns(PluginWarning, match="seqnet_register_tasks is not marked with "
                      "@seqnet.hookimpl"):  # fmt: skip
        load_registry([ep])


def test_a_plugin_with_no_hooks_is_reported(make_plugin: Make) -> None:
    ep = make_plugin("empty", something_else=1)
    with pytest.warns(PluginWarning, match="implements none of the hooks seqnet_register_tasks"):
        load_registry([ep])


def test_strict_mode_makes_a_broken_plugin_an_error(
    make_plugin: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = make_plugin("broken", source="import no_such_module_here\n")
    monkeypatch.setenv("SEQNET_STRICT_PLUGINS", "1")
    with pytest.raises(BrokenPluginError) as err:
        load_registry([broken])
    assert str(err.value) == (
        "plugin 'broken' (seqnet-broken 1.2.3) skipped: import failed: ModuleNotFoundError: No"
        " module named 'no_such_module_here' (fake_broken_plugin.py:1)"
        " (SEQNET_STRICT_PLUGINS is on)"
    )
    assert err.value.exit_code == 1
    monkeypatch.delenv("SEQNET_STRICT_PLUGINS")
    with pytest.raises(BrokenPluginError):
        load_registry([broken], strict=True)


def test_disabling_skips_a_plugin_without_importing_it(
    make_plugin: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = make_plugin("broken", source="raise RuntimeError('boom')\n")
    eps = [broken, builtin("binadd"), builtin("elman")]
    monkeypatch.setenv("SEQNET_DISABLE_PLUGINS", "broken, binadd")
    registry = load_registry(eps)  # no warning: the broken one was never imported
    assert registry.names("task") == [] and registry.names("cell") == ["elman"]
    assert [s.name for s in registry.disabled] == ["broken", "binadd"]
    monkeypatch.delenv("SEQNET_DISABLE_PLUGINS")
    assert load_registry(eps[1:], disable=["elman"]).names("cell") == []


def test_disabling_an_unknown_name_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQNET_DISABLE_PLUGINS", "binad")
    with pytest.warns(PluginWarning, match=r"names no installed plugin: binad \(installed: "
                      "binadd\\)"):  # fmt: skip
        load_registry([builtin("binadd")])


def test_a_name_registered_twice_is_an_error_naming_both(make_plugin: Make) -> None:
    class Binadd(Echo):
        name = "binadd"

    ep = make_plugin("clash", seqnet_register_tasks=registers("tasks", Binadd))
    with pytest.raises(seqnet.PluginError) as err:
        load_registry([builtin("binadd"), ep])
    message = str(err.value)
    assert "task 'binadd' is registered twice: by plugin 'binadd' (seqnet " in message
    assert "and by plugin 'clash' (seqnet-clash 1.2.3)" in message
    assert "--disable-plugin" in message


def test_a_layer_registers_through_its_hook(make_plugin: Make) -> None:
    ep = make_plugin("lay", seqnet_register_layers=registers("layers", FakeLayer))
    registry = load_registry([ep])
    assert [(e.kind, e.name) for e in registry.all()] == [("layer", "fakelayer")]


def test_a_layer_named_like_a_cell_is_an_error_naming_both(make_plugin: Make) -> None:
    class Elman(FakeLayer):
        name = "elman"

    ep = make_plugin("clash", seqnet_register_layers=registers("layers", Elman))
    for order in ([builtin("elman"), ep], [ep, builtin("elman")]):
        with pytest.raises(seqnet.PluginError) as err:
            load_registry(order)
        message = str(err.value)
        assert "'elman' is registered as a " in message
        assert (
            "plugin 'clash' (seqnet-clash 1.2.3)" in message and "plugin 'elman' (seqnet" in message
        )


def test_two_plugins_of_one_name_are_an_error(make_plugin: Make) -> None:
    ep = make_plugin("binadd", seqnet_register_tasks=registers("tasks", Echo))
    with pytest.raises(seqnet.PluginError, match="two plugins are named 'binadd'"):
        load_registry([builtin("binadd"), ep])


def test_an_unknown_name_mentions_skipped_plugins() -> None:
    registry = load_registry([builtin("binadd"), builtin("elman")], disable=["binadd"])
    with pytest.raises(seqnet.PluginError, match=r"unknown task 'binadd'; available: none "
                       r"\(skipped plugins: 'binadd' disabled\)"):  # fmt: skip
        registry.get("task", "binadd")


# The command line: the cached default registry is rebuilt around each of these tests.


@pytest.fixture
def installed(make_plugin: Make, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[EntryPoint]]:
    """The real entry points plus a broken plugin, as `seqnet` sees them."""
    eps = [*entry_points(group="seqnet"), make_plugin("broken", source="1 / 0\n")]
    monkeypatch.setattr(plugins, "entry_points", lambda group: eps)
    plugins.configure()
    yield eps
    plugins.configure()


def test_cli_lists_a_broken_plugin_and_other_commands_still_work(
    installed: list[EntryPoint],
) -> None:
    with pytest.warns(PluginWarning, match="plugin 'broken' .* ZeroDivisionError"):
        listed = runner.invoke(app, ["plugins", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {(r["kind"], r["name"]): r for r in json.loads(listed.stdout)}
    failed = rows["plugin", "broken"]
    assert failed["status"] == "failed" and failed["distribution"] == "seqnet-broken"
    assert failed["reason"].startswith("import failed: ZeroDivisionError: division by zero")
    assert rows["task", "binadd"]["status"] == "ok"
    table = runner.invoke(app, ["plugins"], env={"COLUMNS": "200"})
    assert "failed: import failed: ZeroDivisionError" in table.stdout
    spec = runner.invoke(app, ["spec", "binadd"])  # one warning per process: the registry is built
    assert spec.exit_code == 0 and "name: binadd" in spec.stdout


def test_cli_strict_mode_exits_1_with_one_line(
    installed: list[EntryPoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEQNET_STRICT_PLUGINS", "1")
    result = runner.invoke(app, ["plugins"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: plugin 'broken' (seqnet-broken 1.2.3) skipped: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_disable_plugin_option_and_variable(
    installed: list[EntryPoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(app, ["--disable-plugin", "binadd", "--disable-plugin", "broken",
                                 "plugins", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.stdout)}
    assert ("task", "binadd") not in rows
    assert rows["plugin", "binadd"]["status"] == rows["plugin", "broken"]["status"] == "disabled"
    assert plugins._settings.disable == ()  # the next command in this process starts clean

    monkeypatch.setenv("SEQNET_DISABLE_PLUGINS", "binadd,broken")
    plugins.configure()
    gone = runner.invoke(app, ["run", "binadd"])
    assert gone.exit_code == 2
    assert "unknown task 'binadd'" in gone.stderr and "'binadd' disabled" in gone.stderr


def test_a_real_process_shows_the_warning_as_one_line(tmp_path: Path) -> None:
    (tmp_path / "crashing_plugin.py").write_text("raise ImportError('needs torch')\n")
    info = tmp_path / "seqnet_crash-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: seqnet-crash\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[seqnet]\nseqnet-crash = crashing_plugin\n")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "seqnet", "plugins", "--json"],
                          capture_output=True, text=True, env=env, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "warning: plugin 'seqnet-crash' (seqnet-crash 0.1) skipped: import failed: ImportError:"
        " needs torch (crashing_plugin.py:1)"
    ]
    assert any(row["name"] == "binadd" for row in json.loads(done.stdout))
