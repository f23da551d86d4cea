"""Optimizers over one flat parameter vector.

Each optimizer follows a small contract: ``init(params)`` makes its state for
a parameter vector, and ``step(params, grads, lr)`` updates ``params`` in
place with learning rate ``lr``; it may use ``grads`` as scratch space, since
the next backward pass overwrites them anyway. ``state_dict()`` and
``load_state_dict(state)`` move the state in and out as plain arrays and
numbers (copies), which is how a fitted estimator stores it; a state saved by
another optimizer is ignored. Every parameter of a network is a view into one
vector, so a step is a few vectorized calls, whatever the depth.

Only numpy ufuncs are used: calling a second BLAS library (scipy's) between
numpy's matrix products makes the two libraries' thread pools fight.
"""

import math

import numpy as np


class SGD:
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    With momentum ``mu`` the velocity accumulates gradients, as in PyTorch and
    optax: ``v <- mu * v + g``, then ``w <- w - lr * v``, or with Nesterov
    ``w <- w - lr * (g + mu * v)``. With ``mu = 0`` it is ``w <- w - lr * g``.
    Keeping ``lr`` out of the velocity makes a schedule act at once.

    Parameters
    ----------
    momentum : float in [0, 1), default=0.0
    nesterov : bool, default=False
    """

    settings = ("momentum", "nesterov")

    def __init__(self, momentum=0.0, nesterov=False):
        self.momentum, self.nesterov = float(momentum), nesterov

    def init(self, params):
        self.velocity = np.zeros_like(params) if self.momentum else None
        # The rate as a 0-d array of the parameters' type: a ufunc takes it
        # about twice as fast as a Python float, with the same result.
        self._lr, self._lr_value = np.zeros((), params.dtype), None

    def state_dict(self):
        return {"velocity": None if self.velocity is None else self.velocity.copy()}

    def load_state_dict(self, state):
        if self.velocity is not None and state.get("velocity") is not None:
            self.velocity[...] = state["velocity"]

    def step(self, params, grads, lr):
        v = self.velocity
        if v is None:  # the hot path of plain SGD: two ufunc calls
            if lr != self._lr_value:
                self._lr[()] = self._lr_value = lr
            np.multiply(grads, self._lr, grads)
            np.subtract(params, grads, params)
            return
        np.multiply(v, self.momentum, v)
        np.add(v, grads, v)
        if self.nesterov:
            _descend(params, grads, lr, scratch=grads)
            _descend(params, v, lr * self.momentum, scratch=grads)
        else:
            _descend(params, v, lr, scratch=grads)


class Adam:
    """Adam (Kingma & Ba, 2015), with bias correction folded into the step.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g**2`` and
    ``w <- w - lr_t * m / (sqrt(v) + epsilon)`` with
    ``lr_t = lr * sqrt(1 - b2**t) / (1 - b1**t)`` at step ``t`` (counted from
    1), the form of section 2 of the paper, also used by scikit-learn's MLP.

    To save two passes over the parameters, the state holds the moments
    divided by ``1 - b1`` and ``1 - b2``: ``m_ = m / (1 - b1)`` follows
    ``m_ <- b1 m_ + g`` and ``v_ = v / (1 - b2)`` follows ``v_ <- b2 v_ + g**2``,
    and the constant factors move into the step and epsilon.

    Parameters
    ----------
    beta_1, beta_2 : float in [0, 1)
    epsilon : float > 0
    """

    settings = ("beta_1", "beta_2", "epsilon")

    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = float(epsilon)

    def init(self, params):
        self.t = 0
        self.m_, self.v_ = np.zeros_like(params), np.zeros_like(params)

    def state_dict(self):
        return {"t": self.t, "m_": self.m_.copy(), "v_": self.v_.copy()}

    def load_state_dict(self, state):
        if "m_" in state:
            self.t = int(state["t"])
            self.m_[...], self.v_[...] = state["m_"], state["v_"]

    def step(self, params, grads, lr):
        m_, v_, g = self.m_, self.v_, grads
        b1, b2 = self.beta_1, self.beta_2
        self.t += 1
        np.multiply(m_, b1, m_)
        np.add(m_, g, m_)
        np.multiply(v_, b2, v_)
        np.multiply(g, g, g)
        np.add(v_, g, v_)
        # m / (sqrt(v) + eps) = k * m_ / (sqrt(v_) + eps / sqrt(1 - b2)),
        # with k = (1 - b1) / sqrt(1 - b2).
        # Python floats, not numpy scalars, keep float32 arithmetic in float32.
        np.sqrt(v_, g)
        np.add(g, self.epsilon / math.sqrt(1.0 - b2), g)
        np.divide(m_, g, g)
        correction = math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        k = (1.0 - b1) / math.sqrt(1.0 - b2)
        _descend(params, g, lr * correction * k, scratch=g)


# The weight of recent iterates in the average (Shamir & Zhang's eta).
AVERAGE_POWER = 3


class IterateAverage:
    """The polynomial-decay average of the iterates (Shamir & Zhang, 2013).

    After update ``t`` the average moves toward the new iterate ``w_t``:
    ``a <- a + rho_t (w_t - a)``, ``rho_t = (eta + 1) / (t + eta)``, so that
    iterate ``s`` weighs in proportion to about ``s**eta``. With ``eta = 0`` it
    is the plain (Polyak-Ruppert) mean; ``eta > 0`` forgets the start
    polynomially fast, so the average follows the descent until the noise of
    the mini-batches dominates, and then averages the noise away. For least
    squares, constant-step SGD with averaging converges to the optimum
    itself (Bach & Moulines, NeurIPS 2013), where the last iterate stays in
    a noise ball whose size is proportional to the step.

    Between passes the network holds the average (the model, which is
    scored and returned); during a pass (``begin`` to ``end``) it holds the
    iterate, at which gradients are taken, and this object the average.
    The iterate is taken from the network when the first pass begins.
    """

    def __init__(self, power=AVERAGE_POWER):
        self.power, self.count, self.iterate, self.mean = power, 0, None, None
        self._rho = None

    def begin(self, params):
        """Swap the iterate into ``params``, keeping the average aside."""
        if self.iterate is None:
            self.iterate = params.copy()
        if self.mean is None or self.mean.shape != params.shape:
            self.mean = np.empty_like(params)
            # rho as a 0-d array, which a ufunc takes faster than a float.
            self._rho = np.zeros((), params.dtype)
        self.mean[...] = params
        params[...] = self.iterate

    def update(self, params, scratch):
        """Fold the iterate just made into the average, through ``scratch``."""
        self.count += 1
        self._rho[()] = (self.power + 1.0) / (self.count + self.power)
        np.subtract(params, self.mean, scratch)
        np.multiply(scratch, self._rho, scratch)
        np.add(self.mean, scratch, self.mean)

    def end(self, params):
        """Swap the average back into ``params``, keeping the iterate aside."""
        self.iterate[...] = params
        params[...] = self.mean

    def state_dict(self):
        iterate = None if self.iterate is None else self.iterate.copy()
        return {"iterate": iterate, "count": self.count}

    def load_state_dict(self, state):
        iterate = state.get("iterate")
        self.iterate = None if iterate is None else np.array(iterate)
        self.count = int(state.get("count", 0))


class Averaged:
    """An optimizer whose model is the average of its iterates.

    ``step`` is the inner optimizer's, followed by the update of its
    :class:`IterateAverage` ``average``, whose ``begin`` and ``end`` bracket
    each pass over batches. Its state is the inner one's plus the iterate
    and the count of averaged updates.
    """

    def __init__(self, inner, power=AVERAGE_POWER):
        self.inner, self.average = inner, IterateAverage(power)

    def init(self, params):
        self.inner.init(params)

    def step(self, params, grads, lr):
        self.inner.step(params, grads, lr)
        self.average.update(params, grads)  # the gradients are spent

    def state_dict(self):
        return {**self.inner.state_dict(), **self.average.state_dict()}

    def load_state_dict(self, state):
        self.inner.load_state_dict(state)
        self.average.load_state_dict(state)


def _descend(params, direction, lr, scratch):
    """``params -= lr * direction``, through ``scratch`` (may be ``direction``)."""
    np.multiply(direction, lr, scratch)
    np.subtract(params, scratch, params)


OPTIMIZERS = {"sgd": SGD, "adam": Adam}
