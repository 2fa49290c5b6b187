"""Checkpoints: arrays as .npy members of one zip (.npz) plus a JSON manifest, never a pickle.

A file is written atomically (temp file in the same folder, fsync, `os.replace`), so a process
killed mid-save leaves the previous checkpoint whole. `load` refuses bad files with one line.
"""

from __future__ import annotations

import hashlib
import json
import platform
import zipfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from seqnet.atomic import atomic_file
from seqnet.errors import SeqnetError
from seqnet.interfaces import Array, Params

FORMAT = "seqnet-checkpoint/1"
MANIFEST = "manifest.json"
ARRAY = "__array__"  # a manifest leaf {"__array__": member} stands for an array member


class CheckpointError(SeqnetError):
    """A checkpoint that cannot be trusted or read; the message names the file and the reason."""

    exit_code = 1


@dataclass
class Checkpoint:
    """What a checkpoint holds: the run's spec, where training stood, and every array."""

    spec: dict[str, Any]
    step: int
    params: Params
    optimizer: dict[str, Any]
    streams: dict[str, Any]
    loop: dict[str, Any]
    versions: dict[str, Any]


def package_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


def versions(plugins: dict[str, dict[str, str]]) -> dict[str, Any]:
    """numpy, seqnet, python and each plugin used: {kind: {name, plugin, distribution, version}}."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "seqnet": package_version("seqnet"),
        "plugins": plugins,
    }


def _split(tree: Any, path: str, arrays: dict[str, Array]) -> Any:
    """JSON-able structure with each array replaced by a reference to its member."""
    if isinstance(tree, np.ndarray):
        if tree.dtype.hasobject:
            raise CheckpointError(f"cannot save {path}: object arrays are not allowed")
        arrays[path] = tree
        return {ARRAY: path}
    if isinstance(tree, dict):
        return {str(k): _split(v, f"{path}/{k}", arrays) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_split(v, f"{path}/{i}", arrays) for i, v in enumerate(tree)]
    if isinstance(tree, np.generic):
        return tree.item()
    return tree


def _join(tree: Any, arrays: dict[str, Array]) -> Any:
    if isinstance(tree, dict):
        if set(tree) == {ARRAY}:
            return arrays[tree[ARRAY]]
        return {k: _join(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_join(v, arrays) for v in tree]
    return tree


def digest(arrays: dict[str, Array]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}\n".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save(path: Path, ckpt: Checkpoint) -> None:
    """Write `ckpt` to `path` atomically: a reader sees the old file or the new one, whole."""
    arrays: dict[str, Array] = {}
    body = {
        "params": _split(ckpt.params, "params", arrays),
        "optimizer": _split(ckpt.optimizer, "optimizer", arrays),
    }
    manifest = {
        "format": FORMAT,
        "step": ckpt.step,
        "spec": ckpt.spec,
        "streams": ckpt.streams,
        "loop": ckpt.loop,
        "versions": ckpt.versions,
        "sha256": digest(arrays),
        **body,
    }
    with atomic_file(Path(path)) as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1))
        for name, value in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, value, allow_pickle=False)


def _refuse(path: Path, reason: str) -> CheckpointError:
    return CheckpointError(f"checkpoint '{path}' {reason}")


def read(path: Path) -> tuple[dict[str, Any], dict[str, Array]]:
    """The manifest and arrays of a checkpoint file, checked; one-line CheckpointError if not."""
    path = Path(path)
    try:
        head = path.read_bytes()[:4]
    except FileNotFoundError:
        raise _refuse(path, "not found") from None
    except OSError as error:
        raise _refuse(path, f"cannot be read: {error.strerror}") from None
    if head[:1] == b"\x80":
        raise _refuse(path, "is a pickle; refusing to load it (checkpoints never hold pickles)")
    if head != b"PK\x03\x04":
        raise _refuse(path, "is not a seqnet checkpoint (not an .npz archive)")
    arrays: dict[str, Array] = {}
    try:
        with path.open("rb") as raw, np.load(raw, allow_pickle=False) as npz:
            if MANIFEST not in npz.files:
                raise _refuse(path, "has no manifest; not a seqnet checkpoint")
            manifest = json.loads(bytes(npz[MANIFEST]).decode("utf-8"))
            for name in npz.files:
                if name != MANIFEST:
                    arrays[name] = npz[name]
    except CheckpointError:
        raise
    except ValueError as error:
        if "pickle" in str(error) or "Object arrays" in str(error):
            raise _refuse(path, "holds an object array (a pickle); refusing to load it") from None
        raise _refuse(path, f"is corrupt: {error}") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, UnicodeDecodeError) as error:
        raise _refuse(path, f"is truncated or corrupt ({type(error).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse(path, f"has an unknown format (expected {FORMAT})")
    if digest(arrays) != manifest.get("sha256"):
        raise _refuse(path, "fails its SHA-256 check; the arrays were changed or damaged")
    return manifest, arrays


def load(path: Path) -> Checkpoint:
    """Read and check a checkpoint. Plugins are checked by `check_plugins` with a registry."""
    manifest, arrays = read(path)
    try:
        return Checkpoint(
            spec=manifest["spec"],
            step=int(manifest["step"]),
            params=_join(manifest["params"], arrays),
            optimizer=_join(manifest["optimizer"], arrays),
            streams=manifest["streams"],
            loop=manifest["loop"],
            versions=manifest["versions"],
        )
    except (KeyError, TypeError, ValueError) as error:
        raise _refuse(Path(path), f"has a damaged manifest ({error})") from None


def check_plugins(ckpt: Checkpoint, installed: dict[str, set[str]], where: Path) -> None:
    """Refuse a checkpoint whose plugins are not installed, naming each and who provided it."""
    for kind, used in ckpt.versions.get("plugins", {}).items():
        if used["name"] not in installed.get(kind, set()):
            provider = f"{used.get('distribution', '?')} {used.get('version', '')}".strip()
            raise _refuse(
                where,
                f"needs {kind} '{used['name']}', which is not installed"
                f" (it was provided by {provider}; pip install {used.get('distribution', '?')})",
            )
