"""Run specs: defaults, plugin-owned options, files, overrides, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
import yaml

from seqnet import defaults, overrides, spec_files, specs
from seqnet.errors import PluginError, SpecError
from seqnet.interfaces import PluginSpec
from seqnet.plugins import Source, hookimpl, load_registry
from seqnet.registry import Registry
from seqnet.runner import load_spec
from seqnet_elman import ElmanCell


def binadd_raw(registry: Registry) -> dict[str, Any]:
    return defaults.default_raw("binadd", registry)


def test_default_spec_fills_every_plugin_default(registry: Registry) -> None:
    spec = specs.resolve(binadd_raw(registry), registry)
    assert spec.options("task") == {"bits": 16, "bits_min": 1, "propagate": 0}
    assert spec.options("model")["activation"] == "tanh"
    assert spec.optimizer.name == "adam"
    assert spec.options("optimizer")["lr"] == 0.01
    assert spec.options("optimizer")["beta2"] == 0.999


@pytest.mark.parametrize(
    ("section", "field", "value", "message"),
    [
        ("task", "bitz", 3, "task.bitz: unknown option"),
        ("task", "bits", 0, "task.bits: Input should be greater than 0"),
        ("model", "hidden", -4, "model.hidden: Input should be greater than 0"),
        ("model", "layers", 0, "model.layers: Input should be greater than 0"),
        ("model", "activation", "tanhh", "model.activation: Input should be"),
        ("optimizer", "lr", float("nan"), "optimizer.lr: Input should be a finite number"),
        ("optimizer", "lr", float("inf"), "optimizer.lr: Input should be a finite number"),
        ("optimizer", "lr", "fast", "optimizer.lr: Input should be a valid number"),
        ("optimizer", "lr", -0.1, "optimizer.lr: Input should be greater than 0"),
        ("train", "steps", 0, "train.steps: Input should be greater than 0"),
        ("train", "batch", 2.5, "train.batch: Input should be a valid integer"),
        ("train", "stepz", 10, "train.stepz: unknown option"),
    ],
)
def test_bad_values_name_the_field(
    registry: Registry, section: str, field: str, value: Any, message: str
) -> None:
    raw = binadd_raw(registry)
    raw.setdefault(section, {})[field] = value
    with pytest.raises(SpecError, match=message.replace(".", r"\.", 1)) as caught:
        specs.resolve(raw, registry)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("section", "key"), [("task", "name"), ("model", "cell"), ("optimizer", "name")]
)
def test_unknown_plugin_lists_the_available_ones(
    registry: Registry, section: str, key: str
) -> None:
    raw = binadd_raw(registry)
    raw[section][key] = "nosuch"
    with pytest.raises(PluginError, match=r"unknown \w+ 'nosuch'; available: .*\w"):
        specs.resolve(raw, registry)


def test_numbers_in_overrides(registry: Registry) -> None:
    # YAML 1.1 reads 1e-3 as a string; a person means a number
    spec = load_spec("binadd", ["optimizer.lr=1e-3", "optimizer.eps=2E-9"], registry)
    assert spec.options("optimizer")["lr"] == 0.001
    assert overrides.parse_override("optimizer.lr=1e-3") == ("optimizer.lr", 0.001)
    assert overrides.parse_override("train.steps=1_000") == ("train.steps", 1000)
    assert overrides.parse_override("model.cell=e5x") == ("model.cell", "e5x")
    assert overrides.parse_override("model.cell=inf") == ("model.cell", "inf")


def test_overrides_are_validated_by_the_same_models(registry: Registry) -> None:
    spec = load_spec("binadd", ["model.hidden=32", "task.bits=4", "optimizer.lr=0.02"], registry)
    assert (spec.model.hidden, spec.options("task")["bits"]) == (32, 4)
    assert spec.options("optimizer")["lr"] == 0.02
    with pytest.raises(SpecError, match=r"model\.hidden: Input should be greater than 0"):
        load_spec("binadd", ["model.hidden=0"], registry)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model.hiden=3", "unknown setting 'model.hiden'"),
        ("nosection.x=3", "unknown setting 'nosection.x'"),
        ("model=3", "must name an option"),
        ("model.hidden", "must look like section.option=value"),
        ("optimizer.lr=.nan", "optimizer.lr: Input should be a finite number"),
        ("optimizer.lr=fast", "optimizer.lr: Input should be a valid number"),
    ],
)
def test_bad_overrides(registry: Registry, text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace(".", r"\.")):
        load_spec("binadd", [text], registry)


class TinyCell(ElmanCell):
    """A second cell with an option Elman does not have (only its spec is used here)."""

    name: ClassVar[str] = "tiny"

    class Spec(PluginSpec):  # type: ignore[assignment]  # options of its own, not Elman's
        hidden: int
        width: int = 2


@pytest.fixture
def two_cells() -> Registry:
    @hookimpl
    def seqnet_register_cells(register: Any) -> None:
        register(TinyCell)

    module = SimpleNamespace(seqnet_register_cells=seqnet_register_cells)
    return load_registry(extra=[(Source("tiny", "tiny-dist", "1.0"), module)])


def test_choosing_another_plugin_drops_the_old_ones_options(two_cells: Registry) -> None:
    spec = load_spec("binadd", ["model.activation=relu", "model.cell=tiny"], two_cells)
    assert spec.model.cell == "tiny"
    # hidden stays: every cell requires it (no default to take); activation was Elman's
    assert spec.options("model") == {"hidden": 16, "width": 2}
    back = load_spec("binadd", ["model.cell=tiny", "model.width=5", "model.cell=elman"], two_cells)
    assert back.options("model") == {"hidden": 16, "activation": "tanh", "init": "uniform"}


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".toml"])
def test_spec_files_round_trip(registry: Registry, tmp_path: Path, suffix: str) -> None:
    spec = load_spec("binadd", ["model.hidden=24", "train.seed=3"], registry)
    data = spec.model_dump(mode="json")
    data["optimizer"].pop("clip")  # TOML has no null; leave it to its default
    path = tmp_path / f"run{suffix}"
    if suffix == ".yaml":
        path.write_text(spec_files.dump(spec))
    elif suffix == ".json":
        path.write_text(json.dumps(data))
    else:
        path.write_text(toml_text(data))
    assert load_spec(str(path), [], registry) == spec


def toml_text(data: dict[str, Any]) -> str:
    lines = []
    for section, values in data.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    """A TOML value: an inline table for a mapping (optimizer.schedule), else JSON's spelling."""
    if isinstance(value, dict):  # TOML has no null: a null field is left to its default
        shown = [f"{k} = {toml_value(v)}" for k, v in value.items() if v is not None]
        return "{" + ", ".join(shown) + "}"
    return json.dumps(value)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.yaml", None, "spec file '.*missing.yaml' not found"),
        ("bad.yaml", "task: [unclosed", "is malformed"),
        ("bad.json", "{", "is malformed"),
        ("bad.toml", "task = = 1", "is malformed"),
        ("list.yaml", "- 1\n- 2\n", "must hold a mapping"),
        ("empty.yaml", "", "must hold a mapping"),
        ("binary.yaml", b"\xff\xfe\x00", "cannot be read"),
        ("spec.ini", "x", "unknown format '.ini'"),
    ],
)
def test_bad_spec_files(
    tmp_path: Path, name: str, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(SpecError, match=message) as caught:
        spec_files.load_file(path)
    assert "\n" not in str(caught.value)


def test_missing_task_section_is_named(registry: Registry) -> None:
    with pytest.raises(SpecError, match="task: Field required"):
        specs.resolve({"model": {"hidden": 4}}, registry)


def union_variants(schema: dict[str, Any], union: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """plugin name -> its variant, for a union the schema discriminates by the plugin's name."""
    key = union["discriminator"]["propertyName"]
    found = [schema["$defs"][ref["$ref"].rsplit("/", 1)[1]] for ref in union["oneOf"]]
    return {variant["properties"][key]["const"]: variant for variant in found}


def test_the_schema_has_one_union_per_section_discriminated_by_plugin_name(
    registry: Registry,
) -> None:
    schema = specs.json_schema(registry)
    sections = schema["properties"]
    tasks = union_variants(schema, sections["task"])
    assert set(tasks) == set(registry.names("task"))
    assert {"name", "bits", "bits_min"} <= set(tasks["binadd"]["properties"])
    assert tasks["binadd"]["additionalProperties"] is False
    optimizers = union_variants(schema, sections["optimizer"])
    assert set(optimizers) == set(registry.names("optimizer"))
    assert {"name", "clip", "lr", "beta2"} <= set(optimizers["adam"]["properties"])
    stack, layer_list = sections["model"]["oneOf"]  # the shorthand, or a list of layers
    cells = union_variants(schema, stack)
    assert set(cells) == set(registry.names("cell"))
    assert {"cell", "hidden", "layers", "dropout", "activation", "init"} <= set(
        cells["elman"]["properties"]
    )
    listed = schema["$defs"][layer_list["$ref"].rsplit("/", 1)[1]]
    layers = union_variants(schema, listed["properties"]["layers"]["items"])
    assert set(layers) == {*registry.names("layer"), *registry.names("cell")}
    assert {"units", "activation"} <= set(layers["dense"]["properties"])
    assert "reverse" in layers["lstm"]["properties"]  # a cell as a layer
    every = [*tasks.values(), *optimizers.values(), *cells.values(), *layers.values()]
    assert all(variant["additionalProperties"] is False for variant in every)


def test_specs_check_against_the_schema(registry: Registry) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = specs.json_schema(registry)
    layers = [{"type": "embedding", "dim": 4}, {"type": "lstm", "hidden": 8, "reverse": True}]
    for spec in (
        load_spec("binadd", [], registry),
        load_spec("charlm", ["model.cell=gru", "optimizer.name=sgd"], registry),
        load_spec("charlm", [f"model.layers={layers}"], registry),
    ):
        jsonschema.validate(spec.model_dump(mode="json"), schema)
    data = load_spec("charlm", [f"model.layers={layers}"], registry).model_dump(mode="json")
    data["model"]["layers"][0]["units"] = 3  # not an embedding's option
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_reference_plugins_come_from_entry_points(registry: Registry) -> None:
    # The engine imports no plugin by name: binadd is there because its entry point is.
    entry = registry.get("task", "binadd")
    assert (entry.plugin, entry.distribution) == ("binadd", "seqnet")
    assert load_registry(eps=[]).names("task") == []


def test_a_flag_given_with_the_plugin_it_belongs_to_is_kept(tmp_path: Path) -> None:
    from seqnet.cli.options import overrides
    from seqnet.runs import Run

    # --lr comes before --optimizer among the flags; choosing sgd must not drop it
    flags = {"cell": None, "hidden": "8", "lr": "0.5", "optimizer": "sgd"}
    spec = load_spec("binadd", overrides(flags, None))
    assert (spec.optimizer.name, spec.options("optimizer")["lr"]) == ("sgd", 0.5)
    with Run.create("binadd", tmp_path / "run", hidden=8, lr=0.5, optimizer="sgd") as run:
        assert run.spec.options("optimizer")["lr"] == 0.5
    assert load_spec("binadd", ["optimizer.name=sgd"]).options("optimizer")["lr"] == 0.1  # sgd's


def test_the_dropout_flag_sets_the_shorthands_dropout(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from seqnet.cli import app

    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "binadd", "--layers", "2", "--dropout", "0.2",
                                      "--steps", "2", "-q", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((out / "spec.yaml").read_text())
    assert (written["model"]["layers"], written["model"]["dropout"]) == (2, 0.2)
    same = load_spec("binadd", ["model.layers=2", "model.dropout=0.2", "train.steps=2"])
    assert written == same.model_dump(mode="json")
