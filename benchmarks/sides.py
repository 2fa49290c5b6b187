"""The two things compared: one training step of seqnet and of PyTorch at the same sizes.

A training step is forward + loss + backward + an Adam step, on one fixed batch. seqnet's side
uses its public objects (Model, a cell from the registry, the `adam` optimizer plugin, its MSE
loss); torch's uses nn.RNN / nn.LSTM / nn.GRU, nn.Linear and torch.optim.Adam.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

OUTPUTS = 8  # V: the head's width; small, as in the sequence tasks seqnet is for
GATES = {"elman": 1, "lstm": 4, "gru": 3, "bilstm": 4, "emb-lstm": 4}
TORCH_CLASSES = {"elman": "RNN", "lstm": "LSTM", "gru": "GRU"}
VOCAB = 64  # emb-lstm: token ids below this, embedded in H dimensions
COMPOSED = {  # composed models: the cell name in a Point -> seqnet's layers (D = H)
    "bilstm": lambda H: [{"type": "bidirectional", "cell": "lstm", "hidden": H}],
    "emb-lstm": lambda H: [
        {"type": "embedding", "dim": H},
        {"type": "lstm", "hidden": H},
        {"type": "dense", "units": H, "activation": "relu"},
    ],
}


@dataclass(frozen=True)
class Point:
    """One grid point: a cell at batch B, hidden H, length T; the input width D equals H."""

    cell: str
    B: int
    H: int
    T: int
    dtype: str = "float32"

    @property
    def D(self) -> int:
        return self.H

    @property
    def label(self) -> str:
        return f"{self.cell} B={self.B} H={self.H} T={self.T}"

    def flops(self) -> float:
        """Multiply-add FLOPs of the GEMMs one training step needs, 2 FLOPs each.

        Forward: T·B·D·(gates·H) for the input projections, T·B·H·(gates·H) for the recurrent
        ones, T·B·H·V for the head. Backward: the head's two (dW, dh), and the cell's dW_x, dW_h
        and dh_{t-1}, but no dx: the input is data, so neither side needs its gradient.
        """
        G = GATES[self.cell]
        inputs = 2.0 * self.T * self.B * self.D * G * self.H
        recurrent = 2.0 * self.T * self.B * self.H * G * self.H
        head = 2.0 * self.T * self.B * self.H * OUTPUTS
        if self.cell == "bilstm":  # two directions, and the head reads both: 2H
            return 2 * (2.0 * inputs + 3.0 * recurrent) + 3.0 * 2 * head
        if self.cell == "emb-lstm":  # an embedding is a lookup (no GEMM); dense is H×H
            return (
                3.0 * recurrent
                + 3.0 * inputs
                + 3.0 * 2.0 * self.T * self.B * self.H**2
                + (3.0 * head)
            )  # the LSTM's dx is needed here (the dense layer's input is not data)
        return 2.0 * inputs + 3.0 * recurrent + 3.0 * head


def batch_data(point: Point, seed: int = 0) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Inputs x (T, B, D) (token ids (T, B) for emb-lstm) and targets y (T, B, V), the same for
    both sides."""
    rng = np.random.default_rng(seed)
    if point.cell == "emb-lstm":
        x = rng.integers(0, VOCAB, size=(point.T, point.B))
    else:
        x = rng.standard_normal((point.T, point.B, point.D)).astype(point.dtype)
    y = rng.standard_normal((point.T, point.B, OUTPUTS)).astype(point.dtype)
    return x, y


@dataclass
class SeqnetParts:
    """What one seqnet training step at a point works on: the model, its parameters, Adam, and
    the batch (x, y and a mask of ones)."""

    model: Any
    params: Any
    optimizer: Any
    x: np.ndarray[Any, Any]
    y: np.ndarray[Any, Any]
    mask: np.ndarray[Any, Any]


def seqnet_parts(point: Point, seed: int = 0) -> SeqnetParts:
    """The point's model (a cell's, or a composed one), fresh parameters, Adam and a batch."""
    from seqnet.layers import build_layer
    from seqnet.model import Model, Sequential
    from seqnet.plugins import load_registry

    registry = load_registry()
    model: Sequential
    if point.cell in COMPOSED:
        layers = [build_layer(s, registry) for s in COMPOSED[point.cell](point.H)]
        size = VOCAB if point.cell == "emb-lstm" else point.D
        model = Sequential(layers, size, OUTPUTS, dtype=point.dtype)
    else:
        cell = registry.get("cell", point.cell).cls(hidden=point.H)
        model = Model(cell, point.D, OUTPUTS, dtype=point.dtype)
    optimizer = registry.get("optimizer", "adam").cls(lr=1e-3)
    x, y = batch_data(point, seed)
    mask = np.ones((point.T, point.B), dtype=point.dtype)
    return SeqnetParts(model, model.init(np.random.default_rng(seed)), optimizer, x, y, mask)


def seqnet_step(point: Point, seed: int = 0) -> Callable[[int], float]:
    """One seqnet training step as a closure of the thread count returning the loss.

    As in `seqnet.train`: BLAS on that many threads, or a large batch split between them.
    """
    from seqnet.allocator import keep_freed_memory
    from seqnet.losses import mse
    from seqnet.parallel import BatchParallel

    keep_freed_memory()  # as the seqnet command does
    parts = seqnet_parts(point, seed)
    model, params, optimizer, x, y, mask = (parts.model, parts.params, parts.optimizer, parts.x,
                                            parts.y, parts.mask)  # fmt: skip
    nets: dict[int, BatchParallel] = {}

    def step(threads: int) -> float:
        if threads not in nets:  # one per thread count, made once (not inside the timing)
            nets[threads] = BatchParallel(model, threads)
        net = nets[threads]
        logits, _, cache = net.forward(params, x)
        loss, dlogits = mse(logits, y, mask)
        grads, _ = net.backward(params, cache, dlogits)
        optimizer.step(params, grads)
        return loss

    return step


def torch_step(point: Point, seed: int = 0) -> Callable[[int], float]:
    """One PyTorch training step as a closure returning the loss (fused Adam where available);
    its thread count is set by torch.set_num_threads (worker.py)."""
    import torch

    torch.manual_seed(seed)
    dtype = getattr(torch, point.dtype)
    front: Any = None  # emb-lstm: the embedding before the LSTM, and its dense layer after
    back: Any = None
    if point.cell == "bilstm":
        rnn = torch.nn.LSTM(point.D, point.H, bidirectional=True).to(dtype)
        head = torch.nn.Linear(2 * point.H, OUTPUTS).to(dtype)
    elif point.cell == "emb-lstm":
        front = torch.nn.Embedding(VOCAB, point.H).to(dtype)
        rnn = torch.nn.LSTM(point.H, point.H).to(dtype)
        back = torch.nn.Sequential(torch.nn.Linear(point.H, point.H), torch.nn.ReLU()).to(dtype)
        head = torch.nn.Linear(point.H, OUTPUTS).to(dtype)
    else:
        rnn = getattr(torch.nn, TORCH_CLASSES[point.cell])(point.D, point.H).to(dtype)
        head = torch.nn.Linear(point.H, OUTPUTS).to(dtype)
    modules = [m for m in (front, rnn, back, head) if m is not None]
    parameters = [p for m in modules for p in m.parameters()]
    try:
        optimizer = torch.optim.Adam(parameters, lr=1e-3, fused=True)
    except (RuntimeError, TypeError):  # older builds: no fused Adam on the CPU
        optimizer = torch.optim.Adam(parameters, lr=1e-3, foreach=True)
    xn, yn = batch_data(point, seed)
    x, y = torch.from_numpy(xn), torch.from_numpy(yn)

    def step(threads: int) -> float:
        optimizer.zero_grad(set_to_none=True)
        out, _ = rnn(x if front is None else front(x))  # (T, B, H), (T, B, 2H) bidirectional
        diff = head(out if back is None else back(out)) - y
        loss = (diff * diff).sum(-1).mean()  # seqnet's mse: summed over V, mean over steps
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


SIDES: dict[str, Callable[[Point, int], Callable[[int], float]]] = {
    "seqnet": seqnet_step,
    "torch": torch_step,
}


def torch_available() -> bool:
    try:
        import torch  # noqa: F401 -- only asking whether it is installed
    except ImportError:
        return False
    return True
