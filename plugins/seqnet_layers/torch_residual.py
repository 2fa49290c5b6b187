"""The `residual` layer as a torch.nn.Module, for seqnet.to_torch; imports torch, so it is
imported only when a model is exported or imported."""

from __future__ import annotations

from typing import Any

import torch


# torch is typed as Any for mypy (seqnet's pyproject): a subclass of Module subclasses Any
class ResidualModule(torch.nn.Module):  # type: ignore[misc]
    """y = x + f(x), f the layers in order, each `forward(x, carry) -> (y, carry)`; the carry
    is the layers' carries one after another, `parts[k]` of them for layer k."""

    takes_carry = True

    def __init__(self, layers: list[Any], parts: list[int]) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(layers)
        self.parts = parts

    def forward(self, x: Any, carry: tuple[Any, ...] = ()) -> tuple[Any, tuple[Any, ...]]:
        h, finals, start = x, [], 0
        for layer, n in zip(self.layers, self.parts, strict=True):
            h, final = layer(h, tuple(carry[start : start + n]) if carry else ())
            finals.extend(final)
            start += n
        return x + h, tuple(finals)
