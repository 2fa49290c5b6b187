"""The small LSTM's matrix products under each BLAS on hand (numpy's OpenBLAS, scipy's, the BLIS
wheel when installed, MKL and oneDNN when given): CPU µs per call, one thread.

    python benchmarks/gemm_kernels.py                          # as the environment says, and auto
    python benchmarks/gemm_kernels.py --cores env Haswell SkylakeX
    python benchmarks/gemm_kernels.py --intel-libs DIR         # also MKL and oneDNN via ctypes

numpy's OpenBLAS picks its kernels from the CPU unless OPENBLAS_CORETYPE names them (read when
the library loads), so each choice runs in a fresh process: `env` keeps the variable as the
environment has it, `auto` removes it, a name sets it. `--intel-libs` takes a folder with
libmkl_rt.so.N and libdnnl.so.N (pip install --prefix DIR mkl onednn; several GB, for measuring
only). Shapes: bench.py's lstm B=32 H=128 T=64 (D = H): h W_h, dz W_hᵀ, the input projection and
a weight gradient. CPU time (time.process_time), best of 5 repeats: a busy machine's waits do not
count, its shared caches and clocks still do.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

SHAPES = {  # name: (M, K, N) of C (M, N) = A (M, K) @ B (K, N)
    "h W_h (32,128)(128,512)": (32, 128, 512),
    "dz W_hT (32,512)(512,128)": (32, 512, 128),
    "x W_x (2048,128)(128,512)": (2048, 128, 512),
    "xT dz (128,2048)(2048,512)": (128, 2048, 512),
}


def cpu_us(fn: Callable[[], Any], calls: int) -> float:
    fn()
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(calls):
            fn()
        best = min(best, (time.process_time() - start) / calls)
    return 1e6 * best


def measure(others: bool, intel_libs: str | None) -> dict[str, dict[str, float]]:
    """{library: {shape/dtype: µs}} in this process (numpy loaded with its environment); with
    `others`, also the libraries that ignore OPENBLAS_CORETYPE (BLIS; MKL, oneDNN if given)."""
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    libs: dict[str, Any] = {}
    try:  # before the thread limit, so that it reaches scipy's own OpenBLAS too
        from scipy.linalg import blas as scipy_blas

        libs["scipy"] = scipy_blas
    except ImportError:
        pass
    try:  # the BLIS wheel (pip install blis)
        import blis.py

        if others:
            libs["blis"] = blis.py
    except ImportError:
        pass
    threadpool_limits(1)
    blas = next((i for i in threadpool_info() if "numpy" in i["filepath"]), {})
    numpy_name = (
        f"numpy ({blas.get('internal_api')} {blas.get('version')} {blas.get('architecture')})"
    )
    if others and intel_libs:
        folder = Path(intel_libs)
        mkl = ctypes.CDLL(str(next(folder.glob("libmkl_rt.so*"))))
        mkl.MKL_Set_Num_Threads(1)
        ci, ptr = ctypes.c_int, ctypes.c_void_p
        for name, real in (("cblas_sgemm", ctypes.c_float), ("cblas_dgemm", ctypes.c_double)):
            getattr(mkl, name).argtypes = [ci] * 6 + [real, ptr, ci, ptr, ci, real, ptr, ci]
        dnnl = ctypes.CDLL(str(next(folder.glob("libdnnl.so.*"))))
        i64, f32 = ctypes.c_int64, ctypes.c_float
        dnnl.dnnl_sgemm.argtypes = [ctypes.c_char] * 2 + [i64] * 3 + [f32, ptr, i64, ptr, i64]
        dnnl.dnnl_sgemm.argtypes += [f32, ptr, i64]
        libs.update(mkl=mkl, onednn=dnnl)
    out: dict[str, dict[str, float]] = {}
    for dtype in ("float32", "float64"):
        for label, (M, K, N) in SHAPES.items():
            rng = np.random.default_rng(0)
            A = rng.standard_normal((M, K)).astype(dtype)
            B = rng.standard_normal((K, N)).astype(dtype)
            C = np.empty((M, N), dtype=dtype)
            # row-major C = A B; the pointers and sizes as the C interfaces want them
            args = (M, N, K, 1.0, A.ctypes.data, K, B.ctypes.data, N, 0.0, C.ctypes.data, N)
            fns: dict[str, Callable[[], Any]] = {numpy_name: partial(np.dot, A, B, out=C)}
            # the same product with B stored column by column (the LSTM's float64 W_h)
            fns[f"{numpy_name}, B column by column"] = partial(
                np.dot, A, np.asfortranarray(B), out=C
            )
            if "scipy" in libs:  # its own OpenBLAS; Fortran order: C = A B is Cᵀ = Bᵀ Aᵀ
                gemm_f = libs["scipy"].sgemm if dtype == "float32" else libs["scipy"].dgemm
                fns["scipy.linalg.blas"] = partial(gemm_f, 1.0, B.T, A.T, 0.0, C.T, overwrite_c=1)
            if "blis" in libs:
                fns["blis (blis.py.gemm)"] = partial(libs["blis"].gemm, A, B, out=C, beta=0.0)
            if "mkl" in libs:
                gemm = libs["mkl"].cblas_sgemm if dtype == "float32" else libs["mkl"].cblas_dgemm
                fns["mkl (cblas, ctypes)"] = partial(gemm, 101, 111, 111, *args)
                if dtype == "float32":  # oneDNN has no double-precision GEMM
                    fns["onednn (dnnl_sgemm, ctypes)"] = partial(
                        libs["onednn"].dnnl_sgemm, b"N", b"N", *args
                    )
            want = A @ B
            for name, fn in fns.items():
                us = cpu_us(fn, calls=max(3, int(2e8 / (M * K * N))))
                if not np.allclose(C, want, rtol=1e-3, atol=1e-2):
                    raise SystemExit(f"{name} gave a wrong product for {label}")
                out.setdefault(name, {})[f"{dtype} {label}"] = us
                out[name][f"{dtype} {label} GFLOP/s"] = 2.0 * M * K * N / us / 1e3
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cores", nargs="*", default=["env", "auto"], help="env, auto or an OpenBLAS core name"
    )
    parser.add_argument("--intel-libs", help="folder holding libmkl_rt.so.N and libdnnl.so.N")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--others", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.others, args.intel_libs)))
        return
    rows: dict[str, dict[str, float]] = {}
    for k, core in enumerate(args.cores):
        env = dict(os.environ)
        if core != "env":
            env.pop("OPENBLAS_CORETYPE", None)
        if core not in ("env", "auto"):
            env["OPENBLAS_CORETYPE"] = core
        if args.intel_libs:
            env["LD_LIBRARY_PATH"] = args.intel_libs  # their own dependencies (tbb, ...)
        cmd = [sys.executable, __file__, "--child"]
        if k == 0:  # once: BLIS and the Intel libraries ignore OPENBLAS_CORETYPE
            cmd += ["--others"] + (["--intel-libs", args.intel_libs] if args.intel_libs else [])
        reply = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        for name, times in json.loads(reply.stdout).items():
            openblas = name.startswith(("numpy", "scipy"))  # both read OPENBLAS_CORETYPE
            setting = env.get("OPENBLAS_CORETYPE", "unset") if openblas else ""
            label = f"{name}, OPENBLAS_CORETYPE {setting}" if setting else name
            rows[label] = times
    columns = [f"{d} {s}" for d in ("float32", "float64") for s in SHAPES]
    print("CPU µs per call, one thread, best of 5 (GFLOP/s)\n")
    print("| library | " + " | ".join(columns) + " |")
    print("| --- " * (len(columns) + 1) + "|")
    for name, times in rows.items():
        cells = [
            f"{times[c]:.1f} ({times[c + ' GFLOP/s']:.0f})" if c in times else "–" for c in columns
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
