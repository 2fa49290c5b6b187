"""The pydantic model of a run spec, made from the registry: each plugin-owned section (the task,
the model's cell or each of its layers, the optimizer) is a union discriminated by the plugin's
name whose variants are the plugins' own Specs, so `resolve` validates a spec in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Literal, Union, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    Tag,
    create_model,
    model_serializer,
    model_validator,
)

from seqnet.bounds import Checked
from seqnet.errors import SpecError
from seqnet.layers import layer_entry, resolving_with
from seqnet.layers import variants as layer_variants
from seqnet.registry import Kind, Registry
from seqnet.spec_errors import validate
from seqnet.trainspec import TrainSpec

MAX_LAYERS = 1_000
Probability = Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)]
DEFAULT_MODEL: dict[str, Any] = {"cell": "elman", "hidden": 16}
"""The model of a spec that gives none (a task's `defaults` usually name their own)."""
DEFAULT_OPTIMIZER: dict[str, Any] = {"name": "adam"}


class Section(Checked):
    """The engine's fields of a plugin-owned section. Each variant (`variant`) adds one plugin's
    Spec, and its `key` field is that plugin's name; every other field is the plugin's."""

    model_config = ConfigDict(extra="forbid")
    section: ClassVar[str]
    key: ClassVar[str]
    kind: ClassVar[Kind]
    default: ClassVar[str | None] = None
    """The plugin a section that names none gets."""
    plugin: ClassVar[type[Any] | None] = None
    """A variant's plugin class; None on the engine's own section."""

    def options(self) -> dict[str, Any]:
        """The plugin's options, as its Spec dumps them."""
        own = set(self.plugin.Spec.model_fields) if self.plugin is not None else set()
        return self.model_dump(include=own)

    def plugin_spec(self) -> BaseModel:
        """The plugin's own Spec holding this section's (validated) options, not validated again:
        what the plugin's constructor receives."""
        if self.plugin is None:
            raise SpecError(f"{self.kind} section was not validated by a plugin's Spec")
        spec_cls: type[BaseModel] = self.plugin.Spec
        values = {name: getattr(self, name) for name in spec_cls.model_fields}
        made = spec_cls.model_construct(self.model_fields_set & set(values), **values)
        if self.__pydantic_private__:  # what the Spec's own validators kept aside
            object.__setattr__(made, "__pydantic_private__", dict(self.__pydantic_private__))
        return made

    @model_serializer(mode="wrap")
    def _plugin_first(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Dumped as a spec file reads best: the plugin's name, its options, the engine's."""
        data: dict[str, Any] = handler(self)
        first = [self.key, *(self.plugin.Spec.model_fields if self.plugin else ())]
        return {k: data[k] for k in first if k in data} | data


class TaskSection(Section):
    """`task`: which task plugin, then that plugin's own options."""

    section: ClassVar[str] = "task"
    key: ClassVar[str] = "name"
    kind: ClassVar[Kind] = "task"
    name: str = Field(description="registered task name, e.g. binadd")


class ModelSection(Checked):
    """`model`: a stack of one cell (`StackSection`) or a list of layers (`LayerListSection`),
    then the head the task implies."""

    @property
    def is_list(self) -> bool:
        return isinstance(self, LayerListSection)

    def label(self) -> str:
        """The cell's name, or the layer types joined by `+` (`embedding+lstm+dense`)."""
        if isinstance(self, LayerListSection):
            return "+".join(str(getattr(layer, "type", "?")) for layer in self.layers)
        return str(getattr(self, "cell", "?"))


class StackSection(ModelSection, Section):
    """The shorthand: `layers` layers of one cell, with dropout between them; the cell's own
    options (its `hidden` among them) are the rest of the section."""

    section: ClassVar[str] = "model"
    key: ClassVar[str] = "cell"
    kind: ClassVar[Kind] = "cell"
    default: ClassVar[str | None] = "elman"
    cell: str = Field("elman", description="registered cell name, e.g. elman")
    layers: Annotated[int, Field(gt=0, le=MAX_LAYERS)] = Field(
        1, description="stacked recurrent layers of `cell`"
    )
    dropout: Probability = Field(0.0, description="dropout between stacked layers (training only)")
    dtype: Literal["float64", "float32"] = Field("float64", description="floating-point precision")

    @model_validator(mode="after")
    def dropout_needs_layers(self) -> StackSection:
        if self.dropout > 0 and self.layers == 1:
            raise ValueError(
                "dropout acts between stacked layers; with model.layers 1 it would do nothing"
                " (stack layers, or leave dropout at 0)"
            )
        return self


class LayerListSection(ModelSection):
    """`model.layers` as a list: each entry `{type: NAME, ...}`, validated by that layer's (or
    cell's) Spec."""

    model_config = ConfigDict(extra="forbid", title="model (list of layers)")
    layers: list[BaseModel] = Field(
        min_length=1,
        max_length=MAX_LAYERS,
        description="the model's layers, in order; the head the task implies follows, e.g."
        " [{type: embedding, dim: 16}, {type: lstm, hidden: 64}]",
    )
    dtype: Literal["float64", "float32"] = Field("float64", description="floating-point precision")

    @model_validator(mode="before")
    @classmethod
    def _no_shorthand(cls, data: Any) -> Any:
        given = sorted(set(data) - set(cls.model_fields)) if isinstance(data, Mapping) else []
        if given:
            raise SpecError(  # not a ValueError: pydantic lets it through, naming the field
                f"model.{given[0]}: not used with a list of layers; give each layer its own"
                " options in model.layers"
            )
        return data

    @model_serializer(mode="wrap")
    def _type_first(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        data["layers"] = [{"type": entry.pop("type"), **entry} for entry in data["layers"]]
        return data


class OptimizerSection(Section):
    """`optimizer`: which optimizer and gradient clipping; the rest are the optimizer's options."""

    section: ClassVar[str] = "optimizer"
    key: ClassVar[str] = "name"
    kind: ClassVar[Kind] = "optimizer"
    default: ClassVar[str | None] = "adam"
    name: str = Field("adam", description="registered optimizer name, e.g. adam")
    clip: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        1.0, description="clip gradients to this global L2 norm; null for no clipping"
    )


class RunSpec(Checked):
    """Everything that defines a run. The same spec gives the same numbers. `resolve` makes one
    with the plugins of a registry (this class alone knows no plugin's options)."""

    model_config = ConfigDict(extra="forbid")
    task: TaskSection
    model: StackSection | LayerListSection
    optimizer: OptimizerSection
    train: TrainSpec = Field(default_factory=TrainSpec)
    _validated: dict[str, BaseModel] = PrivateAttr(default_factory=dict)
    """Each plugin section's options as its plugin's own Spec, made by `resolve`."""

    def options(self, section: str) -> dict[str, Any]:
        """The plugin-owned options of a section (the fields the engine does not define)."""
        part = getattr(self, section)
        return part.options() if isinstance(part, Section) else {}

    def plugin_spec(self, section: str, cls: type[Any]) -> BaseModel:
        """The validated `cls.Spec` of a section's plugin (not validated again)."""
        found = self._validated.get(section)
        if found is not None and isinstance(found, cls.Spec):
            return found
        part = getattr(self, section)
        if not isinstance(part, Section) or part.plugin is not cls:
            raise SpecError(f"{section}: not validated by {cls.__qualname__}.Spec")
        return part.plugin_spec()


SECTIONS: dict[str, type[Section]] = {
    "task": TaskSection,
    "model": StackSection,
    "optimizer": OptimizerSection,
}
"""Each plugin-owned section (the model's as a stack of one cell) and its engine fields."""
_variants: dict[tuple[type[Section], type[Any]], type[Section]] = {}


def variant(base: type[Section], cls: type[Any]) -> type[Section]:
    """`base` with plugin `cls`'s own Spec: its `key` field is the constant `cls.name`. Made once
    per pair; it validates with the Spec's validators, as a subclass of the Spec."""
    if (base, cls) not in _variants:
        field = (Literal[cls.name], Field(cls.name, description=f"the {base.kind}: {cls.name}"))
        made = cast(
            "type[Section]",
            create_model(  # type: ignore[call-overload]
                f"{base.section}_{cls.name}",
                __base__=(cls.Spec, base),
                __module__=__name__,
                __cls_kwargs__={"title": f"{base.section} ({cls.name})", "extra": "forbid"},
                **{base.key: field},
            ),
        )
        made.plugin = cls
        _variants[base, cls] = made
    return _variants[base, cls]


def picker(key: str, default: str | None = None) -> Callable[[Any], str | None]:
    """The discriminator of a union of variants: `<NAME>` for the plugin a section names."""

    def pick(value: Any) -> str | None:
        found = value.get(key, default) if isinstance(value, Mapping) else getattr(value, key, None)
        return f"<{found}>" if isinstance(found, str) else None

    pick.__name__ = key
    return pick


def union(variants: list[type[BaseModel]], key: str, what: str, default: str | None = None) -> Any:
    """The variants as one union discriminated by `key` (the plugin's name), as pydantic checks
    it and the JSON schema shows it."""
    if len(variants) < 2:
        return variants[0] if variants else None
    names = [v.model_fields[key].annotation.__args__[0] for v in variants]  # type: ignore[union-attr]
    tagged = tuple(Annotated[v, Tag(f"<{n}>")] for v, n in zip(variants, names, strict=True))
    return Annotated[
        Union[tagged],  # noqa: UP007 (a Union of a tuple built at run time)
        Discriminator(
            picker(key, default),
            custom_error_type="plugin_name",
            custom_error_message=f"needs a `{key}`: a registered {what}",
        ),
        Field(json_schema_extra={"discriminator": {"propertyName": key}}),
    ]


def stack_or_list(value: Any) -> str:
    layers = value.get("layers") if isinstance(value, Mapping) else getattr(value, "layers", None)
    return "<list>" if isinstance(layers, list) else "<stack>"


_models: dict[tuple[Any, ...], type[RunSpec]] = {}


def run_spec_model(registry: Registry) -> type[RunSpec]:
    """RunSpec with the registry's plugins: each section a union of their Specs. Made once per
    set of registered classes."""
    kinds: tuple[Kind, ...] = ("task", "cell", "layer", "optimizer")
    key = tuple((k, n, registry.entries[k][n].cls) for k in kinds for n in registry.names(k))
    if key in _models:
        return _models[key]

    def of(kind: Kind, base: type[Section]) -> list[type[BaseModel]]:
        return [variant(base, registry.entries[kind][n].cls) for n in registry.names(kind)]

    stacks = union(of("cell", StackSection), "cell", "cell", "elman") or StackSection
    layer = union(layer_variants(registry), "type", "layer or cell") or BaseModel
    layer_list = create_model(
        "model_layers",
        __base__=LayerListSection,
        __module__=__name__,
        layers=(list[layer], LayerListSection.model_fields["layers"]),  # type: ignore[valid-type]
    )
    forms = (Annotated[stacks, Tag("<stack>")], Annotated[layer_list, Tag("<list>")])
    model = Annotated[Union[forms], Discriminator(stack_or_list)]  # type: ignore[valid-type]  # noqa: UP007
    # plain values, not expressions, in create_model's field tuples: newer pydantic types them
    # as TypeForm, where mypy reads the string arguments of a call as string annotations
    task: Any = union(of("task", TaskSection), "name", "task") or TaskSection
    optimizer: Any = union(of("optimizer", OptimizerSection), "name", "optimizer", "adam")
    optimizer = optimizer or OptimizerSection
    made: type[RunSpec] = create_model(
        "RunSpec",
        __base__=RunSpec,
        __module__=__name__,
        task=(
            task,
            Field(description="the task plugin (`name`), then its own options"),
        ),
        model=(
            model,
            Field(
                default_factory=lambda: dict(DEFAULT_MODEL),
                validate_default=True,
                description="a stack of one cell (`cell`, its options, `layers`, `dropout`) or"
                " a list of layers (`layers: [{type: NAME, ...}]`); then the task's head",
            ),
        ),
        optimizer=(
            optimizer,
            Field(
                default_factory=lambda: dict(DEFAULT_OPTIMIZER),
                validate_default=True,
                description="the optimizer plugin (`name`), its own options, and `clip`",
            ),
        ),
    )
    _models[key] = made
    return made


def check_names(raw: Mapping[str, Any], registry: Registry) -> None:
    """Each plugin a raw spec names is registered: else one line saying what there is (the
    registry's), before validation."""
    for section, base in SECTIONS.items():
        part = raw.get(section)
        if not isinstance(part, Mapping):
            continue
        layers = part.get("layers") if section == "model" else None
        if isinstance(layers, list):
            for i, entry in enumerate(layers):
                if isinstance(entry, BaseModel):
                    continue
                if not isinstance(entry, Mapping) or not isinstance(entry.get("type"), str):
                    raise SpecError(
                        f"model.layers.{i}: a layer needs a `type` (a registered layer or cell);"
                        f" got {entry!r}"[:300]
                    )
                layer_entry(entry["type"], registry)
            continue
        name = part.get(base.key, base.default)
        if isinstance(name, str):
            registry.get(base.kind, name)


def resolve(raw: Mapping[str, Any], registry: Registry) -> RunSpec:
    """Validate a raw spec in one pass: the engine's fields, and each plugin section by that
    plugin's own Spec (every layer of a list by its own). Every default is filled in, so dumping
    the result gives a complete, runnable spec."""
    check_names(raw, registry)
    with resolving_with(registry):  # the registry nested layer sections are validated with
        spec: RunSpec = validate(run_spec_model(registry), raw)
    if spec.train.validate_lengths:
        task_cls = registry.get("task", spec.task.name).cls
        if not isinstance(getattr(task_cls, "length_option", None), str):
            raise SpecError(f"train.validate_lengths: task '{spec.task.name}' has no length option")
    spec._validated = {
        name: part.plugin_spec()
        for name in SECTIONS
        for part in [getattr(spec, name)]
        if isinstance(part, Section) and part.plugin is not None
    }
    return spec


def json_schema(registry: Registry) -> dict[str, Any]:
    """The JSON schema of a run spec with the registry's plugins, each a variant of its section."""
    return run_spec_model(registry).model_json_schema()
