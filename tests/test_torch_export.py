"""seqnet.to_torch and seqnet.from_torch: a model exported to PyTorch computes the same logits and
carries to 1e-10 in float64, and comes back as the same layers and params. Skipped without torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import seqnet
from seqnet_copy import CopyTask
from seqnet_elman import ElmanCell
from seqnet_gru import GRUCell
from seqnet_layers import Bidirectional, Dense, Dropout, Embedding, LayerNorm, Residual
from seqnet_lstm import LSTMCell
from seqnet_memory import StackRNNCell

torch = pytest.importorskip("torch")

TOL = 1e-10
T, B, D, V = 6, 3, 4, 5


class Sizes:
    """A stand-in task: from_torch reads only its sizes."""

    name = "sizes"

    def __init__(self, input_size: int, output_size: int) -> None:
        self.input_size, self.output_size = input_size, output_size


def randomised(model: seqnet.Sequential, seed: int = 0) -> seqnet.Params:
    """Params drawn by the model, then moved off their init (LayerNorm's g = 1, b = 0)."""
    rng = np.random.default_rng(seed)
    params = model.init(rng)
    for value in params.values():
        value += 0.3 * rng.standard_normal(value.shape)
    return params


def random_carries(model: seqnet.Sequential, rng: np.random.Generator) -> list[Any]:
    return [tuple(0.5 * rng.standard_normal(p.shape) for p in c) for c in model.initial_carries(B)]


def assert_same_run(model: seqnet.Sequential, params: seqnet.Params, x: Any) -> Any:
    """The exported module's logits and final carries equal seqnet's, from random carries."""
    carries = random_carries(model, np.random.default_rng(7))
    net = seqnet.to_torch(model, params)
    ours, finals, _ = model.forward(params, x, carries)
    as_torch = [tuple(torch.from_numpy(p) for p in c) for c in carries]
    theirs, torch_finals = net(torch.from_numpy(x), as_torch)
    assert theirs.dtype == torch.float64
    np.testing.assert_allclose(theirs.detach().numpy(), ours, rtol=TOL, atol=TOL)
    for mine, other in zip(finals, torch_finals, strict=True):
        assert len(mine) == len(other)
        for a, b in zip(mine, other, strict=True):
            np.testing.assert_allclose(b.detach().numpy(), a, rtol=TOL, atol=TOL)
    return net


def section_of(layer: Any) -> dict[str, Any]:
    """A layer object's spec section, as a spec file would give it."""
    if isinstance(layer, seqnet.CellLayer):
        return {**section_of(layer.cell), "reverse": layer.reverse}
    return {**layer.spec.model_dump(), "type": layer.name}


def normalised(section: dict[str, Any]) -> dict[str, Any]:
    """A section with every default filled in, a residual's layers too."""
    spec: dict[str, Any] = seqnet.layer_spec(section).model_dump()
    if spec["type"] == "residual":
        spec["layers"] = [normalised(layer) for layer in spec["layers"]]
    return spec


LAYERS = {
    "elman": lambda: ElmanCell(hidden=5),
    "elman-relu": lambda: ElmanCell(hidden=5, activation="relu"),
    "elman-reversed": lambda: seqnet.CellLayer(ElmanCell(hidden=5), reverse=True),
    "lstm": lambda: LSTMCell(hidden=5),
    "lstm-reversed": lambda: seqnet.CellLayer(LSTMCell(hidden=5), reverse=True),
    "gru": lambda: GRUCell(hidden=5),
    "bidirectional-lstm": lambda: Bidirectional(cell="lstm", hidden=3),
    "bidirectional-gru-sum": lambda: Bidirectional(cell="gru", hidden=3, merge="sum"),
    "bidirectional-elman-relu": lambda: Bidirectional(
        cell="elman", hidden=3, options={"activation": "relu"}
    ),
    "dense": lambda: Dense(units=6),
    **{
        f"dense-{a}": (lambda a=a: Dense(units=6, activation=a))
        for a in ("tanh", "relu", "sigmoid", "gelu")
    },
    "layernorm": lambda: LayerNorm(eps=1e-3),
    "residual": lambda: Residual(
        layers=[LayerNorm(), {"type": "lstm", "hidden": D}, Dense(units=D, activation="tanh")]
    ),
    "residual-reversed-gru": lambda: Residual(
        layers=[{"type": "gru", "hidden": D, "reverse": True}, {"type": "dropout", "p": 0.1}]
    ),
    "dropout": lambda: Dropout(p=0.4),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_each_layer_exports_and_comes_back(name: str) -> None:
    model = seqnet.Sequential([LAYERS[name]()], D, V)
    params = randomised(model)
    x = 2.0 * np.random.default_rng(1).standard_normal((T, B, D))
    net = assert_same_run(model, params, x)

    back = seqnet.from_torch(net, Sizes(D, V))
    assert list(back.params) == list(params)
    for key, value in params.items():
        np.testing.assert_array_equal(back.params[key], value, err_msg=key)
    original = model.layers[0]
    assert normalised(back.layers[0]) == normalised(section_of(original))
    assert_same_run(back.model, back.params, x)


def test_an_embedding_first_model_takes_token_ids() -> None:
    model = seqnet.Sequential([Embedding(dim=3), GRUCell(hidden=4)], V, V)
    params = randomised(model)
    ids = np.random.default_rng(2).integers(0, V, (T, B))
    net = assert_same_run(model, params, ids)
    back = seqnet.from_torch(net, Sizes(V, V))
    assert [section["type"] for section in back.layers] == ["embedding", "gru"]
    assert_same_run(back.model, back.params, ids)


def test_a_model_without_an_embedding_reads_ids_one_hot() -> None:
    model = seqnet.Sequential([LSTMCell(hidden=4)], V, V)
    params = randomised(model)
    assert_same_run(model, params, np.random.default_rng(3).integers(0, V, (T, B)))


def test_a_whole_multi_layer_model_round_trips() -> None:
    task = CopyTask(symbols=4)  # input 5 (4 symbols and go), output 4
    layers = [
        Embedding(dim=4),
        Bidirectional(cell="lstm", hidden=4),
        Dropout(p=0.2),
        GRUCell(hidden=5),
        seqnet.CellLayer(ElmanCell(hidden=5, activation="relu"), reverse=True),
        LayerNorm(),
        Dense(units=6, activation="gelu"),
    ]
    model = seqnet.Sequential(layers, task.input_size, task.output_size)
    params = randomised(model, seed=4)
    ids = np.random.default_rng(5).integers(0, task.input_size, (T, B))
    net = assert_same_run(model, params, ids)
    back = seqnet.from_torch(net, task)
    assert [s["type"] for s in back.layers] == [
        "embedding", "bidirectional", "dropout", "gru", "elman", "layernorm", "dense"
    ]  # fmt: skip
    assert back.layers[4]["reverse"] is True and back.layers[4]["activation"] == "relu"
    for key, value in params.items():
        np.testing.assert_array_equal(back.params[key], value, err_msg=key)
    assert_same_run(back.model, back.params, ids)
    # the layer list is a spec's: a run built from it computes the same with the same params
    raw = {"task": {"name": "copy", "symbols": 4}, "model": {"layers": back.layers}}
    built = seqnet.build(seqnet.resolve(raw, seqnet.load_registry())).model
    assert list(built.init(np.random.default_rng(0))) == list(params)
    logits, _, _ = built.forward(back.params, ids)
    np.testing.assert_array_equal(logits, model.forward(params, ids)[0])


def test_float32_stays_float32() -> None:
    model = seqnet.Sequential([GRUCell(hidden=4), Dense(units=3)], D, V, dtype="float32")
    params = model.init(np.random.default_rng(0))
    net = seqnet.to_torch(model, params)
    x = np.random.default_rng(1).standard_normal((T, B, D)).astype(np.float32)
    logits, _ = net(torch.from_numpy(x))
    assert logits.dtype == torch.float32
    ours, _, _ = model.forward(params, x)
    np.testing.assert_allclose(logits.detach().numpy(), ours, rtol=1e-4, atol=1e-5)
    back = seqnet.from_torch(net, Sizes(D, V))
    assert back.model.dtype == np.float32


class UserNet(torch.nn.Module):  # type: ignore[misc, name-defined]
    """A model as a PyTorch user writes one: a two-layer bidirectional LSTM, batch-first, with
    dropout between its layers, and a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = torch.nn.LSTM(D, 4, num_layers=2, bidirectional=True, dropout=0.25,
                                 batch_first=True, dtype=torch.float64)  # fmt: skip
        self.fc = torch.nn.Linear(8, V, dtype=torch.float64)

    def forward(self, x: Any) -> Any:
        h, _ = self.rnn(x)  # (B, T, 2H)
        return self.fc(h)


@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
def test_a_users_recurrent_model_comes_in(cls: str) -> None:
    torch.manual_seed(0)
    net = UserNet()
    if cls != "LSTM":
        net.rnn = getattr(torch.nn, cls)(D, 4, num_layers=2, bidirectional=True, dropout=0.25,
                                          batch_first=True, dtype=torch.float64)  # fmt: skip
    net.eval()  # dropout off: seqnet evaluates without it
    x = np.random.default_rng(6).standard_normal((T, B, D))
    want = net(torch.from_numpy(x).transpose(0, 1)).transpose(0, 1).detach().numpy()

    model, params, layers = seqnet.from_torch(net, Sizes(D, V))
    assert [s["type"] for s in layers] == ["bidirectional", "dropout", "bidirectional"]
    assert layers[1]["p"] == 0.25 and layers[0]["cell"] == cls.lower().replace("rnn", "elman")
    ours, _, _ = model.forward(params, x)
    np.testing.assert_allclose(ours, want, rtol=TOL, atol=TOL)


def test_a_recurrent_module_without_biases_comes_in_with_zero_biases() -> None:
    net = torch.nn.Sequential(
        torch.nn.GRU(D, 3, bias=False, dtype=torch.float64),
    )

    class Net(torch.nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.gru = torch.nn.GRU(D, 3, bias=False, dtype=torch.float64)
            self.head = torch.nn.Linear(3, V, dtype=torch.float64)

    torch.manual_seed(1)
    net = Net()
    x = np.random.default_rng(8).standard_normal((T, B, D))
    want = net.head(net.gru(torch.from_numpy(x))[0]).detach().numpy()
    model, params, _ = seqnet.from_torch(net, Sizes(D, V))
    np.testing.assert_allclose(model.forward(params, x)[0], want, rtol=TOL, atol=TOL)


def test_a_layer_torch_lacks_is_named_in_one_line() -> None:
    model = seqnet.Sequential([GRUCell(hidden=3), StackRNNCell(hidden=3)], D, V)
    params = model.init(np.random.default_rng(0))
    with pytest.raises(
        seqnet.SpecError, match=r"^layer 1 \(stack_rnn\) has no PyTorch counterpart"
    ):
        seqnet.to_torch(model, params)
    sigmoid = seqnet.Sequential([ElmanCell(hidden=3, activation="sigmoid")], D, V)
    with pytest.raises(seqnet.SpecError, match=r"^elman with activation sigmoid: torch\.nn\.RNN"):
        seqnet.to_torch(sigmoid, sigmoid.init(np.random.default_rng(0)))
    block = seqnet.Sequential([Residual(layers=[LayerNorm(), StackRNNCell(hidden=D)])], D, V)
    with pytest.raises(seqnet.SpecError, match=r"^residual layer 1 \(stack_rnn\) has no PyTorch"):
        seqnet.to_torch(block, block.init(np.random.default_rng(0)))


def test_from_torch_names_what_it_cannot_take() -> None:
    class Conv(torch.nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv1d(D, 3, 2)
            self.head = torch.nn.Linear(3, V)

    with pytest.raises(seqnet.SpecError, match=r"^from_torch: no seqnet layer computes Conv1d"):
        seqnet.from_torch(Conv(), Sizes(D, V))
    with pytest.raises(
        seqnet.SpecError, match=r"the last child of LSTM must be a torch\.nn\.Linear"
    ):
        seqnet.from_torch(torch.nn.LSTM(D, 3), Sizes(D, V))
    model = seqnet.Sequential([GRUCell(hidden=3)], D, V)
    exported = seqnet.to_torch(model, model.init(np.random.default_rng(0)))
    with pytest.raises(seqnet.SpecError, match=r"^from_torch: layers\.0\.W_x is of shape \(4, 9\)"):
        seqnet.from_torch(exported, Sizes(D + 1, V))


def test_a_trained_run_exports_with_equal_outputs(tmp_path: Path) -> None:
    run = seqnet.Run.create("binadd", tmp_path / "run", steps=30, hidden=6)
    run.train()
    batch = run.task.sample(np.random.default_rng(3), 5)
    logits, _ = seqnet.to_torch(run)(torch.from_numpy(batch.x))
    ours, _, _ = run.model.forward(run.params, batch.x)
    np.testing.assert_allclose(logits.detach().numpy(), ours, rtol=TOL, atol=TOL)
    back = seqnet.from_torch(seqnet.to_torch(run), run.task)
    assert back.layers == [{"type": "elman", "hidden": 6, "activation": "tanh", "reverse": False}]
    with pytest.raises(seqnet.SpecError, match="needs the model's params"):
        seqnet.to_torch(run.model)
