"""Models in spec files: `model.layers` lists, the shorthand, task defaults and `--set` paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import seqnet
from seqnet import spec_files, specs
from seqnet.plugins import default_registry
from seqnet.runner import build, load_spec

REGISTRY = default_registry()


def write(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_a_list_of_layers_builds_that_model(tmp_path: Path) -> None:
    layers = [{"type": "elman", "hidden": 5}, {"type": "gru", "hidden": 4, "reverse": True}]
    spec = load_spec(write(tmp_path, {"task": {"name": "binadd"}, "model": {"layers": layers}}))
    model = build(spec).model
    assert [layer.output_size(0) for layer in model.layers] == [5, 4]
    assert spec.model.label() == "elman+gru"
    params = model.init(np.random.default_rng(0))
    assert "layers.1.W_h" in params and params["layers.1.W_x"].shape == (5, 12)  # GRU: 3 gates
    dumped = yaml.safe_load(spec_files.dump(spec))["model"]
    assert list(dumped) == ["layers", "dtype"]  # no shorthand fields beside a list
    assert dumped["layers"][1] == {"type": "gru", "hidden": 4, "init": "uniform", "reverse": True}
    assert (
        specs.resolve(yaml.safe_load(spec_files.dump(spec)), REGISTRY) == spec
    )  # dumps round-trip


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"layers": [{"type": "lstm", "hidden": 8, "units": 3}]}, "model.layers.0.units: unknown"),
        ({"layers": [{"type": "lstm", "hidden": 8}, {"type": "nosuch"}]}, "unknown layer type"),
        ({"layers": [{"type": "lstm", "hidden": 8}], "hidden": 4}, "model.hidden: not used with"),
        ({"layers": [{"type": "lstm", "hidden": 8}], "activation": "relu"}, "model.activation"),
        ({"layers": []}, "model.layers: List should have at least 1 item"),
        ({"layers": 0}, "model.layers: Input should be greater than 0 (got 0)"),
    ],
)
def test_a_bad_model_section_is_one_line(model: dict[str, Any], message: str) -> None:
    with pytest.raises(seqnet.SpecError) as err:
        specs.resolve({"task": {"name": "binadd"}, "model": model}, REGISTRY)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("task", REGISTRY.names("task"))
def test_a_file_that_names_only_a_task_gets_its_defaults(tmp_path: Path, task: str) -> None:
    # exactly what `seqnet run TASK` resolves, for every registered task
    from_file = load_spec(write(tmp_path, {"task": {"name": task}}))
    assert from_file == load_spec(task)


def test_a_file_keeps_its_own_sections_over_the_task_defaults(tmp_path: Path) -> None:
    data = {"task": {"name": "binadd"}, "model": {"cell": "lstm"}, "train": {"steps": 7}}
    spec = load_spec(write(tmp_path, data))
    default = load_spec("binadd")
    assert spec.model.cell == "lstm" and "activation" not in spec.options("model")  # elman's
    assert spec.train.steps == 7 and spec.train.margin == default.train.margin  # binadd's 2.0
    layers = {"task": {"name": "charlm"}, "model": {"layers": [{"type": "gru", "hidden": 8}]}}
    listed = load_spec(write(tmp_path, layers))
    assert listed.optimizer == load_spec("charlm").optimizer  # charlm's lr, not the engine's


def test_overrides_are_checked_against_declared_fields_and_resolved_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    resolve = specs.resolve
    monkeypatch.setattr(specs, "resolve", lambda *a: calls.append(1) or resolve(*a))
    spec = load_spec("binadd", ["model.hidden=8", "model.activation=relu", "train.steps=9"])
    assert (spec.model.hidden, spec.options("model")["activation"], spec.train.steps) == (
        8, "relu", 9
    )  # fmt: skip
    assert len(calls) == 1
    for bad in ("model.units=3", "train.nosuch=1", "nosuch.x=1", "task.bits.x=1"):
        with pytest.raises(seqnet.SpecError, match="unknown setting"):
            load_spec("binadd", [bad])
    listed = write(tmp_path, {"task": {"name": "binadd"},
                              "model": {"layers": [{"type": "lstm", "hidden": 8}]}})  # fmt: skip
    spec = load_spec(listed, ["model.layers.0.hidden=3", "model.layers.0.reverse=true"])
    assert json.loads(spec_files.dump(spec, "json"))["model"]["layers"][0]["hidden"] == 3
    for bad in ("model.layers.1.hidden=3", "model.layers.0.units=3"):
        with pytest.raises(seqnet.SpecError, match="unknown setting"):
            load_spec(listed, [bad])
    with pytest.raises(seqnet.SpecError, match=r"model\.hidden: not used with a list of layers"):
        load_spec(listed, ["model.hidden=3"])


def test_a_plugin_with_from_spec_gets_the_spec_validated_once() -> None:
    import types

    from pydantic import field_validator

    from seqnet.plugins import load_registry
    from seqnet.registry import Source
    from seqnet_binadd import BinaryAdditionTask

    seen: list[int] = []

    class Counted(BinaryAdditionTask):
        name = "counted"

        class Spec(BinaryAdditionTask.Spec):  # type: ignore[name-defined, misc]
            @field_validator("bits")
            @classmethod
            def count(cls, bits: int) -> int:
                seen.append(bits)
                return bits

        @classmethod
        def from_spec(cls, spec: Any) -> Counted:
            task = cls(**spec.model_dump())  # the reference tasks validate in __init__
            task.given = spec  # type: ignore[attr-defined]
            return task

    module = types.ModuleType("counted_plugin")
    module.seqnet_register_tasks = seqnet.hookimpl(  # type: ignore[attr-defined]
        lambda register: register(Counted)
    )
    module.seqnet_register_tasks.__name__ = "seqnet_register_tasks"
    registry = load_registry([], extra=[(Source("counted", "test", ""), module)])
    registry.entries["cell"] = default_registry().entries["cell"]
    registry.entries["optimizer"] = default_registry().entries["optimizer"]
    spec = specs.resolve({"task": {"name": "counted", "bits": 5}}, registry)
    assert seen == [5]  # the one validation pass
    task = build(spec, registry).task
    assert task.given is spec._validated["task"]  # type: ignore[attr-defined]


def test_a_run_of_a_list_model_resumes_from_its_folder(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from seqnet.cli import app

    data = {"task": {"name": "binadd", "bits": 4, "bits_min": 0},
            "model": {"layers": [{"type": "gru", "hidden": 4},
                                 {"type": "elman", "hidden": 3, "reverse": True}]},
            "train": {"steps": 4, "eval_every": 2, "eval_samples": 8}}  # fmt: skip
    runner = CliRunner()
    folder = tmp_path / "run"
    first = runner.invoke(app, ["run", write(tmp_path, data), "--out", str(folder), "-q"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["resume", str(folder), "--steps", "2", "-q", "--json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.output.strip().splitlines()[-1])
    assert (summary["cell"], summary["steps"]) == ("gru+elman", 6)


def test_a_list_model_too_large_for_the_machine_is_one_line(tmp_path: Path) -> None:
    data = {"task": {"name": "binadd"}, "model": {"layers": [{"type": "lstm", "hidden": 900000}]}}
    with pytest.raises(seqnet.SeqnetError, match=r"this run needs about .*layer widths \[900000\]"):
        build(load_spec(write(tmp_path, data)))
