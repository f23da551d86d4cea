"""Optimizers over one flat parameter vector.

Each optimizer follows a small contract: ``init(params)`` makes its state for
a parameter vector, and ``step(params, grads, lr)`` updates ``params`` in
place with learning rate ``lr``; it may use ``grads`` as scratch space, since
the next backward pass overwrites them anyway. Every parameter of a network is
a view into one vector, so a step is a few vectorized calls, whatever the depth.
"""

import numpy as np

from ._blas import AXPY


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

    def __init__(self, momentum=0.0, nesterov=False):
        self.momentum, self.nesterov = momentum, nesterov

    def init(self, params):
        self.velocity = np.zeros_like(params) if self.momentum else None

    def step(self, params, grads, lr):
        axpy = AXPY[params.dtype]
        v = self.velocity
        if v is None:
            axpy(grads, params, a=-lr)
            return
        np.multiply(v, self.momentum, v)
        axpy(grads, v, a=1.0)
        if self.nesterov:
            axpy(grads, params, a=-lr)
            axpy(v, params, a=-lr * self.momentum)
        else:
            axpy(v, params, a=-lr)


class Adam:
    """Adam (Kingma & Ba, 2015), with bias correction folded into the step.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g**2`` and
    ``w <- w - lr_t * m / (sqrt(v) + epsilon)`` with
    ``lr_t = lr * sqrt(1 - b2**t) / (1 - b1**t)`` at step ``t`` (counted from
    1), the form of section 2 of the paper, also used by scikit-learn's MLP.

    Parameters
    ----------
    beta_1, beta_2 : float in [0, 1)
    epsilon : float > 0
    """

    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def init(self, params):
        self.t = 0
        self.m, self.v = np.zeros_like(params), np.zeros_like(params)

    def step(self, params, grads, lr):
        axpy, m, v, g = AXPY[params.dtype], self.m, self.v, grads
        self.t += 1
        np.multiply(m, self.beta_1, m)
        axpy(g, m, a=1.0 - self.beta_1)
        np.multiply(v, self.beta_2, v)
        np.multiply(g, g, g)  # the gradient buffer doubles as scratch space
        axpy(g, v, a=1.0 - self.beta_2)
        np.sqrt(v, g)
        np.add(g, self.epsilon, g)
        np.divide(m, g, g)
        correction = np.sqrt(1.0 - self.beta_2**self.t) / (1.0 - self.beta_1**self.t)
        axpy(g, params, a=-lr * correction)


OPTIMIZERS = {"sgd": SGD, "adam": Adam}
