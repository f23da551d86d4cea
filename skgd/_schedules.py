"""Learning-rate schedules: the step size as a function of training progress.

A schedule is called as ``schedule(t, epoch)`` with ``t`` the number of
parameter updates and ``epoch`` the number of completed epochs since the
schedule started (a call to ``fit`` starts it, ``partial_fit`` continues it).
``reduce()`` is asked when the monitored loss stops improving; only the
adaptive schedule acts on it, and only it has a state (``state_dict``).
"""

import math

import numpy as np

from ._registry import build


class Constant:
    """``lr(t) = lr0``.

    ``per_update`` says whether the rate may change within an epoch (only
    the inverse scaling's does); the trainer asks the others once a pass.
    """

    settings = ()
    per_update = False

    def __init__(self, lr0):
        self.lr0 = lr0

    def __call__(self, t, epoch):
        return self.lr0

    def rates(self, t, epoch, count):
        """The rates of updates ``t`` to ``t + count - 1`` of ``epoch``, an array."""
        return np.full(count, self(t, epoch), dtype=np.float64)

    def reduce(self):
        """Return whether the schedule lowered its rate (never, here)."""
        return False

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class InvScaling(Constant):
    """``lr(t) = lr0 / (t + 1) ** power_t``, decaying with every update."""

    settings = ("power_t",)
    per_update = True

    def __init__(self, lr0, power_t=0.5):
        super().__init__(lr0)
        self.power_t = power_t

    def __call__(self, t, epoch):
        # exp(-p log(t + 1)) underflows to 0 where (t + 1) ** p would overflow.
        return self.lr0 * math.exp(-self.power_t * math.log1p(t))

    def rates(self, t, epoch, count):
        steps = np.arange(t, t + count, dtype=np.float64)
        return self.lr0 * np.exp(-self.power_t * np.log1p(steps))


class Cosine(Constant):
    """``lr = lr0 * (1 + cos(pi * e / epochs)) / 2`` in epoch ``e``.

    The rate decays from ``lr0`` in the first epoch towards zero over
    ``epochs`` epochs; past them the cycle starts again (a warm restart).
    """

    settings = ("epochs",)

    def __init__(self, lr0, epochs):
        super().__init__(lr0)
        self.epochs = epochs

    def __call__(self, t, epoch):
        phase = (epoch % self.epochs) / self.epochs
        return self.lr0 * 0.5 * (1.0 + math.cos(math.pi * phase))


class Adaptive(Constant):
    """``lr0`` until the monitored loss stops improving, then divided by 5.

    Each ``reduce()`` divides the rate by 5, until it would fall below
    ``min_ratio * lr0``; then ``reduce()`` returns False and training may stop.
    """

    def __init__(self, lr0, min_ratio=1e-6):
        super().__init__(lr0)
        self.lr, self.min_ratio = lr0, min_ratio

    def __call__(self, t, epoch):
        return self.lr

    def reduce(self):
        if self.lr / 5.0 < self.min_ratio * self.lr0:
            return False
        self.lr /= 5.0
        return True

    def state_dict(self):
        return {"lr": self.lr}

    def load_state_dict(self, state):
        self.lr = state.get("lr", self.lr0)


SCHEDULES = {
    "constant": Constant,
    "invscaling": InvScaling,
    "cosine": Cosine,
    "adaptive": Adaptive,
}


def make_schedule(name, lr0, **params):
    """The schedule called ``name``, starting from learning rate ``lr0``.

    ``params`` holds the settings the schedule takes (``power_t``,
    ``epochs``); others are ignored.
    """
    return build(SCHEDULES, name, params, lr0)
