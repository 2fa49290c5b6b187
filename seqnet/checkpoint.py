"""Checkpoints: arrays as .npy members of one zip (.npz) plus a JSON manifest, never a pickle.

A file is written atomically (temp file in the same folder, fsync, `os.replace`), so a process
killed mid-save leaves the previous checkpoint whole. `load` refuses bad files with one line.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import zipfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from seqnet.atomic import atomic_file
from seqnet.errors import SeqnetError
from seqnet.interfaces import Array, Params

FORMAT = "seqnet-checkpoint/2"
OLD_FORMATS = ("seqnet-checkpoint/1",)  # its hash covers the arrays only; still readable
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


def digest(arrays: dict[str, Array], manifest: dict[str, Any] | None = None) -> str:
    """SHA-256 over the manifest (everything but its own hash, as canonical JSON) and every
    array's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    if manifest is not None:
        rest = {k: v for k, v in manifest.items() if k != "sha256"}
        h.update(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode() + b"\n")
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
        **body,
    }
    manifest["sha256"] = digest(arrays, manifest)
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
    if not isinstance(manifest, dict) or manifest.get("format") not in (FORMAT, *OLD_FORMATS):
        raise _refuse(path, f"has an unknown format (expected {FORMAT})")
    covered = manifest if manifest["format"] == FORMAT else None
    if digest(arrays, covered) != manifest.get("sha256"):
        raise _refuse(path, "fails its SHA-256 check; it was changed or damaged")
    return manifest, arrays


def load(path: Path) -> Checkpoint:
    """Read and check a checkpoint. Plugins are checked by `check_plugins` with a registry."""
    manifest, arrays = read(path)
    try:
        ckpt = Checkpoint(
            spec=manifest["spec"],
            step=manifest["step"],
            params=_join(manifest["params"], arrays),
            optimizer=_join(manifest["optimizer"], arrays),
            streams=manifest["streams"],
            loop=manifest["loop"],
            versions=manifest["versions"],
        )
    except (KeyError, TypeError, ValueError) as error:
        raise _refuse(
            Path(path), f"has a damaged manifest ({type(error).__name__}: {error})"
        ) from None
    problem = manifest_problem(ckpt)
    if problem:
        raise _refuse(Path(path), f"has a damaged manifest: {problem}")
    return ckpt


def manifest_problem(ckpt: Checkpoint) -> str:
    """What is structurally wrong with a loaded checkpoint's fields ('' if nothing)."""
    loop = ckpt.loop
    if type(ckpt.step) is not int or ckpt.step < 0:
        return f"step must be a whole number >= 0 (got {ckpt.step!r})"
    if not isinstance(ckpt.spec, dict):
        return "spec must be a mapping"
    if not isinstance(ckpt.params, dict) or not all(
        isinstance(v, np.ndarray) for v in ckpt.params.values()
    ):
        return "params must map names to arrays"
    if not isinstance(ckpt.optimizer, dict) or not isinstance(ckpt.streams, dict):
        return "optimizer and streams must be mappings"
    if not isinstance(ckpt.versions, dict) or not isinstance(
        ckpt.versions.get("plugins", {}), dict
    ):
        return "versions must be a mapping"
    if not (isinstance(loop, dict) and type(loop.get("hits")) is int and loop["hits"] >= 0
            and type(loop.get("reached")) is bool
            and isinstance(loop.get("seconds"), (int, float))):  # fmt: skip
        return "loop must hold hits, reached and seconds"
    if not isinstance(loop.get("stopped", ""), str):
        return "loop.stopped must be a text"
    if any(type(loop.get(key, 0)) is not int or loop.get(key, 0) < 0 for key in ("grown", "near")):
        return "loop.grown and loop.near must be whole numbers >= 0"
    return ""


def check_shapes(ckpt: Checkpoint, expected: Params, where: Path) -> None:
    """Refuse parameters whose names, shapes or dtypes are not the ones the spec builds."""
    got = {k: (v.shape, v.dtype.str) for k, v in ckpt.params.items()}
    want = {k: (v.shape, v.dtype.str) for k, v in expected.items()}
    if got == want:
        return
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    if missing or extra:
        raise _refuse(where, f"does not fit its spec: missing {missing}, unexpected {extra}")
    name = next(k for k in sorted(want) if got[k] != want[k])
    raise _refuse(
        where,
        f"does not fit its spec: {name} is {got[name][0]} {got[name][1]},"
        f" the spec builds {want[name][0]} {want[name][1]}",
    )


OLD_LAYER = re.compile(r"^cells\.(\d+)\.")


def renamed_old_layers(tree: Any, stride: int) -> Any:
    """`tree` (params, or an optimizer's state) with the keys of checkpoints from before models
    were lists of layers, `cells.K.W_h`, renamed to the layer they are now, `layers.{K*stride}.W_h`
    (stride 2 when dropout layers sit between the recurrent ones)."""
    if isinstance(tree, dict):
        return {
            OLD_LAYER.sub(lambda m: f"layers.{int(m[1]) * stride}.", str(k)): renamed_old_layers(
                v, stride
            )
            for k, v in tree.items()
        }
    if isinstance(tree, list):
        return [renamed_old_layers(v, stride) for v in tree]
    return tree


def check_plugins(ckpt: Checkpoint, installed: dict[str, set[str]], where: Path) -> None:
    """Refuse a checkpoint whose plugins are not installed, naming each and who provided it."""
    for what, used in ckpt.versions.get("plugins", {}).items():
        if not isinstance(used, dict) or not isinstance(used.get("name"), str):
            raise _refuse(where, f"has a damaged manifest: versions.plugins.{what}")
        kind = used.get("kind", what)  # `layers.0` names its kind; older files used the kind
        if used["name"] not in installed.get(str(kind), set()):
            provider = f"{used.get('distribution', '?')} {used.get('version', '')}".strip()
            raise _refuse(
                where,
                f"needs {kind} '{used['name']}', which is not installed"
                f" (it was provided by {provider}; pip install {used.get('distribution', '?')})",
            )
