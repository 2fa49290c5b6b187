"""The pydantic specs of a run and spec files (YAML, JSON, TOML); `--set` lives in overrides.py.

The engine validates its own fields here; the options a plugin owns (`task.bits`,
`model.activation`, `optimizer.lr`) are validated by that plugin's nested `Spec` in `resolve`.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    SerializeAsAny,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationError,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from seqnet.bounds import Checked
from seqnet.errors import SpecError
from seqnet.layers import layer_spec, resolving_with
from seqnet.layers import variants as layer_variants
from seqnet.registry import Registry

PositiveInt = Annotated[int, Field(gt=0)]
MAX_HIDDEN = 1_000_000
MAX_LAYERS = 1_000
MAX_BATCH = 1_000_000
MAX_STEPS = 10**12
MAX_EVAL_SAMPLES = 10_000_000
MAX_THREADS = 1_024
Probability = Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)]
MAX_VALIDATE_LENGTH = 100_000
"""Longest `train.validate_lengths` entry: every evaluation scores eval_samples sequences of it."""


class TaskSection(Checked):
    """`task`: which task plugin, then that plugin's own options."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(description="registered task name, e.g. binadd")


def as_layer_section(value: Any) -> Any:
    """A `model.layers` entry, validated by its plugin's Spec (once: a validated one passes)."""
    if isinstance(value, BaseModel):
        return value
    try:
        return layer_spec(value)
    except SpecError as error:
        raise PydanticCustomError("layer_section", "{detail}", {"detail": str(error)}) from None


LayerSection = Annotated[SerializeAsAny[BaseModel], BeforeValidator(as_layer_section)]
SHORTHAND = ("cell", "hidden", "dropout")
"""The model fields that describe a stack of one cell; a list of layers has none of them."""


class ModelSection(Checked):
    """`model`: a list of layers, or the shorthand for a stack of one cell (which cell, its size,
    how many layers; the rest are the cell plugin's options). Then the head the task implies."""

    model_config = ConfigDict(extra="allow")
    cell: str = Field("elman", description="registered cell name, e.g. elman")
    hidden: Annotated[int, Field(gt=0, le=MAX_HIDDEN)] = Field(
        16, description="hidden units per layer"
    )
    layers: Annotated[
        Annotated[int, Field(gt=0, le=MAX_LAYERS), Tag("<count>")]
        | Annotated[list[LayerSection], Field(min_length=1, max_length=MAX_LAYERS), Tag("<list>")],
        Discriminator(lambda v: "<list>" if isinstance(v, list) else "<count>"),
    ] = Field(
        1,
        description="stacked recurrent layers of `cell`, or the model's list of layers, e.g."
        " [{type: embedding, dim: 16}, {type: lstm, hidden: 64}]",
    )
    dropout: Probability = Field(0.0, description="dropout between stacked layers (training only)")
    dtype: Literal["float64", "float32"] = Field("float64", description="floating-point precision")

    @property
    def is_list(self) -> bool:
        return isinstance(self.layers, list)

    @model_serializer(mode="wrap")
    def _only_the_list(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A list of layers is dumped without the shorthand's fields (they say nothing about
        it, and a spec that gave them would be refused), each layer with its `type` first."""
        data: dict[str, Any] = handler(self)
        if not isinstance(self.layers, list):
            return data
        layers = [{"type": entry.pop("type"), **entry} for entry in data["layers"]]
        return {"layers": layers, "dtype": data["dtype"]}

    def label(self) -> str:
        """The cell's name, or the layer types joined by `+` (`embedding+lstm+dense`)."""
        if isinstance(self.layers, list):
            return "+".join(str(getattr(layer, "type", "?")) for layer in self.layers)
        return self.cell

    @model_validator(mode="after")
    def dropout_needs_layers(self) -> ModelSection:
        if self.dropout > 0 and self.layers == 1:
            raise ValueError(
                "dropout acts between stacked layers; with model.layers 1 it would do nothing"
                " (stack layers, or leave dropout at 0)"
            )
        return self


class OptimizerSection(Checked):
    """`optimizer`: which optimizer and gradient clipping; the rest are the optimizer's options."""

    model_config = ConfigDict(extra="allow")
    name: str = Field("adam", description="registered optimizer name, e.g. adam")
    clip: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        1.0, description="clip gradients to this global L2 norm; null for no clipping"
    )


class EarlyStopSpec(Checked):
    """`train.early_stop`: stop training once a metric has stopped improving (off while
    `metric` is null)."""

    model_config = ConfigDict(extra="forbid")
    metric: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None,
        description="the metrics.jsonl column to watch (val_loss, exact_match, ...); null: no"
        " early stopping",
    )
    patience: Annotated[int, Field(ge=1, le=MAX_STEPS)] = Field(
        5, description="evaluations in a row without an improvement before training stops"
    )
    mode: Literal["auto", "min", "max"] = Field(
        "auto",
        description="whether lower (min) or higher (max) is better; auto: min for a loss, max"
        " for the task's target metric",
    )
    min_delta: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = Field(
        0.0, description="an improvement must beat the best so far by more than this"
    )


class TrainSpec(Checked):
    """`train`: the training loop's own settings."""

    model_config = ConfigDict(extra="forbid")
    steps: Annotated[int, Field(gt=0, le=MAX_STEPS)] = Field(
        3000, description="maximum optimizer steps"
    )
    batch: Annotated[int, Field(gt=0, le=MAX_BATCH)] = Field(
        32, description="sequences per training step"
    )
    seed: Annotated[int, Field(ge=0, lt=2**63)] = Field(
        0, description="root seed of every random stream"
    )
    eval_every: Annotated[int, Field(gt=0, le=MAX_STEPS)] = Field(
        50, description="steps between held-out evaluations"
    )
    eval_samples: Annotated[int, Field(gt=0, le=MAX_EVAL_SAMPLES)] = Field(
        1000, description="held-out sequences per evaluation"
    )
    target: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)] = Field(
        1.0, description="stop once the task's target metric reaches this on held-out data"
    )
    threads: Annotated[int, Field(gt=0, le=MAX_THREADS)] = Field(
        1,
        description="threads while training: BLAS threads, or batch slices for large batches;"
        " one is fastest for small nets",
    )
    patience: Annotated[int, Field(ge=1)] = Field(
        1, description="evaluations in a row that must reach the target before stopping"
    )
    margin: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = Field(
        0.0,
        description="an evaluation reaches the target only if also every scored output is right"
        " by at least this margin (logit of the right answer over the best wrong one)",
    )
    validate_lengths: list[Annotated[int, Field(gt=0, le=MAX_VALIDATE_LENGTH)]] = Field(
        default_factory=list,
        description="also score eval_samples held-out sequences at each of these lengths (tasks"
        " with a length option) at every evaluation; target and margin must hold at all of them",
    )
    grow: bool = Field(
        False,
        description="when, for `patience` evaluations in a row, the stop rule holds at every"
        " length trained on but not at a longer validate_lengths entry, train from then on at"
        " lengths up to the shortest such entry: what breaks only on long sequences is"
        " invisible to a loss on short ones",
    )
    keep: Literal["last", "best", "both"] = Field(
        "last",
        description="checkpoints a run folder keeps: `last` (checkpoint.npz, the latest, where"
        " resume continues from); `best` and `both` also keep the evaluation where best_metric"
        " was best (checkpoint-best.npz), which eval, predict and sample read by default with"
        " `best` and on request (--checkpoint best) with `both`",
    )
    best_metric: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        "val_loss",
        description="the metrics.jsonl column that picks the best checkpoint (keep: best|both)",
    )
    best_mode: Literal["auto", "min", "max"] = Field(
        "auto",
        description="whether lower (min) or higher (max) best_metric is better; auto: min for a"
        " loss, max for the task's target metric",
    )
    early_stop: EarlyStopSpec = Field(
        default_factory=lambda: EarlyStopSpec(),
        description="stop once a metric has stopped improving (seqnet.EarlyStopping)",
    )


class RunSpec(Checked):
    """Everything that defines a run. The same spec gives the same numbers."""

    model_config = ConfigDict(extra="forbid")
    task: TaskSection
    model: ModelSection = Field(default_factory=lambda: ModelSection())
    optimizer: OptimizerSection = Field(default_factory=lambda: OptimizerSection())
    train: TrainSpec = Field(default_factory=TrainSpec)
    _validated: dict[str, BaseModel] = PrivateAttr(default_factory=dict)
    """Each plugin section's options as its plugin's Spec validated them, kept by `resolve`."""

    def options(self, section: str) -> dict[str, Any]:
        """The plugin-owned options of a section (the fields the engine does not define)."""
        return dict(getattr(self, section).model_extra or {})

    def plugin_spec(self, section: str, cls: type[Any]) -> BaseModel:
        """The validated `cls.Spec` of a section's plugin: the one `resolve` made, or (for a
        spec built some other way) one validated now."""
        found = self._validated.get(section)
        if found is not None and isinstance(found, cls.Spec):
            return found
        own = self.options(section)
        if section == "model":
            own["hidden"] = self.model.hidden
        made: BaseModel = validate(cls.Spec, own, (section,))
        return made


# section -> (registry kind, the field that names the plugin)
PLUGIN_SECTIONS: dict[str, tuple[str, str]] = {
    "task": ("task", "name"),
    "model": ("cell", "cell"),
    "optimizer": ("optimizer", "name"),
}
ENGINE_FIELDS: dict[str, set[str]] = {
    "task": set(TaskSection.model_fields),
    "model": set(ModelSection.model_fields) - {"hidden"},  # the cell's Spec owns `hidden` too
    "optimizer": set(OptimizerSection.model_fields),
}


def format_validation_error(error: ValidationError, prefix: tuple[str | int, ...] = ()) -> str:
    """One line naming every bad field: `model.hidden: Input should be greater than 0 (got 0)`."""
    parts = []
    for item in error.errors():
        # a `<tag>` in a location names the branch of a union taken, not a place in the spec
        loc = [p for p in (*prefix, *item["loc"]) if not str(p).startswith("<")]
        where = ".".join(str(p) for p in loc) or "spec"
        got = "" if item["type"] == "missing" else f" (got {shown(item['input'])})"
        if item["type"] == "value_error":  # ours, from a validator: says it all
            parts.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
        elif item["type"] == "extra_forbidden":
            parts.append(f"{where}: unknown option")
        else:
            parts.append(f"{where}: {item['msg']}{got}")
    return "; ".join(parts)


def shown(value: Any, width: int = 60) -> str:
    """A value as an error message quotes it: repr, cut to `width` characters. The repr is
    taken of a copy cut to a few items per level, so a shared structure (a YAML alias bomb) is
    never expanded in full."""
    text = repr(_cut(value, 3))
    if isinstance(value, int) and not isinstance(value, bool) and len(text) > width:
        return f"a number of {len(text.lstrip('-'))} digits"
    return text if len(text) <= width else text[: width - 3] + "..."


def _cut(value: Any, depth: int) -> Any:
    if isinstance(value, dict):
        items = list(value.items())[:4] if depth > 0 else []
        return {k: _cut(v, depth - 1) for k, v in items} | (
            {"...": "..."} if len(value) > len(items) else {}
        )
    if isinstance(value, list):
        head = [_cut(v, depth - 1) for v in value[:4]] if depth > 0 else []
        return head + (["..."] if len(value) > len(head) else [])
    if isinstance(value, str) and len(value) > 200:
        return value[:200]
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 600:
        return float("inf") if value > 0 else float("-inf")  # str() would refuse past 4300 digits
    return value


def validate(model: type[BaseModel], data: Any, prefix: tuple[str, ...] = ()) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise SpecError(format_validation_error(error, prefix)) from None


def resolve(raw: Mapping[str, Any], registry: Registry) -> RunSpec:
    """Validate a raw spec: engine fields here, plugin options by each plugin's `Spec`.

    The result has every default filled in, so dumping it gives a complete, runnable spec.
    """
    with resolving_with(registry):
        spec: RunSpec = validate(RunSpec, with_layer_sections(raw, registry))
    update: dict[str, BaseModel] = {}
    validated: dict[str, BaseModel] = {}
    for section, (kind, key) in PLUGIN_SECTIONS.items():
        part = getattr(spec, section)
        if section == "model" and part.is_list:
            given = sorted({*SHORTHAND, *(part.model_extra or {})} & part.model_fields_set)
            if given:
                raise SpecError(
                    f"model.{given[0]}: not used with a list of layers; give each layer its own"
                    " options in model.layers"
                )
            continue
        cls = registry.get(kind, getattr(part, key)).cls
        own = spec.options(section)
        if section == "model":
            own["hidden"] = part.hidden
        validated[section] = validate(cls.Spec, own, (section,))
        options = validated[section].model_dump()
        engine = part.model_dump(exclude=set(part.model_extra or {}))
        update[section] = type(part).model_validate({**engine, **options})
    if spec.train.validate_lengths:
        task_cls = registry.get("task", spec.task.name).cls
        if not isinstance(getattr(task_cls, "length_option", None), str):
            raise SpecError(f"train.validate_lengths: task '{spec.task.name}' has no length option")
    resolved = spec.model_copy(update=update)
    resolved._validated = validated
    return resolved


def with_layer_sections(raw: Mapping[str, Any], registry: Registry) -> Mapping[str, Any]:
    """`raw` with each `model.layers` entry validated by its plugin's Spec, so that an error
    names its place (`model.layers.2.units: unknown option`)."""
    model = raw.get("model")
    if not isinstance(model, Mapping) or not isinstance(model.get("layers"), list):
        return raw
    sections = [
        entry
        if isinstance(entry, BaseModel)
        else layer_spec(entry, registry, ("model", "layers", str(i)))
        for i, entry in enumerate(model["layers"])
    ]
    return {**raw, "model": {**model, "layers": sections}}


def default_raw(task: str, registry: Registry) -> dict[str, Any]:
    """The raw default spec of a task: the engine's defaults under the task's `defaults`."""
    cls = registry.get("task", task).cls
    raw: dict[str, Any] = {"task": {"name": task}}
    for section, values in copy.deepcopy(cls.defaults).items():
        raw.setdefault(section, {}).update(values)
    return raw


MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_NODES = 100_000
MAX_VALUE_CHARS = 1_000


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a ceiling on nesting and on aliases (a "billion laughs" file
    builds a small graph that expands exponentially once anything walks it)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > 100:
                raise SpecError("more than 100 aliases")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SpecError(f"nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def check_shape(data: Any) -> None:
    """Refuse data nested past MAX_DEPTH or, counting every shared reference again, holding
    more than MAX_NODES values: what reading, validating and printing it would have to walk."""
    budget = [MAX_NODES]

    def walk(node: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise SpecError(f"nested more than {MAX_DEPTH} levels deep")
        budget[0] -= 1
        if budget[0] < 0:
            raise SpecError(f"holds more than {MAX_NODES:,} values (aliases counted each time)")
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        for child in children:
            walk(child, depth + 1)

    walk(data, 0)


def load_file(path: Path) -> dict[str, Any]:
    """Read a spec file (.yaml, .yml, .json or .toml) into a dict; one-line errors. A file is
    bounded in size, depth and (YAML) aliases before and while it is parsed."""
    suffix = path.suffix.lower()
    if suffix not in {".yaml", ".yml", ".json", ".toml"}:
        raise SpecError(
            f"spec file '{path}': unknown format '{suffix}' (use .yaml, .json or .toml)"
        )
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise SpecError(f"spec file '{path}' is larger than {MAX_FILE_BYTES:,} bytes")
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise SpecError(f"spec file '{path}' not found") from None
    except IsADirectoryError:
        raise SpecError(f"spec file '{path}' is a folder") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise SpecError(f"spec file '{path}' cannot be read: {reason}") from None
    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        else:
            loader = BoundedLoader(text)
            try:
                data = loader.get_single_data()
            finally:
                loader.dispose()
        check_shape(data)
    except SpecError as error:
        raise SpecError(f"spec file '{path}' {error}") from None
    except RecursionError:
        raise SpecError(f"spec file '{path}' nested more than {MAX_DEPTH} levels deep") from None
    except (ValueError, yaml.YAMLError) as error:
        reason = " ".join(str(error).split())[:300]
        raise SpecError(f"spec file '{path}' is malformed: {reason}") from None
    if not isinstance(data, dict):
        raise SpecError(f"spec file '{path}' must hold a mapping of sections (task, model, ...)")
    return data


def dump(spec: RunSpec, fmt: Literal["yaml", "json"] = "yaml") -> str:
    data = spec.model_dump(mode="json")
    if fmt == "json":
        return json.dumps(data, indent=2)
    return yaml.safe_dump(data, sort_keys=False)


def with_task_defaults(raw: Mapping[str, Any], registry: Registry) -> dict[str, Any]:
    """A spec file under its task's defaults, as `seqnet run TASK` starts from them: each
    section of the file over the task's. A section that names another plugin (another cell or
    optimizer) or a list of layers drops the default plugin's options."""
    task = raw.get("task")
    name = task.get("name") if isinstance(task, Mapping) else None
    if not isinstance(name, str) or name not in registry.entries["task"]:
        return dict(raw)  # validation names what is wrong
    out = default_raw(name, registry)
    for section, given in raw.items():
        base = out.get(section)
        if not isinstance(given, Mapping) or not isinstance(base, dict):
            out[section] = given
            continue
        if section == "model" and isinstance(given.get("layers"), list):
            base = {k: v for k, v in base.items() if k == "dtype"}
        elif section in PLUGIN_SECTIONS:
            key = PLUGIN_SECTIONS[section][1]
            if key in given and given[key] != base.get(key):
                base = {k: v for k, v in base.items() if k in ENGINE_FIELDS[section]}
        out[section] = {**base, **given}
    return out


def layer_list_variant(
    registry: Registry, engine: dict[str, Any], defs: dict[str, Any]
) -> dict[str, Any]:
    """The model section as a list of layers: each entry one of every layer type's options
    (every registered layer, and every cell with `reverse`)."""
    types = []
    for made in layer_variants(registry):
        own = made.model_json_schema()
        defs.update(own.pop("$defs", {}))
        own["title"] = f"layer ({own['properties']['type'].get('const')})"
        own["additionalProperties"] = False
        types.append(own)
    return {
        "title": "model (list of layers)",
        "type": "object",
        "properties": {
            "layers": {
                "type": "array",
                "minItems": 1,
                "items": {"oneOf": types},
                "description": "the model's layers, in order; the head the task implies follows",
            },
            "dtype": engine["properties"]["dtype"],
        },
        "required": ["layers"],
        "additionalProperties": False,
    }


def json_schema(registry: Registry) -> dict[str, Any]:
    """The JSON schema of a run spec, with each plugin's options as a variant of its section."""
    schema = RunSpec.model_json_schema()
    defs = schema.setdefault("$defs", {})
    sections = {"task": TaskSection, "model": ModelSection, "optimizer": OptimizerSection}
    for section, (kind, key) in PLUGIN_SECTIONS.items():
        engine = defs[sections[section].__name__]
        variants = []
        for name in registry.names(kind):  # type: ignore[arg-type]
            own = registry.get(kind, name).cls.Spec.model_json_schema()
            defs.update(own.pop("$defs", {}))
            variant = copy.deepcopy(engine)
            variant["title"] = f"{section} ({name})"
            variant["properties"] = {**engine["properties"], **own.get("properties", {})}
            variant["properties"][key] = {"const": name, "type": "string"}
            variant["required"] = sorted(
                {key, *engine.get("required", []), *own.get("required", [])}
            )
            variant["additionalProperties"] = False
            if section == "model":  # the shorthand: `layers` counts layers of this cell
                variant["properties"]["layers"] = {
                    "type": "integer", "exclusiveMinimum": 0, "default": 1,
                    "description": "stacked recurrent layers of this cell",
                }  # fmt: skip
            variants.append(variant)
        if section == "model":
            variants.append(layer_list_variant(registry, engine, defs))
        defs[sections[section].__name__] = {
            "oneOf": variants,
            "description": engine.get("description", ""),
        }
    return schema
