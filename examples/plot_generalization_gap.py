"""
Training error and error on unseen data
=======================================

A model that fits its training points well may still be far off on inputs it
never saw, because no training set covers the world. This is where machine
learning differs from pure optimization: the aim is to do well on unseen
data, and the training loss cannot say how well we do there. Only experiments
on held-out data can tell.

skgd holds data out for exactly this: with ``validation_fraction`` set, a
fraction of the training data is kept out of every update and scored after
each epoch, and ``history_`` records its loss next to the training loss. The
difference between the two is the generalization gap.
"""

# %%
# Few noisy samples, a wide network
# ---------------------------------
# 80 samples of 8 features; the target depends on two of them, plus noise.
# A network with two hidden layers of 128 units has far more weights than
# there are samples, enough to fit the noise too.

import matplotlib.pyplot as plt
import numpy as np

from skgd import MLPRegressor, TrainingCurveDisplay

rng = np.random.default_rng(0)
X = rng.normal(size=(80, 8))
y = X[:, 0] + 0.5 * np.sin(2 * X[:, 1]) + rng.normal(scale=0.7, size=80)

# %%
# Train, holding out 30 %
# -----------------------
# ``validation_fraction=0.3`` keeps 24 samples out of training; the network
# learns from the other 56.

model = MLPRegressor(
    (128, 128),
    learning_rate=3e-4,
    batch_size=16,
    epochs=200,
    tol=None,
    validation_fraction=0.3,
    random_state=0,
)
model.fit(X, y)

history = model.history_
val_loss = np.array([record["val_loss"] for record in history])
best = int(np.argmin(val_loss))
last = history[-1]
print(f"lowest validation loss {val_loss[best]:.3f} in epoch {best + 1}")
print(
    f"after {last['epoch']} epochs: training loss {last['train_loss']:.4f}, "
    f"validation loss {last['val_loss']:.3f}, validation R² {last['val_r2']:.2f}"
)

# %%
# The curves
# ----------
# :class:`~skgd.TrainingCurveDisplay` draws both losses per epoch (log scale)
# and, on the right axis, the R² on the held-out data. At first both losses
# fall together: the network learns the part of the relation that holds for
# all the data. Then the training loss keeps falling toward 0 while the
# validation loss turns and rises: from there on the network fits the noise of
# its 56 training samples, which helps nothing on the others. Looking at the
# training loss alone, the last epoch is the best model; the held-out data
# show that it is not.

fig, ax = plt.subplots(figsize=(8, 4.5))
display = TrainingCurveDisplay.from_estimator(model, ax=ax, logy=True)
ax.axvline(best + 1, color="gray", linestyle=":")
ax.annotate(
    "lowest validation loss",
    xy=(best + 1, val_loss[best]),
    xytext=(best + 20, val_loss[best] * 0.3),
    arrowprops={"arrowstyle": "->", "color": "gray"},
)
ax.annotate(
    "",
    xy=(last["epoch"], last["val_loss"]),
    xytext=(last["epoch"], last["train_loss"]),
    arrowprops={"arrowstyle": "<->", "color": "black"},
)
ax.text(
    last["epoch"] - 3,
    np.sqrt(last["val_loss"] * last["train_loss"]),
    "gap",
    ha="right",
)
ax.set_title("Training loss falls; held-out loss turns up")
fig.tight_layout()

# %%
# What to do about it
# -------------------
# ``early_stopping=True`` stops when the validation loss stops improving and
# keeps the weights of its best epoch. More (and more varied) data, a smaller
# network, the L2 penalty ``alpha`` and ``dropout`` all shrink the gap; which
# works best for a given data set is again a question for held-out data.
