"""PyTorch's recurrent-layer state_dict layout <-> seqnet's four arrays W_x, W_h, b_x, b_h.

torch.nn.LSTM and torch.nn.GRU (layer k) store weight_ih_lk (G·H, D), weight_hh_lk (G·H, H),
bias_ih_lk and bias_hh_lk (G·H,); seqnet keeps the weights transposed: W_x = weight_ih_lk.T,
W_h = weight_hh_lk.T, b_x = bias_ih_lk, b_h = bias_hh_lk. Every array returned is a fresh copy.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from seqnet.interfaces import Array, Params


def params_from_torch(weights: Mapping[str, Array], layer: int = 0) -> Params:
    """W_x, W_h, b_x, b_h from one layer of a torch recurrent state_dict (as numpy arrays)."""
    k = f"_l{layer}"
    return {
        "W_x": np.array(weights["weight_ih" + k]).T.copy(),
        "W_h": np.array(weights["weight_hh" + k]).T.copy(),
        "b_x": np.array(weights["bias_ih" + k]),
        "b_h": np.array(weights["bias_hh" + k]),
    }


def params_to_torch(params: Mapping[str, Array], layer: int = 0) -> dict[str, Array]:
    """The torch state_dict entries (numpy arrays) of one layer's W_x, W_h, b_x, b_h."""
    k = f"_l{layer}"
    return {
        "weight_ih" + k: params["W_x"].T.copy(),
        "weight_hh" + k: params["W_h"].T.copy(),
        "bias_ih" + k: params["b_x"].copy(),
        "bias_hh" + k: params["b_h"].copy(),
    }
