"""Plugin classes take their Spec's fields as real keyword parameters (seqnet.spec_init).

Checked over every registered task, cell, layer, optimizer and sweep engine, so a plugin's
constructor and its spec file options cannot drift apart.
"""

from __future__ import annotations

import inspect
import pydoc
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest
from pydantic import Field

import seqnet
from seqnet.plugins import default_registry
from seqnet.signatures import from_spec, signature_problems
from seqnet.testing import check_signature

KINDS = ("task", "cell", "layer", "optimizer", "engine")
ENTRIES = [entry for kind in KINDS for entry in default_registry().entries[kind].values()]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.kind}-{e.name}")
def test_every_plugin_takes_its_spec_fields_as_keywords(entry: Any) -> None:
    cls = entry.cls
    parameters = inspect.signature(cls, eval_str=True).parameters
    fields = cls.Spec.model_fields
    assert list(parameters) == list(fields)
    for name, field in fields.items():
        p = parameters[name]
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert p.annotation == field.annotation, name
        if field.is_required():
            assert p.default is inspect.Parameter.empty, name
        else:
            assert p.default == field.get_default(call_default_factory=True), name
    check_signature(cls)


def test_the_reference_plugins_are_all_checked() -> None:
    """The parametrisation above is not empty by accident: every kind has its plugins."""
    names = {kind: {e.name for e in ENTRIES if e.kind == kind} for kind in KINDS}
    assert {"binadd", "reverse_string", "textlines"} <= names["task"]
    assert {"elman", "lstm", "gru", "stack_rnn"} <= names["cell"]
    assert {"dense", "bidirectional", "residual"} <= names["layer"]
    assert {"sgd", "adam", "adamw"} <= names["optimizer"]
    assert {"process", "dask"} <= names["engine"]


def test_help_and_inspect_show_the_options() -> None:
    from seqnet_elman import ElmanCell
    from seqnet_optim import AdamW

    assert str(inspect.signature(ElmanCell)) == (
        "(*, hidden: int, activation: Literal['tanh', 'sigmoid', 'relu'] = 'tanh',"
        " init: Literal['uniform', 'glorot_orthogonal'] = 'uniform')"
    )
    assert inspect.signature(AdamW).parameters["weight_decay"].default == 0.01  # its own Spec
    assert "ElmanCell(*, hidden: int, activation:" in pydoc.render_doc(ElmanCell)


def test_keywords_are_validated_by_the_spec_with_one_line() -> None:
    from seqnet_elman import ElmanCell
    from seqnet_layers import Dense

    cell = ElmanCell(hidden=4, activation="relu")
    assert (cell.hidden, cell.spec.activation) == (4, "relu")
    with pytest.raises(seqnet.SpecError, match=r"^ElmanCell\.hidden: Input should be greater"):
        ElmanCell(hidden=0)
    with pytest.raises(
        seqnet.SpecError, match=r"^Dense\.units: Field required; Dense\.unit: unknown option$"
    ):
        Dense(unit=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        ElmanCell(4)  # type: ignore[misc]


class Base:
    """A stand-in plugin for the checks below."""

    name: ClassVar[str] = "base"

    class Spec(seqnet.PluginSpec):
        size: int = Field(gt=0)
        mode: Literal["a", "b"] = "a"

    @seqnet.spec_init(Spec)
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.validated = True


class Inherits(Base):
    """A new Spec, but the parent's constructor: the signature says `mode` defaults to "a"."""

    class Spec(Base.Spec):
        mode: Literal["a", "b"] = "b"


class HandWritten:
    class Spec(seqnet.PluginSpec):
        size: int
        scale: float = 1.0

    def __init__(self, size: int, scale: float = 2.0) -> None:
        self.spec = self.Spec(size=size, scale=scale)


def test_the_check_finds_a_constructor_that_drifted_from_its_spec() -> None:
    check_signature(Base)
    assert signature_problems(Inherits) == [
        "Inherits: its constructor is made from Base.Spec, not Inherits.Spec"
    ]
    assert signature_problems(HandWritten) == [
        "HandWritten: `size` is not keyword-only",
        "HandWritten: `scale` is not keyword-only",
    ]
    with pytest.raises(AssertionError, match="not keyword-only"):
        check_signature(HandWritten)


def test_the_engine_builds_from_a_validated_spec_without_validating_again() -> None:
    spec = Base.Spec(size=3)
    built = from_spec(Base, spec)
    assert built.spec is spec and built.validated
    assert from_spec(HandWritten, HandWritten.Spec(size=2)).spec.scale == 1.0  # by its keywords


def test_spec_init_takes_a_spec_class() -> None:
    with pytest.raises(TypeError, match="takes a pydantic model class"):
        seqnet.spec_init(dict)


CALLS = """
from seqnet_elman import ElmanCell
from seqnet_layers import Dense
from seqnet_optim import Adam

ElmanCell(hidden=8, activation="relu")
Dense(units=4, activation="gelu")
Adam(lr=0.01, beta1=0.8)
ElmanCell(hidden="8")
Dense(units=4, activation="swish")
Adam(learning_rate=0.1)
"""


def test_mypy_sees_the_real_signatures(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """mypy, with this project's configuration, accepts the good calls and names each bad one."""
    pytest.importorskip("mypy")
    kept = getattr(request.config, "cache", None)
    cache = kept.mkdir("mypy-signatures") if kept is not None else tmp_path / "cache"
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "calls.py").write_text(CALLS)
    config = str(root / "pyproject.toml")
    command = [sys.executable, "-m", "mypy", "--cache-dir", str(cache), "--config-file", config,
               str(tmp_path / "calls.py")]  # fmt: skip
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["9", "10", "11"], done.stdout
    assert (
        'Argument "hidden" to "ElmanCell" has incompatible type "str"; expected "int"' in errors[0]
    )
    assert '"activation" to "Dense"' in errors[1]
    assert 'Unexpected keyword argument "learning_rate" for "Adam"' in errors[2]
