"""Flat optimizer state: every slot (moment) is one contiguous buffer over all parameters.

An update is then a handful of vectorised passes over one buffer instead of a dozen small numpy
calls per parameter. Gradients are gathered into one buffer per step (one `concatenate`); the
update lands in the parameters in one pass when they are themselves views of one flat buffer in
the same order (as `seqnet.Model.init` makes them), else one pass per parameter.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from seqnet import Array, Params


class FlatLayout:
    """Where each parameter sits in a flat buffer: names in order, shapes, offsets, dtype."""

    def __init__(self, params: Params) -> None:
        self.names = tuple(params)
        self.shapes = tuple(params[name].shape for name in self.names)
        self.dtype = np.result_type(*(params[name].dtype for name in self.names))
        sizes = [int(np.prod(shape, dtype=np.int64)) for shape in self.shapes]
        self.offsets = tuple(int(o) for o in np.cumsum([0, *sizes]))
        self.size = self.offsets[-1]

    def matches(self, params: Params) -> bool:
        if len(params) != len(self.names):
            return False
        return all(
            params.get(name) is not None and params[name].shape == shape
            for name, shape in zip(self.names, self.shapes, strict=True)
        )

    def views(self, flat: Array) -> dict[str, Array]:
        """name -> the part of `flat` that holds that parameter, in its shape."""
        return {
            name: flat[start:stop].reshape(shape)
            for name, shape, start, stop in zip(
                self.names, self.shapes, self.offsets[:-1], self.offsets[1:], strict=True
            )
        }

    def flat_base(self, params: Params) -> Array | None:
        """The one buffer all `params` are contiguous views of, in layout order, if there is one."""
        first = params[self.names[0]]
        base = first.base
        if not (
            isinstance(base, np.ndarray)
            and base.ndim == 1
            and base.size == self.size
            and base.dtype == self.dtype
            and base.flags.c_contiguous
        ):
            return None
        origin = base.__array_interface__["data"][0]
        for name, start in zip(self.names, self.offsets[:-1], strict=True):
            p = params[name]
            if p.base is not base or not p.flags.c_contiguous:
                return None
            if p.__array_interface__["data"][0] != origin + start * base.itemsize:
                return None
        return base


class FlatState:
    """Named slots kept flat, with per-parameter views for `state_dict` and checkpoints.

    `prepare(params, grads)` (once per step) returns the flat gradient; `slot(name)` the flat
    slot buffer; `scratch` a flat work buffer; `apply(params, delta)` adds a flat update.
    A slot starts at `initial.get(slot, 0.0)` (Adagrad's initial accumulator).
    """

    def __init__(
        self, slot_names: tuple[str, ...], initial: dict[str, float] | None = None
    ) -> None:
        self.slot_names = slot_names
        self.initial = initial or {}
        self.layout: FlatLayout | None = None
        self.flat_slots: dict[str, Array] = {}
        self.slots: dict[str, dict[str, Array]] = {slot: {} for slot in slot_names}
        self.grad = np.empty(0)
        self.scratch = np.empty(0)
        self._scratch_views: dict[str, Array] = {}
        self._seen: tuple[Array, ...] = ()
        self._base: Array | None = None

    def _rebuild(self, params: Params) -> FlatLayout:
        layout = FlatLayout(params)
        old = self.slots
        self.flat_slots = {
            s: np.full(layout.size, self.initial.get(s, 0.0), dtype=layout.dtype)
            for s in self.slot_names
        }
        self.slots = {s: layout.views(self.flat_slots[s]) for s in self.slot_names}
        for slot, table in old.items():  # moments survive a change of layout, by name
            for name, value in table.items():
                mine = self.slots.get(slot, {}).get(name)
                if mine is not None and mine.shape == np.shape(value):
                    mine[...] = value
        self.grad = np.empty(layout.size, dtype=layout.dtype)
        self.scratch = np.empty(layout.size, dtype=layout.dtype)
        self._scratch_views = layout.views(self.scratch)
        self._seen = ()
        self.layout = layout
        return layout

    def prepare(self, params: Params, grads: Params) -> Array:
        layout = self.layout
        if layout is None or not layout.matches(params):
            layout = self._rebuild(params)
        np.concatenate([np.ravel(grads[name]) for name in layout.names], out=self.grad)
        return self.grad

    def slot(self, name: str) -> Array:
        return self.flat_slots[name]

    def base(self, params: Params) -> Array | None:
        """The flat buffer `params` are views of (found once per set of arrays), or None."""
        layout = self.layout
        assert layout is not None, "prepare() runs first"
        seen = self._seen
        if len(seen) != len(layout.names) or any(
            params[name] is not p for name, p in zip(layout.names, seen, strict=True)
        ):
            self._base = layout.flat_base(params)
            self._seen = tuple(params[name] for name in layout.names)
        return self._base

    def apply(self, params: Params, delta: Array) -> None:
        """params += delta, where delta is flat (usually `scratch`)."""
        base = self.base(params)
        if base is not None:
            base += delta
            return
        assert self.layout is not None
        views = self._scratch_views if delta is self.scratch else self.layout.views(delta)
        for name in self.layout.names:
            params[name] += views[name]

    def add_params(self, params: Params, scale: float) -> None:
        """grad += scale · params (L2 weight decay folded into the gradient), via `scratch`."""
        base = self.base(params)
        if base is not None:
            np.multiply(base, scale, out=self.scratch)
        else:
            for name, view in self._scratch_views.items():
                np.multiply(params[name], scale, out=view)
        self.grad += self.scratch

    def scale_params(self, params: Params, factor: float) -> None:
        """params *= factor, in place (decoupled weight decay)."""
        base = self.base(params)
        if base is not None:
            base *= factor
            return
        assert self.layout is not None
        for name in self.layout.names:
            params[name] *= factor

    def state(self) -> dict[str, dict[str, Array]]:
        return {s: {n: a.copy() for n, a in table.items()} for s, table in self.slots.items()}

    def load(self, slots: dict[str, Any]) -> None:
        """Per-parameter slot arrays (as `state` gives); placed on the next `prepare`."""
        self.layout = None
        self.flat_slots = {}
        self.slots = {
            slot: {n: np.array(a) for n, a in slots.get(slot, {}).items()}
            for slot in self.slot_names
        }
