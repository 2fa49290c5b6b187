"""What the commands show after training: the summary line (numbers for people and the
progress bar are in seqnet.progress)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seqnet.progress import number

if TYPE_CHECKING:
    from seqnet.specs import RunSpec


def summary_line(summary: dict[str, Any], reached: bool, spec: RunSpec | None = None) -> str:
    """`binadd with elman, seed 0: solved after ...`; `solved` says which metric reached what."""
    best = {k: v for k, v in summary.items() if k.startswith("best_") and k != "best_step"}
    skip = {"task", "cell", "seed", "steps", "seconds", "reached_target", "stopped", "best_step"}
    metrics = ", ".join(
        f"{k} {number(v)}" for k, v in summary.items() if k not in skip and k not in best
    )
    status = "solved" if reached else "not solved"
    why = f" ({summary['stopped']})" if summary.get("stopped") else ""
    if why:
        status += ", stopped early"
    target = f"; target: {solved_means(spec)}" if spec is not None else ""
    kept = "".join(
        f"; best {k.removeprefix('best_')} {number(v)} at step {summary['best_step']}"
        for k, v in best.items()
    )
    return (
        f"{summary['task']} with {summary['cell']}, seed {summary['seed']}: {status} after "
        f"{summary['steps']} steps in {summary['seconds']:.2f} s{why}; held-out {metrics}{kept}"
        f"{target}"
    )


def solved_means(spec: RunSpec) -> str:
    """What `solved` means for this run: the target metric and level, patience, margin."""
    from seqnet.plugins import default_registry

    metric = default_registry().get("task", spec.task.name).cls.target_metric
    t = spec.train
    said = f"{metric} >= {t.target:g} on held-out data"
    if t.patience > 1:
        said += f" at {t.patience} evaluations in a row"
    if t.margin > 0:
        said += f", margin >= {t.margin:g}"
    return said
