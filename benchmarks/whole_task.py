"""A whole task solved by seqnet and by PyTorch, each configuration in its own fresh process:
the task's default spec from the same initial weights, on the same batches, stopped by the same
rule evaluated the same way; timed from the first step to the evaluation that stops, after a
warm-up on both sides. JSON lines out."""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from seqnet.model import cast_batch
from seqnet.runner import Parts, build, load_spec
from seqnet.specs import RunSpec
from seqnet.training import Snapshot, Streams
from seqnet.validation import Validation, final, margin

CONFIGS = (  # (side, dtype, kernel), in the order run for each seed: the sides alternate
    ("seqnet", "float64", "auto"),
    ("torch", "float32", ""),
    ("seqnet", "float64", "numpy"),
    ("torch", "float64", ""),
    ("seqnet", "float32", "auto"),
    ("seqnet", "float32", "numpy"),
)


def the_spec(task: str, seed: int, dtype: str) -> RunSpec:
    """The task's default spec at a seed and precision: what `seqnet run TASK` trains."""
    return load_spec(task, [f"train.seed={seed}", f"model.dtype={dtype}"])


def run_seqnet(spec: RunSpec) -> dict[str, Any]:
    """seqnet.train on the spec, as `seqnet run` does but writing no run folder."""
    from seqnet.allocator import keep_freed_memory
    from seqnet.runner import train_parts

    keep_freed_memory()  # as the seqnet command does
    parts = build(spec)
    warm_up(parts)
    cpu: list[float] = []  # process CPU time at the start of the loop and at each evaluation

    class Marks:  # a seqnet callback: on_checkpoint runs at step 0 and after every evaluation
        def on_checkpoint(self, snapshot: Snapshot) -> None:
            cpu.append(time.process_time())

    result = train_parts(parts, spec, callbacks=[Marks()])
    cells = [getattr(layer, "cell", None) for layer in parts.model.layers]
    kernels = {str(getattr(cell, "kernel", "")) for cell in cells}
    return {
        "steps": result.steps,
        "seconds": result.seconds,
        "cpu_seconds": cpu[-1] - cpu[0],
        "reached": result.reached_target,
        "kernel": ",".join(sorted(kernels)),
        "test": result.metrics,
    }


def warm_up(parts: Parts) -> None:
    """One forward and backward on throwaway data and weights, before the clock starts: the LSTM
    imports numba and loads its compiled kernels on its first call (about 0.5 s of CPU), a
    one-off cost like torch's import, which is not timed either. The run's own weights, random
    streams and optimizer are not touched."""
    model = parts.model
    x = np.zeros((2, 1, model.input_size), dtype=model.dtype)
    params = model.init(np.random.default_rng(0))
    logits, _, cache = model.forward(params, x)
    model.backward(params, cache, np.zeros_like(logits))


def torch_modules(parts: Parts, params: dict[str, Any], dtype: str) -> tuple[Any, Any]:
    """nn.LSTM + nn.Linear holding seqnet's initial weights (seqnet.params_to_torch's layout)."""
    import torch

    from seqnet import params_to_torch

    model = parts.model
    (layer,) = model.layers  # the default specs are one LSTM layer, then the head
    cell = layer.cell  # type: ignore[attr-defined]
    H = cell.spec.hidden
    rnn = torch.nn.LSTM(model.input_size, H)
    head = torch.nn.Linear(H, model.output_size)
    sub = model.sub(params, "layers.0.")
    state = {k: torch.from_numpy(v) for k, v in params_to_torch(sub).items()}
    rnn.load_state_dict(state)
    head.load_state_dict(
        {
            "weight": torch.from_numpy(params["head.W"].T.copy()),
            "bias": torch.from_numpy(params["head.b"].copy()),
        }
    )
    torch_dtype = getattr(torch, dtype)
    return rnn.to(torch_dtype), head.to(torch_dtype)


def run_torch(spec: RunSpec, dtype: str) -> dict[str, Any]:
    """The same loop in PyTorch in `dtype`: nn.LSTM, nn.Linear, torch.optim.Adam,
    clip_grad_norm_. `spec` is in float64, where seqnet draws its initial weights."""
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    train = spec.train
    parts = build(spec)
    task = parts.task
    streams = Streams.from_seed(train.seed)  # the same streams, so the same weights and batches
    params = parts.model.init(streams.init)
    validation = Validation.draw(task, train, streams.eval)
    rnn, head = torch_modules(parts, params, dtype)
    np_dtype = np.dtype(dtype)
    tdtype = getattr(torch, dtype)
    opt = spec.optimizer
    extra = opt.model_dump()
    modules = [*rnn.parameters(), *head.parameters()]
    try:
        optimizer = torch.optim.Adam(
            modules, lr=extra["lr"], betas=(extra["beta1"], extra["beta2"]), eps=extra["eps"],
            fused=True,
        )  # fmt: skip
        adam = "fused"
    except (RuntimeError, TypeError):  # older builds: no fused Adam on the CPU
        optimizer = torch.optim.Adam(
            modules, lr=extra["lr"], betas=(extra["beta1"], extra["beta2"]), eps=extra["eps"]
        )
        adam = "default"
    held = validation.main
    val_x = torch.from_numpy(held.batch.x).to(tdtype)
    val_batch = cast_batch(held.batch, np_dtype)

    def loss_of(logits: Any, y: Any, weight: Any) -> Any:
        """seqnet's losses: the mean over scored steps (weight = mask / scored count)."""
        if task.loss == "mse":
            return (((logits - y) ** 2).sum(-1) * weight).sum()
        per = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none"
        )
        return (per * weight.reshape(-1)).sum()

    def score() -> tuple[dict[str, float], bool]:
        """seqnet.validation's rule on the main set: the task's metrics, margin, target."""
        with torch.no_grad():
            logits = head(rnn(val_x)[0]).numpy()  # (T, B, V)
        found = task.metrics(logits, val_batch)
        smallest = margin(task.loss, logits, val_batch)
        hit = found[task.target_metric] >= train.target and smallest >= train.margin
        return found, hit

    with torch.enable_grad():  # as seqnet's warm_up: first-call costs before the clock starts
        zeros = torch.zeros(2, 1, parts.model.input_size, dtype=tdtype)
        head(rnn(zeros)[0]).sum().backward()
    optimizer.zero_grad(set_to_none=True)
    hits = 0
    step = 0
    start, cpu = time.perf_counter(), time.process_time()
    for step in range(1, train.steps + 1):
        batch = task.sample(streams.data, train.batch)
        x = torch.from_numpy(batch.x).to(tdtype)
        y = torch.from_numpy(batch.y)
        y = y.to(tdtype) if y.is_floating_point() else y
        mask = torch.from_numpy(batch.mask).to(tdtype)
        weight = mask / mask.sum().clamp(min=1.0)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_of(head(rnn(x)[0]), y, weight)
        loss.backward()
        if opt.clip is not None:
            torch.nn.utils.clip_grad_norm_(modules, opt.clip)
        optimizer.step()
        if step % train.eval_every == 0 or step == train.steps:
            _, hit = score()
            hits = hits + 1 if hit else 0
            if hits >= train.patience:
                break
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    test = final(held.task, copy.deepcopy(streams.eval), train.eval_samples)
    with torch.no_grad():
        logits = head(rnn(torch.from_numpy(test.x).to(tdtype))[0]).numpy()
    return {
        "steps": step,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "reached": hits >= train.patience,
        "adam": adam,
        "torch": torch.__version__,
        "test": task.metrics(logits, cast_batch(test, np_dtype)),
    }


def one(task: str, side: str, seed: int, dtype: str) -> dict[str, Any]:
    """One configuration, in this process: the result as a dict."""
    with threadpool_limits(limits=1):
        if side == "torch":
            out = run_torch(the_spec(task, seed, "float64"), dtype)
        else:
            out = run_seqnet(the_spec(task, seed, dtype))
    out["steps_per_s"] = out["steps"] / out["seconds"]
    return out


def machine() -> dict[str, Any]:
    """The CPU model and core count (lscpu), and the load average now."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    return {
        "cpu": fields.get("Model name", "?").strip(),
        "cpus": fields.get("CPU(s)", "?").strip(),
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    }


def spawn(task: str, side: str, seed: int, dtype: str, kernel: str) -> dict[str, Any]:
    """One configuration in a fresh process; its JSON line, with the process's wall time."""
    env = dict(os.environ)
    if side == "seqnet":
        env["SEQNET_KERNEL"] = "" if kernel == "auto" else kernel
    args = [sys.executable, __file__, task, "--one", side, "--seed", str(seed), "--dtype", dtype]
    load = Path("/proc/loadavg").read_text().split()[0]
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{side} {dtype} seed {seed} failed: {done.stderr.strip()}")
    record: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return {"task": task, "side": side, "dtype": dtype, "seed": seed, **record,
            "process_seconds": wall, "load_before": float(load)}  # fmt: skip


def label(record: dict[str, Any]) -> str:
    if record["side"] == "torch":
        return f"PyTorch {record['dtype']}"
    return f"seqnet {record['dtype']} {record['kernel']}"


def table(path: Path, task: str) -> str:
    """A markdown table of a results file's runs of `task` (the last of each seed and
    configuration): steps, seconds, steps/s, and PyTorch's wall time over this run's in the same
    seed, in the same precision and in float32 (> 1: seqnet took less time)."""
    runs: dict[tuple[int, str], dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record.get("task") == task and "side" in record:
            runs[record["seed"], label(record)] = record
    lines = [
        "| seed | run | steps | wall s | CPU s | steps/s | PyTorch same dtype ÷ this "
        "| PyTorch float32 ÷ this | load |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    order = ["seqnet float64 numba", "seqnet float64 numpy", "seqnet float32 numba",
             "seqnet float32 numpy", "PyTorch float64", "PyTorch float32"]  # fmt: skip
    for seed, name in sorted(runs, key=lambda k: (k[0], order.index(k[1]))):
        r = runs[seed, name]
        ratios = []
        for other in (f"PyTorch {r['dtype']}", "PyTorch float32"):
            torch_run = runs.get((seed, other))
            ok = torch_run is not None and name != other
            ratios.append(f"{torch_run['seconds'] / r['seconds']:.2f}" if ok else "–")  # type: ignore[index]
        steps = f"{r['steps']:,}" + ("" if r["reached"] else " (not solved)")
        lines.append(
            f"| {seed} | {name} | {steps} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} "
            f"| {r['steps_per_s']:.0f} | {ratios[0]} | {ratios[1]} | {r['load_before']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("task", choices=["adding", "copy"])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--configs", default="", help="indices into CONFIGS to run (default all)")
    parser.add_argument("--out", type=Path, help="append JSON lines to this file")
    parser.add_argument("--table", type=Path, help="print this results file's table and stop")
    parser.add_argument("--one", choices=["seqnet", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--dtype", default="float64", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.table:
        print(table(args.table, args.task))
        return
    if args.one:
        print(json.dumps(one(args.task, args.one, args.seed, args.dtype)))
        return
    picked = [CONFIGS[int(i)] for i in args.configs.split(",")] if args.configs else CONFIGS
    seeds = [int(s) for s in args.seeds.split(",")]
    head = {"machine": machine(), "task": args.task, "seeds": seeds,
            "date": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
    lines = [head]
    print(json.dumps(head), flush=True)
    for seed in seeds:
        for side, dtype, kernel in picked:
            record = spawn(args.task, side, seed, dtype, kernel)
            lines.append(record)
            print(json.dumps(record), flush=True)
    lines.append({"machine_after": machine()})
    print(json.dumps(lines[-1]), flush=True)
    if args.out:
        with args.out.open("a") as f:
            f.writelines(json.dumps(line) + "\n" for line in lines)


if __name__ == "__main__":
    main()
