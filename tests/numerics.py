"""Whether this machine rounds as the one that recorded the pinned numbers did.

Exact numbers in tests (pinned runs, the step counts and scores the docs print) are the floats
of one BLAS kernel and one set of numpy SIMD loops. OpenBLAS picks its kernels by CPU (or by
`OPENBLAS_CORETYPE`), numpy its loops by CPU features, and another pick rounds differently:
on the recording machine with the variable unset, OpenBLAS's SkylakeX kernels change the last
bits of every loss and make one docs run stop at 550 steps instead of 500. So a test compares
exactly where `EXACT`, and elsewhere checks what holds on any machine (the same run to 1e-6,
steps within a factor of two, the same verdict); the pytest header says which (conftest.py).
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info

RECORDED_ON = Path(__file__).parent / "data" / "pinned" / "numerics.json"
SIMD = (
    "X86_V2",
    "X86_V3",
    "X86_V4",
    "AVX512_SKX",
    "AVX512_ICL",
    "AVX512_SPR",
    "ASIMD",
    "ASIMDHP",
    "SVE",
    "VSX",
    "VX",
)  # fmt: skip -- numpy's dispatch groups (any platform)


def fingerprint() -> dict[str, Any]:
    """What decides the floats: the CPU architecture, numpy's BLAS and its kernels, and the
    SIMD groups numpy's own loops may dispatch to."""
    blas = [(i["internal_api"], i.get("architecture")) for i in threadpool_info()
            if i.get("user_api") == "blas"]  # fmt: skip
    core = getattr(np, "_core", None) or np.core  # numpy 2 / numpy 1.26
    features = getattr(core._multiarray_umath, "__cpu_features__", {})
    return {
        "machine": platform.machine(),
        "blas": [f"{api} {arch}" for api, arch in blas],
        "numpy_simd": [name for name in SIMD if features.get(name)],
    }


def differences() -> list[str]:
    """How this machine differs from the recorded one (empty: it rounds the same)."""
    recorded = json.loads(RECORDED_ON.read_text())
    here = fingerprint()
    return [f"{key}: {here.get(key)} here, {value} recorded" for key, value in recorded.items()
            if here.get(key) != value]  # fmt: skip


EXACT = not differences()


def close(got: Any, want: Any, rel: float = 1e-6, where: str = "") -> None:
    """`got` equals `want` in structure and in every int, bool and string, and every float to
    `rel` (relative): the weaker claim for a run on another machine's rounding."""
    assert type(got) is type(want) or {type(got), type(want)} <= {int, float}, where
    if isinstance(want, dict):
        assert got.keys() == want.keys(), where
        for key in want:
            close(got[key], want[key], rel, f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            close(g, w, rel, f"{where}[{i}]")
    elif isinstance(want, float):
        assert abs(got - want) <= rel * max(abs(want), 1e-12), f"{where}: {got} vs {want}"
    else:
        assert got == want, where


def steps_agree(got: int, printed: int) -> bool:
    """Exactly the printed steps here; within a factor of two on another machine's rounding."""
    return got == printed if EXACT else printed / 2 <= got <= printed * 2


if __name__ == "__main__":  # record this machine: python -m tests.numerics
    RECORDED_ON.write_text(json.dumps(fingerprint(), indent=2) + "\n")
    print(RECORDED_ON.read_text())
