"""The optimizer of a stack: SGD or Adam, each candidate with its own
settings; or, for a stack of one, any optimizer of the registry."""

import numpy as np

from ..._optimizers import OPTIMIZERS, Averaged, IterateAverage
from ..fused import spread_settings
from ..linear_pass import compiled_optimizer
from ..trainer import add_penalty


class StackedOptimizer:
    """SGD or Adam over a stacked buffer, with each candidate's own settings.

    Each step is one call of
    :func:`skgd.engine.stacked_passes.stacked_network_step`: each candidate's L2
    penalty and update, with the arithmetic of its own fit's compiled step.

    Parameters
    ----------
    params : list of dict
        The candidates' parameters (``optimizer`` and ``nesterov`` equal).
    net : StackedNetwork
    averaged : bool, default=False
        Whether the model is the average of the iterates.
    """

    def __init__(self, params, net, averaged=False):
        self.name, self.nesterov = params[0]["optimizer"], params[0]["nesterov"]
        self.average = IterateAverage() if averaged else None
        settings = [key for key in OPTIMIZERS[self.name].settings if key != "nesterov"]
        self.values = {
            key: np.array([float(p[key]) for p in params])
            for key in (*settings, "alpha")
        }
        self.net, self.t = net, 0
        names = ("m_", "v_") if self.name == "adam" else ("velocity",)
        if self.name == "sgd" and not self.values["momentum"].any():
            names = ()
        self.buffers = {name: np.zeros_like(net.params) for name in names}
        self.codes = np.array([0, self.name == "adam", self.nesterov, 0], np.int64)
        from ..stacked_passes import stacked_network_step  # numba: with the stack

        self._kernel = stacked_network_step
        self._settle()

    def _settle(self):
        """The kernel's settings for the candidates now in the stack."""
        spread = self.spread = spread_settings(self.values["alpha"], self.values)
        self.blocks = self.net.block_table()
        widths, K = self.blocks[:, 3], spread.shape[1]
        # Each column's settings, layer after layer (see stacked_network_step).
        self.columns = np.concatenate([np.repeat(spread, o, axis=1) for o in widths], 1)
        self._scratch = np.empty(2 * K * int(widths.max()) + K)
        empty = np.zeros(0, self.net.dtype)
        names = ("velocity", "m_", "v_")
        self._buffers = [self.buffers.get(name, empty) for name in names]

    def keep(self, kept, select):
        """Keep the candidates ``kept``; ``select`` maps an old buffer to the new."""
        self.values = {key: value[kept] for key, value in self.values.items()}
        self.buffers = {name: select(buffer) for name, buffer in self.buffers.items()}
        if self.average is not None and self.average.iterate is not None:
            self.average.iterate = select(self.average.iterate)
        self._settle()

    def step(self, params, grads, lr, values=None):
        """One update of every candidate at its rate ``lr[k]``, its penalty
        included; returns each candidate's ``(alpha / 2) ||W||**2``, or adds
        them to ``values`` (float64, by candidate) and returns it."""
        if self.name == "adam":
            self.t += 1
        if values is None:
            values = np.zeros(len(lr))
        self._kernel(
            params, grads, self.blocks, np.asarray(lr, dtype=float), self.t,
            self.spread, self.columns, self.codes, *self._buffers, values,
            self._scratch,
        )  # fmt: skip
        if self.average is not None:
            self.average.update(params, grads)  # the gradients are spent
        return values

    def candidate_state(self, k):
        """Candidate ``k``'s state, as its own optimizer's ``state_dict``."""
        net, state = self.net, {}
        if self.average is not None:
            iterate = self.average.iterate
            state["iterate"] = (
                None if iterate is None else net.candidate_params(k, iterate)
            )
            state["count"] = self.average.count
        if self.name == "adam":
            return {
                **state,
                "t": self.t,
                "m_": net.candidate_params(k, self.buffers["m_"]),
                "v_": net.candidate_params(k, self.buffers["v_"]),
            }
        v = self.buffers.get("velocity")
        return {**state, "velocity": None if v is None else net.candidate_params(k, v)}

    def load(self, state):
        """Go on from one candidate's ``state`` (its own optimizer's
        ``state_dict``), in a stack of one: the same layout."""
        for name, buffer in self.buffers.items():
            if state.get(name) is not None:
                buffer[...] = state[name]
        self.t = int(state.get("t", 0))
        if self.average is not None:
            self.average.load_state_dict(state)

    def snapshot(self):
        """The state :meth:`restore` rolls back to (copies)."""
        average = None if self.average is None else self.average.state_dict()
        buffers = {name: buffer.copy() for name, buffer in self.buffers.items()}
        return buffers, self.t, average

    def restore(self, saved):
        buffers, self.t, average = saved
        for name, buffer in buffers.items():
            self.buffers[name][...] = buffer
        if average is not None:
            self.average.load_state_dict(average)


class _OwnOptimizer:
    """The optimizer of a stack of one that the kernels do not implement (one
    added to the registry): its own numpy steps, the penalty added first
    (:func:`~skgd.engine.trainer.add_penalty`)."""

    name = nesterov = None  # no compiled pass knows it

    def __init__(self, optimizer, net, alpha):
        self.inner, self.net, self.alpha = optimizer, net, float(alpha)
        self.average = getattr(optimizer, "average", None)

    def step(self, params, grads, lr, values):
        if self.alpha:
            values[0] = add_penalty(self.net, self.alpha, values[0])
        self.inner.step(params, grads, float(lr[0]))
        return values

    def candidate_state(self, k):
        return self.inner.state_dict()

    def snapshot(self):
        return self.inner.state_dict()

    def restore(self, saved):
        self.inner.load_state_dict(saved)


def stack_optimizer(states, params, net, nets):
    """The stack's optimizer, from the candidates' own (``states``)."""
    optimizer = states[0].optimizer
    if not compiled_optimizer(optimizer):
        if len(states) > 1:  # only its own fit knows it
            raise ValueError("A stack trains only SGD and Adam (averaged or not).")
        return _OwnOptimizer(optimizer, nets[0], params[0]["alpha"])
    stacked = StackedOptimizer(params, net, isinstance(optimizer, Averaged))
    if len(states) == 1:  # a fit goes on from its state (partial_fit)
        stacked.load(optimizer.state_dict())
    return stacked
