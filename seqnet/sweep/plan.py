"""A sweep: one base run spec and the settings and seeds to vary, expanded into runs.

What varies comes from `--grid`, `--range`, `--samples`, `--seeds`, `--repeats` or a spec
file's `sweep:` section (`SweepSpec`). Running the runs is seqnet.sweep.runner; the sweep
folder and the summary are seqnet.sweep.folder.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import ConfigDict, Field, field_validator, model_validator

from seqnet import defaults, overrides, spec_errors, spec_files, specs
from seqnet.bounds import Checked
from seqnet.errors import SpecError
from seqnet.registry import Registry
from seqnet.runner import names_a_file
from seqnet.specs import RunSpec

SEED_PATH = "train.seed"
MAX_SEEDS = 10_000
MAX_RUNS = 100_000
MAX_EVAL_LENGTH = 1_000_000
"""Longest sequence `--eval-lengths` scores (scored in groups, so memory stays flat)."""
DEFAULT_EVAL_SAMPLES = 1000


class EvalLength(Checked):
    """A length every run of the sweep is scored at after training, on `samples` fresh
    sequences (exactly `seqnet eval DIR --lengths LENGTH --samples SAMPLES`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    length: Annotated[int, Field(gt=0, le=MAX_EVAL_LENGTH)]
    samples: Annotated[int, Field(gt=0, le=1_000_000)] = DEFAULT_EVAL_SAMPLES


def parse_eval_lengths(value: Any) -> Any:
    """`1024,100000:200` (or a list of such items) -> [{length, samples}, ...]; other values
    are left for pydantic to reject with its own message."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        return value
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            length, _, samples = item.strip().partition(":")
            if not re.fullmatch(r"\d+", length) or (samples and not re.fullmatch(r"\d+", samples)):
                raise SpecError(
                    f"eval lengths '{value}': use LENGTH or LENGTH:SAMPLES, like 1024,100000:200"
                )
            out.append({"length": int(length), **({"samples": int(samples)} if samples else {})})
        elif isinstance(item, int) and not isinstance(item, bool):
            out.append({"length": item})
        else:
            out.append(item)
    return out


class Range(Checked):
    """A range to draw a setting from with `--samples`: uniform, or log-uniform with `log`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)
    log: bool = Field(False, description="draw uniformly in log space (low must be > 0)")
    integer: bool = Field(False, description="round the draw to a whole number")

    @model_validator(mode="after")
    def ordered(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self

    def draw(self, rng: np.random.Generator) -> float | int:
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        # A readable setting (it names folders and table rows): 6 significant digits.
        return round(value) if self.integer else float(f"{value:.6g}")


class SweepSpec(Checked):
    """What a sweep varies: the `sweep:` section of a spec file, or the sweep's options."""

    model_config = ConfigDict(extra="forbid")
    grid: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(
        default_factory=dict, description="dotted path -> values; every combination runs"
    )
    ranges: dict[str, Range] = Field(
        default_factory=dict, description="dotted path -> range to draw from (needs samples)"
    )
    samples: Annotated[int, Field(ge=1, le=MAX_RUNS)] | None = Field(
        None, description="draw this many random settings (grid values picked uniformly)"
    )
    seeds: (
        Annotated[list[Annotated[int, Field(ge=0, lt=2**63)]], Field(max_length=MAX_SEEDS)] | None
    ) = Field(None, description="run every setting with each of these seeds (e.g. [0, 1] or '0-9')")
    repeats: Annotated[int, Field(ge=1, le=MAX_SEEDS)] | None = Field(
        None, description="run every setting with this many seeds spawned from root_seed"
    )
    root_seed: Annotated[int, Field(ge=0, lt=2**63)] = Field(
        0, description="seeds the drawing of samples and of the repeats' seeds"
    )
    eval_lengths: list[EvalLength] = Field(
        default_factory=list,
        description="after training, score every run at these lengths: '1024,100000:200'"
        " (LENGTH or LENGTH:SAMPLES; 1000 samples unless given)",
    )

    @field_validator("seeds", mode="before")
    @classmethod
    def seed_text(cls, value: Any) -> Any:
        return parse_seeds(value) if isinstance(value, str | int) else value

    @field_validator("eval_lengths", mode="before")
    @classmethod
    def eval_length_text(cls, value: Any) -> Any:
        return parse_eval_lengths(value)

    @model_validator(mode="after")
    def consistent(self) -> SweepSpec:
        if self.seeds is not None and self.repeats is not None:
            raise ValueError("give seeds or repeats, not both")
        if self.ranges and self.samples is None:
            raise ValueError("ranges need samples (how many settings to draw)")
        if SEED_PATH in self.grid or SEED_PATH in self.ranges:
            raise ValueError(f"vary {SEED_PATH} with seeds or repeats, not grid or ranges")
        return self


@dataclass(frozen=True)
class RunPlan:
    """One run of a sweep: its folder name, its setting (dotted path -> value) and its seed."""

    name: str
    setting: dict[str, Any]
    seed: int

    def overrides(self) -> list[tuple[str, Any]]:
        return [*self.setting.items(), (SEED_PATH, self.seed)]


@dataclass
class Sweep:
    """A base spec (resolved, `--set` applied) and the runs it expands into."""

    source: str
    base: dict[str, Any]
    spec: SweepSpec
    runs: list[RunPlan]
    plugins: tuple[str, ...] = field(default=())
    """Extra plugin modules (importable names) that every worker loads too."""
    finish: str | None = None
    """`module:function` a worker calls after each run trains, as `function(spec, parts,
    params, **finish_options)`; the dict it returns joins the run's summary (a benchmark's
    scores)."""
    finish_options: dict[str, Any] = field(default_factory=dict)

    def run_spec(self, run: RunPlan, registry: Registry) -> RunSpec:
        """The run's resolved spec: the one `seqnet run` builds from the same overrides."""
        return specs.resolve(
            overrides.apply_overrides(self.base, run.overrides(), registry), registry
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "base": self.base,
            "sweep": self.spec.model_dump(mode="json", exclude_none=True),
            "plugins": list(self.plugins),
            "finish": self.finish,
            "finish_options": self.finish_options,
            "runs": [{"name": r.name, "setting": r.setting, "seed": r.seed} for r in self.runs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sweep:
        """The sweep sweep.json holds; KeyError, TypeError or ValueError if it is damaged."""
        if not isinstance(data, Mapping) or not isinstance(data.get("base"), dict):
            raise ValueError("not a mapping with a base spec")
        runs = [RunPlan(r["name"], dict(r["setting"]), int(r["seed"])) for r in data["runs"]]
        spec = SweepSpec.model_validate(data["sweep"])
        plugins = tuple(data.get("plugins", ()))
        finish, options = data.get("finish"), dict(data.get("finish_options", {}))
        return cls(data["source"], data["base"], spec, runs, plugins, finish, options)


def parse_seeds(text: str | int) -> list[int]:
    """`0-9` -> 0..9; `0,3,7`; `0-4,10` -> 0..4 and 10. Duplicates are dropped."""
    seeds: list[int] = []
    if len(str(text)) > spec_files.MAX_VALUE_CHARS:
        raise SpecError(f"seeds are {len(str(text)):,} characters long; at most"
                        f" {spec_files.MAX_VALUE_CHARS:,}")  # fmt: skip
    for part in str(text).split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if match is None:
            raise SpecError(f"seeds '{text}': use N, N-M or a comma list like 0-4,10")
        low, high = int(match[1]), int(match[2] or match[1])
        if high < low:
            raise SpecError(f"seeds '{text}': {low}-{high} counts down")
        if high >= 2**63:
            raise SpecError(f"seeds '{text}': a seed must be below 2**63")
        if len(seeds) + high - low + 1 > MAX_SEEDS:
            raise SpecError(f"seeds '{text}': {high - low + 1:,} seeds; a sweep takes at most"
                            f" {MAX_SEEDS:,}")  # fmt: skip
        known = set(seeds)
        seeds += [s for s in range(low, high + 1) if s not in known]
    return seeds


def parse_grid(text: str) -> tuple[str, list[Any]]:
    """`model.hidden=8,16,32` -> ("model.hidden", [8, 16, 32]); each value read as in --set."""
    path, sep, values = text.partition("=")
    if not sep or not path.strip() or not values.strip():
        raise SpecError(f"grid '{text}' must look like section.option=value,value,...")
    return path.strip(), [
        overrides.parse_override(f"{path}={v.strip()}")[1] for v in values.split(",")
    ]


def parse_range(text: str) -> tuple[str, Range]:
    """`optimizer.lr=0.001:0.1:log`, `model.hidden=8:64:int` (also `log,int`) -> a Range."""
    path, sep, body = text.partition("=")
    parts = body.split(":")
    if not sep or not path.strip() or len(parts) not in (2, 3):
        raise SpecError(f"range '{text}' must look like section.option=LOW:HIGH[:log|int]")
    flags = {f.strip() for f in parts[2].split(",")} if len(parts) == 3 else set()
    if flags - {"log", "int"}:
        raise SpecError(f"range '{text}': flags are log and int")
    try:
        low, high = float(parts[0]), float(parts[1])
        return path.strip(), Range(low=low, high=high, log="log" in flags, integer="int" in flags)
    except ValueError as error:
        reason = error.errors()[0]["msg"] if hasattr(error, "errors") else "not a number"
        raise SpecError(f"range '{text}': {reason}") from None


def settings(sweep: SweepSpec) -> list[dict[str, Any]]:
    """The settings a sweep runs, in order: the grid's product (first path slowest), or
    `samples` draws from a generator seeded by `root_seed`."""
    if sweep.samples is None:
        paths = list(sweep.grid)
        return [dict(zip(paths, combo, strict=True)) for combo in
                itertools.product(*sweep.grid.values())]  # fmt: skip
    rng = np.random.default_rng(np.random.SeedSequence(sweep.root_seed).spawn(2)[0])
    drawn = []
    for _ in range(sweep.samples):
        setting = {path: values[int(rng.integers(len(values)))]
                   for path, values in sweep.grid.items()}  # fmt: skip
        setting.update({path: rng_range.draw(rng) for path, rng_range in sweep.ranges.items()})
        drawn.append(setting)
    return drawn


def seeds(sweep: SweepSpec, default: int) -> list[int]:
    """The seeds each setting runs with: the list given, `repeats` seeds spawned from the root
    seed (numpy.random.SeedSequence), or the base spec's own seed."""
    if sweep.seeds is not None:
        return list(sweep.seeds)
    if sweep.repeats is not None:
        children = np.random.SeedSequence(sweep.root_seed).spawn(2)[1].spawn(sweep.repeats)
        return [int(child.generate_state(1)[0]) for child in children]
    return [default]


def run_names(plans: list[tuple[dict[str, Any], int]]) -> list[str]:
    """`07_hidden=16_lr=0.03_seed=3`: index, each setting by its last path part, the seed."""
    paths = list(plans[0][0]) if plans else []
    short = {p: p.rsplit(".", 1)[-1] for p in paths}
    if len(set(short.values())) < len(short):
        short = {p: p for p in paths}
    width = max(2, len(str(len(plans) - 1)))
    names = []
    for index, (setting, seed) in enumerate(plans):
        parts = [f"{index:0{width}d}", *(f"{short[p]}={v}" for p, v in setting.items())]
        name = re.sub(r"[^A-Za-z0-9_.=+-]", "-", "_".join([*parts, f"seed={seed}"]))
        names.append(name[:120])
    return names


def expand(sweep: SweepSpec, default_seed: int) -> list[RunPlan]:
    """Every run of the sweep: each setting with each seed, settings outermost."""
    count = len(seeds(sweep, default_seed)) * (
        sweep.samples if sweep.samples is not None else math.prod(map(len, sweep.grid.values()))
    )
    if count > MAX_RUNS:
        raise SpecError(f"the sweep has {count:,} runs; a sweep takes at most {MAX_RUNS:,}")
    pairs = [(s, seed) for s in settings(sweep) for seed in seeds(sweep, default_seed)]
    return [RunPlan(n, s, seed) for n, (s, seed) in zip(run_names(pairs), pairs, strict=True)]


def load_source(source: str, registry: Registry) -> tuple[dict[str, Any], SweepSpec]:
    """The raw spec of `source` (a task name or a spec file) and its `sweep:` section, which
    a run spec does not have and so is taken out before resolving."""
    if names_a_file(source):
        raw = spec_files.load_file(Path(source))
        section = raw.pop("sweep", None) or {}
        return defaults.with_task_defaults(raw, registry), spec_errors.validate(
            SweepSpec, section, ("sweep",)
        )
    return defaults.default_raw(source, registry), SweepSpec()


def merge(base: SweepSpec, given: Mapping[str, Any]) -> SweepSpec:
    """The file's sweep section with the command line's options on top (per path for grids)."""
    data = base.model_dump(exclude_none=True)
    for key in ("grid", "ranges"):
        data[key] = {**data[key], **given.get(key, {})}
    for key in ("samples", "seeds", "repeats", "root_seed", "eval_lengths"):
        if given.get(key) is not None:
            data[key] = given[key]
    if given.get("seeds") is not None and given.get("repeats") is not None:
        raise SpecError("give --seeds or --repeats, not both")
    if given.get("seeds") is not None:
        data.pop("repeats", None)
    if given.get("repeats") is not None:
        data.pop("seeds", None)
    return spec_errors.validate(SweepSpec, data, ("sweep",))  # type: ignore[no-any-return]


def plan(
    source: str,
    sets: Iterable[str],
    given: Mapping[str, Any],
    registry: Registry,
    plugins: tuple[str, ...] = (),
) -> Sweep:
    """Build and check a sweep: every setting must give a valid run spec before anything runs."""
    raw, section = load_source(source, registry)
    parsed = [overrides.parse_override(text) for text in sets]
    base = specs.resolve(overrides.apply_overrides(raw, parsed, registry), registry)
    sweep_spec = merge(section, given)
    if sweep_spec.eval_lengths:
        task_cls = registry.get("task", base.task.name).cls
        if not isinstance(getattr(task_cls, "length_option", None), str):
            raise SpecError(f"--eval-lengths: task '{base.task.name}' has no length option")
    runs = expand(sweep_spec, base.train.seed)
    sweep = Sweep(source, base.model_dump(mode="json"), sweep_spec, runs, plugins)
    checked: set[str] = set()
    for run in runs:
        key = repr(run.setting)
        if key not in checked:
            checked.add(key)
            try:
                sweep.run_spec(run, registry)
            except SpecError as error:
                where = ", ".join(f"{p}={v}" for p, v in run.setting.items())
                raise SpecError(f"setting {where}: {error}") from None
    return sweep
