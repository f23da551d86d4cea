"""What the multilayer perceptrons share: their network and their weights.

:class:`_MLPModel` is the part of :class:`~skgd.MLPRegressor` and
:class:`~skgd.MLPClassifier` that does not depend on the task: the layers
built from the hidden layer sizes, the activation, the dropout rates and
the weight initialization, and reading and writing ``coefs_`` and
``intercepts_``; :data:`_MLP_CONSTRAINTS` are the constraints of the
parameters that say so.
"""

from functools import partial
from numbers import Integral

import numpy as np

from ._activations import ACTIVATIONS, Activation
from ._base import BaseGD
from ._compat import Interval, StrOptions
from ._layers import Dense, Dropout, glorot_uniform, he_uniform

_MLP_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "dropout": [BaseGD._rate_constraint, "array-like"],
    "input_dropout": [BaseGD._rate_constraint],
    "weight_init": [StrOptions({"glorot_uniform", "he_uniform"})],
}


class _MLPModel:
    """The network and the weights of a multilayer perceptron."""

    def _hidden_sizes(self):
        sizes = np.atleast_1d(self.hidden_layer_sizes)
        if sizes.ndim != 1 or not all(  # a bool is an Integral, not a size
            isinstance(h, Integral) and not isinstance(h, bool) and h >= 1
            for h in sizes.tolist()
        ):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of positive integers, got "
                f"{self.hidden_layer_sizes!r}; e.g. hidden_layer_sizes=(64, 64)."
            )
        return sizes.tolist()

    def _dropout_rates(self, n_hidden):
        try:
            rates = np.asarray(self.dropout, dtype=float)
        except (TypeError, ValueError):
            rates = np.array([np.nan])
        if rates.ndim > 1 or np.isnan(rates).any():
            raise ValueError(
                "dropout must be a float or a sequence of floats, one per hidden "
                f"layer, got {self.dropout!r}; e.g. dropout=0.2."
            )
        if rates.ndim == 1 and len(rates) != n_hidden:
            raise ValueError(
                f"dropout has {len(self.dropout)} rates but there are {n_hidden} "
                "hidden layers; give one rate per hidden layer, or a single float."
            )
        rates = np.broadcast_to(rates, (n_hidden,))
        if not np.all((rates >= 0) & (rates < 1)):
            raise ValueError(
                f"dropout rates must be in [0, 1), got {self.dropout!r}; 0 keeps "
                "every unit."
            )
        return rates.tolist()

    def _build_layers(self, n_features, n_outputs):
        sizes = self._hidden_sizes()
        if self.weight_init == "he_uniform":
            init = he_uniform
        else:
            factor = 2.0 if self.activation == "logistic" else 6.0
            init = partial(glorot_uniform, factor=factor)
        # Dropout positions: the input is stream 0, hidden layer i is i + 1,
        # whatever the rates (see skgd.engine.session.dropout_streams).
        layers = [Dropout(self.input_dropout, 0)] if self.input_dropout else []
        widths = [n_features, *sizes]
        rates = self._dropout_rates(len(sizes))
        for i, (n_in, n_out, rate) in enumerate(zip(widths, sizes, rates)):
            layers.append(Dense(n_in, n_out, init=init))
            if self.activation != "identity":
                layers.append(Activation(self.activation))
            if rate:
                layers.append(Dropout(rate, i + 1))
        layers.append(Dense(widths[-1], n_outputs, init=init))
        return layers

    def _get_weights(self):
        return list(zip(self.coefs_, self.intercepts_))

    def _mlp_attributes(self, weights, out_activation):
        return {
            "coefs_": [W for W, _ in weights],
            "intercepts_": [b for _, b in weights],
            "n_layers_": len(weights) + 1,
            "n_outputs_": weights[-1][0].shape[1],
            "out_activation_": out_activation,
            "_activation": self.activation,  # what predict uses, whatever set_params
        }

    def _auto_learning_rate(self, X, Y, sample_weight, rows, loss):
        return 1e-3
