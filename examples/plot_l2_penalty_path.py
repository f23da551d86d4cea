"""
The L2 penalty path
===================

Weight regularization adds a term for the size of the weights to the cost,
so that the fit also keeps the weights small. :class:`~skgd.GDRegressor`
minimizes the mean of half the squared errors plus (alpha/2)·‖w‖² (the
intercept is not penalized). Over the whole training set this is the
objective of :class:`~sklearn.linear_model.Ridge` with
``alpha = n_samples * alpha``, so full-batch gradient descent run long
enough lands on Ridge's closed-form solution.

This example traces the coefficients as ``alpha`` grows, checks them against
Ridge, and shows the training and validation R² along the way.
"""

# %%
# Data
# ----

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split

from skgd import GDRegressor

rng = np.random.default_rng(0)
X = rng.normal(size=(120, 6))
y = X @ np.array([3.0, -2.0, 1.0, 0.5, 0.0, 0.0]) + rng.normal(scale=2.0, size=120)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.5, random_state=0)
n_samples = X_train.shape[0]

# %%
# Coefficients against alpha, with Ridge
# --------------------------------------
# Full-batch gradient descent (``batch_size=None``) for 500 epochs at each
# alpha of a log grid; Ridge with ``alpha=n_samples * alpha`` on the same data.

alphas = np.logspace(-3, 1.5, 12)
gd_coefs, ridge_coefs, train_r2, val_r2 = [], [], [], []
for alpha in alphas:
    gd = GDRegressor(batch_size=None, epochs=500, alpha=alpha, tol=None)
    gd.fit(X_train, y_train)
    ridge = Ridge(alpha=n_samples * alpha).fit(X_train, y_train)
    gd_coefs.append(gd.coef_)
    ridge_coefs.append(ridge.coef_)
    train_r2.append(gd.score(X_train, y_train))
    val_r2.append(gd.score(X_val, y_val))
gd_coefs, ridge_coefs = np.array(gd_coefs), np.array(ridge_coefs)
print(f"largest |GD - Ridge| coefficient: {np.abs(gd_coefs - ridge_coefs).max():.2e}")

# %%
# The lines are gradient descent, the markers Ridge: they coincide. As alpha
# grows every weight shrinks toward 0, the weakest ones first in relative
# terms. The right panel shows the training and validation R²: both stay
# level up to alpha of about 0.1 and then fall together as the penalty removes
# signal as well as noise. On this data, with 60 training samples for 6
# weights, no alpha helps the validation R² much; on smaller or noisier data
# it can. Only held-out data can tell.

fig, (ax_path, ax_r2) = plt.subplots(1, 2, figsize=(11, 4.5))
for j in range(X.shape[1]):
    (line,) = ax_path.plot(alphas, gd_coefs[:, j], label=f"w{j + 1}")
    ax_path.plot(alphas, ridge_coefs[:, j], "o", color=line.get_color(), mfc="none")
ax_path.plot([], [], "ko", mfc="none", label="Ridge(n_samples·alpha)")
ax_path.set(xscale="log", xlabel="alpha", ylabel="coefficient", title="L2 penalty path")
ax_path.legend(fontsize="small")
ax_r2.plot(alphas, train_r2, marker="o", label="training")
ax_r2.plot(alphas, val_r2, marker="o", label="validation")
ax_r2.set(xscale="log", xlabel="alpha", ylabel="R²", title="Fit against alpha")
ax_r2.legend()
fig.tight_layout()
