"""torch is optional: without it, seqnet.to_torch and seqnet.from_torch fail with one line that
says how to install it (run whether or not torch is installed)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import seqnet
from seqnet_gru import GRUCell


def test_without_torch_export_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    model = seqnet.Sequential([GRUCell(hidden=3)], 2, 2)
    params = model.init(np.random.default_rng(0))
    for call in (
        lambda: seqnet.to_torch(model, params),
        lambda: seqnet.from_torch(object(), "binadd"),
    ):
        with pytest.raises(seqnet.SeqnetError) as caught:
            call()
        assert str(caught.value).endswith("not installed: pip install torch")
        assert "\n" not in str(caught.value) and type(caught.value) is seqnet.SeqnetError
