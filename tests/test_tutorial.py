"""docs/tutorial.ipynb, executed top to bottom on a real Jupyter kernel, as a reader runs it.

The notebook is committed with its outputs. This test runs it afresh and checks that what it
shows is what the code makes now: the same text (timings aside) and a figure wherever the saved
notebook has one. After changing the notebook, or anything whose output it shows, save fresh
outputs with `python tests/test_tutorial.py` (which runs it the same way and writes it back).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

try:  # the dev extra provides these: without them this is a broken install, not a skip
    import ipykernel  # noqa: F401  (the kernel the notebook runs on)
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
except ImportError as missing:
    raise ImportError(
        f"tests/test_tutorial.py runs docs/tutorial.ipynb and needs {missing.name}, from the dev"
        " extra: pip install -e '.[dev]'"
    ) from missing

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
TIMEOUT = 120  # seconds a cell may take before the run fails instead of hanging
# what changes from run to run however the code behaves: durations, rates (`1,234 steps/s`),
# times left (`0:00:03`, `-:--:--`)
TIMINGS = re.compile(
    r"[\d,]+(\.\d+)? ?\w+/(s|min)\b"  # a rate
    r"|\d+(\.\d+)?(e-?\d+)? ?m?s\b"  # a duration
    r"|-?\d*:\d\d:\d\d|-:--:--"  # a time left, or none yet
)


def kernel_manager(where: Path) -> KernelManager:
    """A kernel on this very interpreter (the one that imports this checkout's seqnet), whatever
    kernels the machine has installed; over local sockets, not TCP."""
    spec = where / "kernels" / "seqnet-tutorial"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "seqnet tutorial", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    specs = KernelSpecManager(kernel_dirs=[str(where / "kernels")])
    return KernelManager(
        kernel_name="seqnet-tutorial", kernel_spec_manager=specs, transport="ipc",
        connection_file=str(where / "kernel.json"),
    )  # fmt: skip


def execute(cwd: Path) -> Any:
    """The notebook, read from docs/ and executed in `cwd` (where its run folders go)."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    km = kernel_manager(cwd)
    client = NotebookClient(
        notebook, km=km, timeout=TIMEOUT, resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
    )  # fmt: skip
    try:
        client.execute()
    finally:  # nbclient leaves a kernel it was given, and its client, running
        if client.kc is not None:
            client.kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    return notebook


def merged(outputs: list[Any]) -> list[Any]:
    """One output per run of stdout (or stderr) text, however the kernel chunked it."""
    out: list[Any] = []
    for output in outputs:
        last = out[-1] if out else {}
        if output["output_type"] == last.get("output_type") == "stream" and (
            last["name"] == output["name"]
        ):
            out[-1] = {**last, "text": last["text"] + output["text"]}
        else:
            out.append(output)
    return out


def text_of(cell: Any) -> str:
    """What a cell shows as text: its streams and plain-text results, timings blanked."""
    shown = []
    for output in merged(cell.get("outputs", [])):
        if output["output_type"] == "stream":
            shown.append(f"[{output['name']}] {output['text']}")
        elif "data" in output and "image/png" not in output["data"]:
            shown.append(output["data"].get("text/plain", ""))
    return TIMINGS.sub("<time>", "".join(shown))


def images_of(cell: Any) -> int:
    return sum("image/png" in output.get("data", {}) for output in cell.get("outputs", []))


def test_the_tutorial_runs_and_shows_what_is_saved(tmp_path: Path) -> None:
    saved = nbformat.read(NOTEBOOK, as_version=4)
    fresh = execute(tmp_path)
    code = [(old, new) for old, new in zip(saved.cells, fresh.cells, strict=True)
            if old.cell_type == "code"]  # fmt: skip
    assert code, "the tutorial has no code"
    for old, new in code:
        assert old.get("execution_count"), f"saved without running it:\n{old.source}"
        assert text_of(new) == text_of(old), f"the output has changed:\n{new.source}"
        assert images_of(new) == images_of(old), f"figures differ in number:\n{new.source}"
        assert not any(o["output_type"] == "error" for o in new.outputs)
    assert sum(images_of(cell) for cell, _ in code) >= 2  # the learning curve, the hidden units


if __name__ == "__main__":  # save fresh outputs: python tests/test_tutorial.py
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        notebook = execute(Path(work))
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.from_dict(output) for output in merged(cell.outputs)]
    nbformat.write(notebook, NOTEBOOK)
    print(f"wrote {NOTEBOOK.relative_to(ROOT)}")
