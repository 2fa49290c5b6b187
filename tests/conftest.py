"""Shared fixtures: a fresh plugin registry per test, loaded from the installed entry points."""

from __future__ import annotations

import pytest

from seqnet.plugins import load_registry
from seqnet.registry import Registry


@pytest.fixture
def registry() -> Registry:
    return load_registry()
