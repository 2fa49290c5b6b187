"""Spec files (YAML, JSON, TOML) read into plain data, bounded in size, depth and aliases before
anything walks them; and a resolved spec dumped back as YAML or JSON.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from seqnet.errors import SpecError

if TYPE_CHECKING:
    from seqnet.specs import RunSpec

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
