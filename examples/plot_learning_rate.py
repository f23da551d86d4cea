"""
The learning rate
=================

Gradient descent steps against the gradient, w ← w − α·∂cost/∂w, and the
size of the step, the learning rate α, is the user's choice. Too large, and
each step overshoots the bottom of the valley by more than it started from:
the cost grows instead of falling and never comes down (divergence). Too
small, and the descent is painfully slow; on a large data set, where every
gradient is expensive, that costs a great deal. Picking the rate takes
experiments, or values that worked in published work.

:class:`~skgd.GDRegressor` offers ``learning_rate="auto"``: the step 1/L with
L a bound on the curvature of every mini-batch cost, small enough that the
descent cannot diverge. This example compares rates on a one-feature problem
trained by full-batch gradient descent, so each epoch is exactly one step.
"""

# %%
# A one-feature problem
# ---------------------
# A price observed over time, with a linear trend and noise.

import matplotlib.pyplot as plt
import numpy as np

from skgd import DivergenceError, GDRegressor, LossLandscapeDisplay

rng = np.random.default_rng(0)
time = np.sort(rng.uniform(0, 4, size=40))
price = 2.0 + 1.5 * time + rng.normal(scale=0.5, size=time.size)
X = time.reshape(-1, 1)

# %%
# A rate too large diverges
# -------------------------
# skgd stops as soon as the cost stops being finite or climbs a million times
# above its start, and raises :class:`~skgd.DivergenceError`. The estimator
# keeps the state it had before the call, so no model with useless parameters
# is returned.

try:
    GDRegressor(learning_rate=0.35, batch_size=None, epochs=100, tol=None).fit(X, price)
except DivergenceError as exc:
    print(f"learning_rate=0.35 diverged: {exc}")

# %%
# Training loss per epoch for each rate
# -------------------------------------
# To draw the diverging run too, we train one epoch at a time with
# :meth:`~skgd.GDRegressor.partial_fit` and keep the losses recorded before
# the error. ``"auto"`` resolves to a step of about 0.06 here; 0.2 is a hand-picked
# larger step that is still stable; 0.003 is far too cautious.

rates = [0.35, 0.2, "auto", 0.003]
models, diverged_at = {}, {}
for rate in rates:
    model = GDRegressor(
        learning_rate=rate, batch_size=None, record_trajectory=True, random_state=0
    )
    try:
        for _ in range(100):
            model.partial_fit(X, price)
    except DivergenceError:
        diverged_at[rate] = model.n_iter_
    models[rate] = model

fig, ax = plt.subplots(figsize=(7, 4.5))
for rate, model in models.items():
    label = f"learning_rate={rate!r}"
    if rate == "auto":
        label += f" ({model.learning_rate_:.3f})"
    if rate in diverged_at:
        label += f": DivergenceError after epoch {diverged_at[rate]}"
    epochs = np.arange(1, model.n_iter_ + 1)
    ax.plot(epochs, model.loss_curve_, label=label)
    print(f"{label:<45} final training loss {model.loss_curve_[-1]:.3g}")
ax.set(
    xlabel="epoch (one full-batch step each)",
    ylabel="training loss",
    yscale="log",
    title="Too large diverges, too small crawls",
)
ax.legend()
fig.tight_layout()

# %%
# The paths on the cost landscape
# -------------------------------
# Side by side, the first 100 steps of the small rate and of ``"auto"``. With
# 0.003 the path has barely started down the slope; with ``"auto"`` it reaches
# the valley floor within a few steps and then walks along it toward the
# minimum. (Each panel's grid is fitted to its path, so the axes differ.)

fig, (ax_small, ax_auto) = plt.subplots(1, 2, figsize=(11, 4.5))
LossLandscapeDisplay.from_estimator(models[0.003], X, price, ax=ax_small)
ax_small.set_title("learning_rate=0.003: slow")
LossLandscapeDisplay.from_estimator(models["auto"], X, price, ax=ax_auto)
ax_auto.set_title(f'learning_rate="auto" ({models["auto"].learning_rate_:.3f})')
fig.tight_layout()
