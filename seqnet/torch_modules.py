"""The torch.nn.Modules a seqnet model is exported as (seqnet.to_torch); imports torch.

Every layer module runs `forward(x, carry) -> (y, carry)` on time-major tensors with seqnet's
carry layout: a tuple of (B, H) tensors, `()` for a stateless layer. Imported only by
seqnet.torch_export, after it has checked that torch is installed.
"""

from __future__ import annotations

from typing import Any

import torch

Carry = tuple[Any, ...]


# torch is typed as Any for mypy (pyproject: follow_imports = "skip"): a subclass of Module is
# a subclass of Any
class Stateless(torch.nn.Module):  # type: ignore[misc]
    """A module without a carry, `y = module(x)`, as a layer: the carry is `()`."""

    takes_carry = True  # its forward takes and gives a carry: seqnet.torch_export keeps it

    def __init__(self, module: Any) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: Any, carry: Carry = ()) -> tuple[Any, Carry]:
        return self.module(x), ()


class Recurrent(torch.nn.Module):  # type: ignore[misc]
    """A one-layer torch.nn.RNN, LSTM or GRU (time-major) as a layer with seqnet's carry.

    seqnet's carry is (h,) or (h, c), each (B, H), and a bidirectional layer's is the forward
    direction's parts, then the reverse one's; torch's is h0 (or (h0, c0)) of shape
    (directions, B, H). `reverse`: read the sequence from its end (a seqnet cell layer with
    `reverse: true`), y given back in input order. `merge`: a bidirectional layer's two halves
    concatenated, (T, B, 2H), or added, (T, B, H).
    """

    takes_carry = True

    def __init__(self, rnn: Any, reverse: bool = False, merge: str = "concat") -> None:
        super().__init__()
        if rnn.num_layers != 1 or rnn.batch_first or not rnn.bias:
            raise ValueError("a Recurrent layer wraps one time-major layer with biases")
        self.rnn = rnn
        self.reverse = reverse
        self.merge = merge
        self.parts = 2 if isinstance(rnn, torch.nn.LSTM) else 1
        self.directions = 2 if rnn.bidirectional else 1

    def forward(self, x: Any, carry: Carry = ()) -> tuple[Any, Carry]:
        if self.reverse:
            x = torch.flip(x, (0,))
        state = self.torch_state(carry) if carry else None
        y, final = self.rnn(x, state)
        if self.reverse:
            y = torch.flip(y, (0,))
        if self.directions == 2 and self.merge == "sum":
            H = self.rnn.hidden_size
            y = y[..., :H] + y[..., H:]  # (T, B, H)
        return y, self.seqnet_carry(final)

    def torch_state(self, carry: Carry) -> Any:
        """seqnet's carry parts -> torch's h0 or (h0, c0), each (directions, B, H)."""
        n = self.parts
        stacked = [
            torch.stack([carry[d * n + k] for d in range(self.directions)]) for k in range(n)
        ]
        return tuple(stacked) if n == 2 else stacked[0]

    def seqnet_carry(self, final: Any) -> Carry:
        parts = list(final) if self.parts == 2 else [final]
        return tuple(part[d] for d in range(self.directions) for part in parts)


class Exported(torch.nn.Module):  # type: ignore[misc]
    """A seqnet Sequential: `layers` in order, then the dense head, at every step.

    forward(x, carries=None) -> (logits (T, B, V), carries): x is (T, B, D) floats or (T, B)
    integer ids (one-hot to `input_size` unless the first layer reads tokens); `carries`, one
    tuple per layer in seqnet's layout, continues from earlier ones (None: zeros), and the
    final ones come back the same way. Dropout is active in `train()` mode only.
    """

    def __init__(self, layers: list[Any], head: Any, input_size: int, reads_tokens: bool) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(layers)
        self.head = head
        self.input_size = input_size
        self.reads_tokens = reads_tokens

    def forward(self, x: Any, carries: list[Carry] | None = None) -> tuple[Any, list[Carry]]:
        if not torch.is_floating_point(x) and not self.reads_tokens:
            x = torch.nn.functional.one_hot(x, self.input_size).to(self.head.weight.dtype)
        finals = []
        for k, layer in enumerate(self.layers):
            x, final = layer(x, () if carries is None else carries[k])
            finals.append(final)
        return self.head(x), finals
