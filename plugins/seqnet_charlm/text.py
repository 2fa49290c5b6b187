"""The text a character model reads: a UTF-8 file checked for use (or Python's own reference
text), and where its held-out tail starts. Every problem is a ValueError of one line."""

from __future__ import annotations

import functools
import math
from pathlib import Path


def builtin_text() -> str:
    """Python's reference text (the `pydoc_data` topics that ship with CPython), ~465k chars."""
    from pydoc_data.topics import topics

    return "\n".join(topics[key] for key in sorted(topics))


def load_text(path: Path) -> str:
    """The file's text; ValueError says why it cannot be used (missing, empty, not UTF-8)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except OSError as error:
        raise ValueError(f"cannot read it: {error.strerror}") from None
    if path.is_dir():
        raise ValueError("is a directory, not a text file")
    # keyed on size and modification time, so a changed file is read again
    return _decoded(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _decoded(path: str, mtime_ns: int, size: int) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read it: {error.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8 text (byte {error.start} cannot be decoded)") from None
    if not text:
        raise ValueError("the file is empty")
    return text


def split_point(n: int, heldout: float) -> int:
    """Where the held-out tail of a text of n characters starts."""
    return math.floor(n * (1.0 - heldout))


def fits(n: int, window: int, heldout: float) -> bool:
    """Room for one training window (window + 1 characters) and `window` held-out targets."""
    split = split_point(n, heldout)
    return split >= window + 1 and n - split >= window


def check_length(n: int, window: int, heldout: float) -> None:
    if not fits(n, window, heldout):
        need = next(m for m in range(2 * window + 1, 2**62) if fits(m, window, heldout))
        raise ValueError(
            f"{n} characters are too few for task.window={window} with task.heldout={heldout}"
            f" (it needs at least {need}): use a longer text or a smaller task.window"
        )
