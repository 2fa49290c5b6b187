"""Shared fixtures: a fresh plugin registry per test, loaded from the installed entry points."""

from __future__ import annotations

import signal

import pytest

from seqnet.plugins import load_registry
from seqnet.registry import Registry
from tests.numerics import EXACT, differences

# A shell's background job (`pytest &`, a CI step without a terminal) starts with SIGINT
# ignored, and an ignored signal stays ignored across exec: the commands the tests start would
# never see the Ctrl-C that the tests send them. A handler is reset to the default by exec.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def registry() -> Registry:
    return load_registry()


def pytest_report_header() -> str:
    """Say whether pinned numbers are compared exactly (tests/numerics.py)."""
    if EXACT:
        return "pinned numbers: exact (this machine rounds as the one that recorded them)"
    return (
        "pinned numbers: to 1e-6, steps within 2x (this machine rounds otherwise: "
        + "; ".join(differences())
        + ")"
    )
