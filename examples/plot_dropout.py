r"""
Dropout and the L2 penalty shrink the generalization gap
========================================================

A wide network (two hidden layers of 128 units) trained on 80 noisy samples
fits its training data almost perfectly and predicts unseen data poorly: it
has memorized the noise. Two ways to generalize better act on this gap.

* The L2 penalty ``alpha`` adds :math:`\frac{\alpha}{2}\sum_k \lVert W_k
  \rVert^2` to the cost, so the fit also keeps the weights small.
* Inverted dropout injects noise in training: at every update it sets each
  hidden unit to zero with probability ``dropout`` and scales the units it
  keeps by :math:`1 / (1 - p)`, so a layer's expected output is unchanged.
  The network still minimizes the task loss, but cannot rely on any single
  unit. Dropout is off at prediction: ``predict`` uses every unit, unscaled,
  and is deterministic.

Both make the training fit worse and the fit to unseen data better, so the
gap between the two shrinks. Five-fold cross-validation measures both.
"""

# %%
# A small noisy data set
# ----------------------
#
# Eight features, of which only the first two matter; the noise has the same
# scale as the signal.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import KFold, cross_validate

from skgd import MLPRegressor

rng = np.random.default_rng(0)
X = rng.normal(size=(80, 8))
y = X[:, 0] + 0.5 * np.sin(2 * X[:, 1]) + rng.normal(size=80)

# %%
# Train and test R² of each setting
# ---------------------------------
#
# The same network, trained for the same number of epochs, with no
# regularization, dropout alone, the L2 penalty alone, and both.

settings = {
    "no regularization": {},
    "dropout=0.5": {"dropout": 0.5},
    "alpha=0.03": {"alpha": 0.03},
    "dropout=0.3, alpha=0.01": {"dropout": 0.3, "alpha": 0.01},
}
train_r2, test_r2 = {}, {}
print(f"{'':<26}{'train R2':>9} {'test R2':>9} {'gap':>7}")
for name, params in settings.items():
    model = MLPRegressor(
        (128, 128),
        learning_rate=1e-3,
        batch_size=16,
        epochs=100,
        tol=None,
        random_state=0,
        **params,
    )
    scores = cross_validate(
        model,
        X,
        y,
        cv=KFold(5, shuffle=True, random_state=0),
        return_train_score=True,
    )
    train, test = scores["train_score"].mean(), scores["test_score"].mean()
    train_r2[name], test_r2[name] = train, test
    print(f"{name:<26}{train:>9.3f} {test:>9.3f} {train - test:>7.3f}")

# %%
# The gap, setting by setting
# ---------------------------
#
# Without regularization the training R² is close to 1 and the test R² close
# to 0. Each regularized setting gives up some training fit and gains test
# fit; the distance between the two bars is the generalization gap.

names = list(settings)
positions = np.arange(len(names))
width = 0.38
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
ax.bar(positions - width / 2, [train_r2[n] for n in names], width, label="train")
ax.bar(positions + width / 2, [test_r2[n] for n in names], width, label="test")
ax.set_xticks(positions, [n.replace(", ", "\n") for n in names])
ax.set_ylabel("mean R² over 5 folds")
ax.set_title("MLPRegressor (128, 128) on 80 noisy samples")
ax.axhline(0, color="black", linewidth=0.8)
ax.legend()
plt.show()
