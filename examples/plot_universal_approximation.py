r"""
Universal approximation: wider networks fit any shape
=====================================================

A large enough neural network can represent any input–output relation. This
is why networks replaced hand-picked model families such as linear models,
support vector machines and trees: instead of choosing a family that matches
the data, one makes the network large enough. This example fits
:class:`skgd.MLPRegressor` with one hidden layer of a few widths to two
curves on :math:`[-2, 2]`, a smooth one, :math:`\sin(3x)`, and one with
jumps, a step function. A linear model (width 0) can only draw a line; each
hidden ReLU unit is a hinge and can add one bend, so wider layers can follow
the curves more closely.
"""

# %%
# Two target functions
# --------------------

import matplotlib.pyplot as plt
import numpy as np

from skgd import MLPRegressor

rng = np.random.default_rng(0)
X = rng.uniform(-2, 2, size=(400, 1))
x_grid = np.linspace(-2, 2, 400).reshape(-1, 1)

targets = {
    "sin(3x)": lambda x: np.sin(3 * x),
    "step": lambda x: np.where(x < -0.7, -1.0, np.where(x < 0.7, 0.5, -0.5)),
}

# %%
# Fits of increasing width
# ------------------------
#
# Each network is trained the same way (Adam, 150 epochs, batches of 32);
# only the width of the hidden layer changes. ``hidden_layer_sizes=()`` is
# the linear model :math:`f(x) = xw + b`.

widths = [(), (3,), (10,), (64,)]
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained", sharey=True)
for ax, (title, func) in zip(axes, targets.items()):
    y = func(X).ravel()
    ax.scatter(X, y, s=4, color="lightgray", label="training data")
    for width in widths:
        net = MLPRegressor(
            width,
            learning_rate=0.01,
            batch_size=32,
            epochs=150,
            tol=None,
            random_state=0,
        ).fit(X, y)
        r2 = net.score(X, y)
        label = f"width {width[0] if width else 0} (R² {r2:.2f})"
        ax.plot(x_grid, net.predict(x_grid), label=label)
    ax.set_title(title)
    ax.set_xlabel("x")
    ax.legend(fontsize="small")
axes[0].set_ylabel("f(x)")
plt.show()

# %%
# The widest network follows both the smooth curve and the jumps; the
# narrow ones can place only a few bends. Representing a relation is not the
# same as learning it from few samples: a large network can also memorize
# noise (see the dropout example), so generalization still has to be
# checked on held-out data.
