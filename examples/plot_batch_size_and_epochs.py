"""
Mini-batches and epochs
=======================

The gradient of the cost over all the training data is exact, but computing
it takes a pass over every sample for a single step. Mini-batch gradient
descent splits the data into small batches and updates the parameters after
each one, using the gradient of that batch alone: a noisier direction, but
many more steps for the same work. One pass over the whole training set,
batch by batch, is one epoch. With 100 samples in batches of 10, an epoch
makes 10 updates; with ``batch_size=None`` (full-batch gradient descent) it
makes one.

This example trains :class:`~skgd.GDRegressor` for the same number of epochs
with batches of 1, 8 and 64 samples and with the full batch, and plots the
training loss against the number of updates and against the wall time.
"""

# %%
# A moderately sized problem
# --------------------------
# 2000 samples of 20 standardized features, a linear target and noise.

import matplotlib.pyplot as plt
import numpy as np

from skgd import GDRegressor

rng = np.random.default_rng(0)
n_samples, n_features = 2000, 20
X = rng.normal(size=(n_samples, n_features))
y = X @ rng.normal(size=n_features) + rng.normal(scale=0.5, size=n_samples)

# %%
# Same epochs, different batch sizes
# ----------------------------------
# Every run makes 10 passes over the data. ``history_`` records, after each
# epoch, the updates made so far (``t``) and the seconds the epoch took.
# ``learning_rate="auto"`` picks a step that is safe at every batch size.

epochs = 10
histories = {}
for batch_size in (1, 8, 64, None):
    model = GDRegressor(batch_size=batch_size, epochs=epochs, tol=None, random_state=0)
    model.fit(X, y)
    histories[batch_size] = model.history_
    updates_per_epoch = model.t_ // model.n_iter_
    print(
        f"batch_size={batch_size!s:>4}: {updates_per_epoch:>4} updates per epoch, "
        f"{model.t_:>5} in all, final training loss "
        f"{model.history_[-1]['train_loss']:.4f}"
    )

# %%
# Loss against updates and against time
# -------------------------------------
# Measured in updates, the larger batches do more per step: each step follows
# a more exact gradient. But a full batch makes only one update per epoch, so
# after 10 epochs it has taken 10 steps and is still far from the bottom,
# while batches of 64 have taken 320 and reached it. Measured in wall time,
# a middle-sized batch wins here: batches of 64 get to a low loss first;
# single samples pay a fixed cost on each of their 20000 updates, and their
# loss stays at a level set by the noise of single-sample gradients; the full
# batch is cheap per epoch but takes too few steps. (The times depend on the
# machine; the loss plotted is the mean over each epoch's mini-batches.)

fig, (ax_t, ax_s) = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
for batch_size, history in histories.items():
    t = [record["t"] for record in history]
    seconds = np.cumsum([record["seconds"] for record in history])
    loss = [record["train_loss"] for record in history]
    label = "full batch" if batch_size is None else f"batch_size={batch_size}"
    ax_t.plot(t, loss, marker="o", markersize=3, label=label)
    ax_s.plot(seconds, loss, marker="o", markersize=3, label=label)
ax_t.set(
    xlabel="updates (history_ 't')",
    ylabel="training loss (mean over the epoch)",
    xscale="log",
    yscale="log",
    title=f"{epochs} epochs: loss per update",
)
ax_s.set(
    xlabel="cumulative seconds",
    xscale="log",
    title=f"{epochs} epochs: loss per second",
)
ax_t.legend()
fig.tight_layout()
