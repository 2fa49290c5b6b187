"""Plugin constructors with real signatures, made from the plugin's `Spec` by `spec_init`.

`ElmanCell(hidden=16)` validates its keywords with `ElmanCell.Spec` and hands the result to the
`__init__` that `spec_init` decorated; the engine hands a spec it has validated to that same
function (`from_spec`). `signature_problems` says where a constructor and its Spec differ.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from pydantic import BaseModel, ValidationError

from seqnet.errors import SpecError
from seqnet.spec_errors import format_validation_error

P = ParamSpec("P")
S = TypeVar("S", bound=BaseModel)
T = TypeVar("T")

_MADE = "__seqnet_spec_init__"  # on the constructor spec_init makes: (Spec, undecorated init)


def spec_init(
    spec: Callable[P, S],
) -> Callable[[Callable[[T, S], None]], Callable[Concatenate[T, P], None]]:
    """Give a plugin class the keyword constructor of its `Spec`.

    Decorate an `__init__(self, spec)` that sets the instance up from a validated `Spec`::

        class ElmanCell:
            class Spec(seqnet.PluginSpec):
                hidden: int
                activation: Literal["tanh", "relu"] = "tanh"

            @seqnet.spec_init(Spec)
            def __init__(self, spec: Spec) -> None:
                self.spec = spec

    `ElmanCell(hidden=16, activation="relu")` then takes exactly the Spec's fields, keyword-only,
    with their types and defaults: `help()`, `inspect.signature`, editors and mypy see them.
    The keywords are validated by the Spec; a bad one is a SpecError with one line
    (`ElmanCell.hidden: Input should be greater than 0 (got 0)`). The engine builds the class
    from a spec it validated already, without a second validation. A subclass with its own
    `Spec` decorates its own `__init__` (seqnet.testing.check_signature says when it does not).
    """
    if not (isinstance(spec, type) and issubclass(spec, BaseModel)):
        raise TypeError(f"spec_init takes a pydantic model class (a Spec); got {spec!r}")
    model: type[BaseModel] = spec
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY), *keyword_parameters(model)]
    )

    def decorate(init: Callable[[T, S], None]) -> Callable[Concatenate[T, P], None]:
        def __init__(self: T, /, **options: Any) -> None:
            init(self, cast(S, validated(model, options, type(self).__name__)))

        __init__.__signature__ = signature  # type: ignore[attr-defined]  # read by inspect
        __init__.__wrapped__ = init  # type: ignore[attr-defined]  # functools' convention
        __init__.__doc__ = init.__doc__
        __init__.__qualname__ = getattr(init, "__qualname__", "__init__")
        __init__.__module__ = getattr(init, "__module__", __name__)
        setattr(__init__, _MADE, (model, init))
        return cast(Callable[Concatenate[T, P], None], __init__)

    return decorate


def keyword_parameters(spec: type[BaseModel]) -> list[inspect.Parameter]:
    """The Spec's fields as keyword-only parameters: name, type (without its constraints) and
    default (a default factory's value; none when the field is required)."""
    return [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=(
                inspect.Parameter.empty
                if field.is_required()
                else field.get_default(call_default_factory=True)
            ),
            annotation=field.annotation,
        )
        for name, field in spec.model_fields.items()
    ]


def validated(spec: type[BaseModel], options: dict[str, Any], owner: str) -> BaseModel:
    """`spec` validated from keywords; a SpecError with one line naming `owner` if they are bad."""
    try:
        return spec.model_validate(options)
    except ValidationError as error:
        raise SpecError(format_validation_error(error, (owner,))) from None


def made_by_spec_init(cls: type[Any]) -> tuple[type[BaseModel], Callable[[Any, Any], None]] | None:
    """(Spec, the undecorated `__init__`) when `cls`'s constructor comes from `spec_init`."""
    made = getattr(cls.__init__, _MADE, None)
    return cast(tuple[type[BaseModel], Callable[[Any, Any], None]] | None, made)


def from_spec(cls: type[T], spec: BaseModel) -> T:
    """An instance of a plugin class from its validated Spec, the engine's path: the class's
    `from_spec` classmethod if it has one, else its `spec_init` constructor without validating
    again, else its constructor called with the Spec's fields as keywords."""
    own = getattr(cls, "from_spec", None)
    if callable(own):
        return cast(T, own(spec))
    made = made_by_spec_init(cls)
    if made is not None:
        instance = cls.__new__(cls)
        made[1](instance, spec)
        return instance
    spec_cls: type[BaseModel] = cls.Spec  # type: ignore[attr-defined]
    return cls(**{name: getattr(spec, name) for name in spec_cls.model_fields})


def signature_problems(cls: type[Any]) -> list[str]:
    """Where `cls`'s constructor and `cls.Spec` differ: every field a keyword-only parameter of
    the same name, type and default, and no other parameter. Empty when they agree."""
    spec: type[BaseModel] = cls.Spec
    label = cls.__qualname__
    made = made_by_spec_init(cls)
    if made is not None and made[0] is not spec:
        return [f"{label}: its constructor is made from {made[0].__qualname__}, not {label}.Spec"]
    try:
        parameters = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError) as error:
        return [f"{label}: no signature ({error})"]
    wanted = {p.name: p for p in keyword_parameters(spec)}
    problems = []
    for p in parameters:
        want = wanted.pop(p.name, None)
        if want is None:
            problems.append(f"{label}: parameter `{p.name}` is not a field of its Spec")
        elif p.kind is not inspect.Parameter.KEYWORD_ONLY:
            problems.append(f"{label}: `{p.name}` is not keyword-only")
        elif p.annotation != want.annotation:
            problems.append(
                f"{label}: `{p.name}` is {p.annotation!r}; the Spec says {want.annotation!r}"
            )
        elif not _same(p.default, want.default):
            problems.append(
                f"{label}: `{p.name}` defaults to {p.default!r}; the Spec says {want.default!r}"
            )
    problems += [f"{label}: no parameter for the Spec's field `{name}`" for name in wanted]
    return problems


def _same(a: Any, b: Any) -> bool:
    """Defaults equal, and of one type (True == 1 and 1 == 1.0 are not the same default)."""
    return type(a) is type(b) and bool(a == b)
