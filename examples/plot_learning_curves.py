"""
Learning curves: more data, better generalization
=================================================

A model that fits its training points well may still be far off on inputs
it never saw, because no training set covers the world. The first way to
generalize better is more and more varied data. A learning curve shows it:
train the same model on growing subsets of the data and score it, by
cross-validation, on the subset it was trained on and on held-out data.

This example draws the learning curves of a linear
:class:`skgd.GDRegressor` (after a ``StandardScaler``) and of an
:class:`skgd.MLPRegressor` on a nonlinear problem, with
:func:`sklearn.model_selection.learning_curve`.
"""

# %%
# Data and models
# ---------------

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import KFold, learning_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import GDRegressor, MLPRegressor

rng = np.random.default_rng(0)
X = rng.uniform(-2, 2, size=(600, 4))
y = X[:, 0] + np.sin(2 * X[:, 1]) + X[:, 2] * X[:, 3] + 0.3 * rng.normal(size=600)

models = {
    "GDRegressor": make_pipeline(
        StandardScaler(), GDRegressor(epochs=100, tol=None, random_state=0)
    ),
    "MLPRegressor (64, 64)": make_pipeline(
        StandardScaler(),
        MLPRegressor(
            (64, 64),
            learning_rate=0.01,
            batch_size=32,
            epochs=60,
            tol=None,
            random_state=0,
        ),
    ),
}

# %%
# Train and validation R² against the training-set size
# -----------------------------------------------------
#
# Each point is the mean over 5 folds; the band is ± one standard deviation.

train_sizes = [0.05, 0.1, 0.2, 0.4, 0.7, 1.0]
cv = KFold(5, shuffle=True, random_state=0)
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained", sharey=True)
for ax, (name, model) in zip(axes, models.items()):
    sizes, train, valid = learning_curve(
        model, X, y, train_sizes=train_sizes, cv=cv, shuffle=True, random_state=0
    )
    for scores, label in [(train, "train"), (valid, "validation")]:
        mean, std = scores.mean(axis=1), scores.std(axis=1)
        ax.plot(sizes, mean, "o-", label=label)
        ax.fill_between(sizes, mean - std, mean + std, alpha=0.2)
    ax.set_title(name)
    ax.set_xlabel("training samples")
    ax.legend()
axes[0].set_ylabel("R²")
axes[0].set_ylim(-0.5, 1.05)
plt.show()

# %%
# Both gaps close as the training set grows. The linear model is simple: its
# training and validation R² meet at about 200 samples, at a limit near 0.3
# set by the nonlinear part it cannot represent, and more data does not
# raise it. The network fits small training sets almost perfectly and
# validates much worse, a large gap; with more samples its validation R²
# climbs close to its training R², far above the linear model's. A complex
# model needs more data to generalize, and can use it.
