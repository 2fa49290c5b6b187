"""The signature check: a plugin's constructor takes exactly its Spec's fields as keywords."""

from __future__ import annotations

from typing import Any

from seqnet.signatures import signature_problems


def check_signature(cls: type[Any]) -> None:
    """`cls(...)` takes every field of `cls.Spec` as a keyword-only parameter of the same name,
    type and default, and nothing else, so that `help()`, editors and mypy show the options a
    spec file takes. A class whose `__init__` is made by `seqnet.spec_init(Spec)` passes as
    long as it is its own `Spec` (a subclass with a new `Spec` decorates its own `__init__`)."""
    problems = signature_problems(cls)
    assert not problems, "; ".join(problems)
