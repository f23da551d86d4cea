"""
The cost and gradient descent
=============================

Learning needs three ingredients: experience (pairs of inputs and the outputs
we expect), a model that maps inputs to outputs, and a criterion that says how
well the model does, the cost. Learning is then minimizing the cost: finding
the model whose outputs differ least from the expected ones. For regression
the cost is the mean of the squared errors between the model's output f(x)
and y; it is 0 only for a perfect fit.

The simplest model is a linear layer, f(x) = w·x + b. Every pair (w, b) is a
point on a mountain whose height is the cost. Gradient descent stands at one
point, measures the slope there (the gradient, which points uphill) and steps
the other way, w ← w − α·∂cost/∂w, again and again until the ground is flat.

The running example is a price observed over time: give the model a time, it
returns the expected price.
"""

# %%
# Experience: a price over time
# -----------------------------
# Forty observations of a price that grows linearly with time, plus noise.
# The inputs ``X`` are the times (one feature), the targets ``y`` the prices.

import matplotlib.pyplot as plt
import numpy as np

from skgd import GDRegressor, LossLandscapeDisplay

rng = np.random.default_rng(0)
time = np.sort(rng.uniform(0, 4, size=40))
price = 2.0 + 1.5 * time + rng.normal(scale=0.5, size=time.size)
X = time.reshape(-1, 1)

# %%
# The model, trained by gradient descent
# --------------------------------------
# :class:`~skgd.GDRegressor` is the linear layer. Its weights start at zero,
# a flat line that is a poor fit. ``record_trajectory=True`` keeps ``(w, b)``
# before training and after every epoch, so we can watch the line move.

model = GDRegressor(
    batch_size=8, epochs=30, tol=None, record_trajectory=True, random_state=0
)
model.fit(X, price)
path = model.trajectory_  # one row [w, b] per epoch, row 0 before training
print(f"step size: {model.learning_rate_:.3f}")
print(
    f"after {model.n_iter_} epochs: w = {model.coef_[0]:.3f}, "
    f"b = {model.intercept_:.3f}"
)

# %%
# The cost after each epoch
# -------------------------
# The cost of each recorded ``(w, b)`` is the mean squared error over the
# data. (The training objective ``loss_curve_`` that skgd minimizes is half
# of it, averaged over the mini-batches of the epoch.) It can only approach
# the level of the noise: no line goes through every point, so it never
# reaches 0.

predictions = X @ path[:, :1].T + path[:, 1]  # shape (n_samples, n_epochs + 1)
mse = ((predictions - price[:, None]) ** 2).mean(axis=0)
for epoch in (0, 1, 5, 30):
    print(f"epoch {epoch:>2}: cost (MSE) = {mse[epoch]:.3f}")

fig, (ax_data, ax_cost) = plt.subplots(1, 2, figsize=(10, 4))
ax_data.scatter(time, price, color="black", s=15, label="observations")
grid = np.linspace(0, 4, 2)
for epoch, color in zip((0, 1, 3, 30), ("C3", "C1", "C2", "C0"), strict=True):
    w, b = path[epoch]
    label = "start: zero weights" if epoch == 0 else f"after {epoch} epochs"
    ax_data.plot(grid, w * grid + b, color=color, label=label)
ax_data.set(xlabel="time", ylabel="price", title="The line moves as it trains")
ax_data.legend()

ax_cost.plot(np.arange(mse.size), mse, marker="o", markersize=3)
ax_cost.set(
    xlabel="epoch",
    ylabel="cost: mean squared error",
    yscale="log",
    title="The cost falls, then flattens",
)
fig.tight_layout()

# %%
# Walking down the mountain
# -------------------------
# :class:`~skgd.LossLandscapeDisplay` draws the cost over the plane of
# ``(w, b)`` (the training objective, half the mean squared error; log-spaced
# contours) and the point where gradient descent stood after each epoch. The
# path starts at ``(0, 0)`` and heads downhill to the bottom of the valley.
# The valley is long and narrow: the cost changes quickly along one direction
# and slowly along the other, so the walk first drops into the valley and
# then creeps along its floor.

fig, ax = plt.subplots(figsize=(6, 5))
display = LossLandscapeDisplay.from_estimator(model, X, price, ax=ax)
ax.set_title("The descent path on the cost landscape")
