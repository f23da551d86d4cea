r"""
The learning rate of logistic regression
========================================

Logistic regression by gradient descent minimizes the mean log-loss plus the
L2 penalty,

.. math::

    J(w, b) = \frac{1}{n} \sum_i \log\bigl(1 + e^{-\sigma_i (x_i^\top w + b)}\bigr)
              + \frac{\alpha}{2} \lVert w \rVert^2 ,

with :math:`\sigma_i = \pm 1` the class of sample :math:`i`. With
``alpha > 0`` it has one minimum, the one that scikit-learn's
:class:`~sklearn.linear_model.LogisticRegression` computes with
``C = 1 / (n * alpha)``, so every run of :class:`~skgd.GDClassifier` can be
measured against it. This example sweeps the learning rate of full-batch
descent (one step per epoch) on the breast cancer data: too small, the auto
rate, good, and too large.
"""

# %%
# The data and the exact minimum
# ------------------------------
#
# 569 tumours, 30 standardized features, two classes. ``alpha=0.01`` is
# ``C = 1 / (569 * 0.01) = 0.176`` for scikit-learn.

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import expit
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

from skgd import GDClassifier

X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)
n, alpha = len(y), 0.01

exact = LogisticRegression(C=1 / (n * alpha), tol=1e-12, max_iter=10_000).fit(X, y)


def objective(model):
    """J of a fitted model: the mean log-loss plus the penalty."""
    loss = log_loss(y, model.predict_proba(X))
    return loss + 0.5 * alpha * np.sum(model.coef_**2)


J_min = objective(exact)
print(f"minimum of J: {J_min:.6f}")

# %%
# How sharply the objective curves
# --------------------------------
#
# A gradient step of size :math:`\eta` on a quadratic with curvature
# :math:`\lambda` goes downhill only if :math:`\eta < 2 / \lambda`. The
# curvature of the log-loss changes with the weights: the Hessian of
# :math:`J` is :math:`\frac{1}{n}\sum_i p_i (1 - p_i) z_i z_i^\top` (plus
# :math:`\alpha` on the weights), with :math:`z_i = (x_i, 1)` and
# :math:`p_i` the predicted probability. At the start, :math:`w = 0` and
# every :math:`p_i (1 - p_i)` is 1/4, its largest value; at the minimum most
# samples are classified with confidence and weigh far less.

Z = np.c_[X, np.ones(n)]
penalty = alpha * np.diag(np.r_[np.ones(X.shape[1]), 0.0])


def curvature(params):
    """The largest eigenvalue of the Hessian of J at ``params = (w, b)``."""
    p = expit(Z @ params)
    return np.linalg.eigvalsh((Z.T * (p * (1 - p))) @ Z / n + penalty).max()


at_start = curvature(np.zeros(Z.shape[1]))
at_minimum = curvature(np.r_[exact.coef_.ravel(), exact.intercept_])
print(f"largest curvature at w = 0: {at_start:.3f}, at the minimum: {at_minimum:.3f}")
print(
    f"2 / curvature: {2 / at_start:.2f} at w = 0, {2 / at_minimum:.2f} at the minimum"
)

# %%
# The sweep
# ---------
#
# 500 full-batch epochs per rate, with ``tol=None`` so that every run goes
# all the way. ``"auto"`` takes a step from a bound on the curvature, safe
# wherever the weights are (see the user guide); the step it took is in
# ``learning_rate_``.

rates = [0.01, "auto", 1.0, 5.0, 10.0]
models = {
    rate: GDClassifier(
        learning_rate=rate,
        batch_size=None,
        epochs=500,
        alpha=alpha,
        tol=None,
        record_trajectory=True,
    ).fit(X, y)
    for rate in rates
}

fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
for rate, model in models.items():
    label = f"learning_rate={rate!r}"
    if rate == "auto":
        label += f" ({model.learning_rate_:.3f})"
    # history_ holds J before each step; rounding can take J - min J to 0.
    excess = np.maximum(np.array(model.loss_curve_) - J_min, 1e-16)
    ax.plot(np.arange(1, len(excess) + 1), excess, label=label)
ax.set(
    xlabel="epoch (one full-batch step each)",
    ylabel="J - min J",
    yscale="log",
    title="GDClassifier, log-loss, breast cancer data",
)
ax.legend()
plt.show()

for rate in [1.0, 5.0]:
    after = curvature(models[rate].trajectory_[1])
    print(f"largest curvature after one step of {rate}: {after:.3f}")

# %%
# The smallest rate, 0.01, is still far from the minimum after 500 steps.
# ``"auto"`` approaches it steadily but slowly: its step is safe for the
# largest curvature anywhere, the one at the start, which the minimum does
# not have. The steps 1 and 5 are larger than :math:`2 / \lambda` at the
# start, yet the loss falls at every one of their steps: the first step takes
# the weights away from zero, to where the curvature is several times smaller
# (printed above, from ``trajectory_``). Both steps are below
# :math:`2 / \lambda` at the minimum, and settle there, 5 fastest (its curve
# ends on the floor of 1e-16, where the difference is lost to rounding). A
# step of 10 is above it: the descent comes close to the minimum, is thrown
# away from it, and does it again, over and over.
#
# The coefficients against LogisticRegression
# -------------------------------------------
#
# After the 500 steps, the largest difference between the coefficients of
# each run and those of :class:`~sklearn.linear_model.LogisticRegression`
# (whose own coefficients reach about 0.7 in absolute value):

print(f"largest |coef| of LogisticRegression: {np.abs(exact.coef_).max():.3f}")
print(f"{'learning_rate':<16}{'max |coef diff|':>16}{'|intercept diff|':>18}")
for rate, model in models.items():
    coef_diff = np.abs(model.coef_ - exact.coef_).max()
    intercept_diff = np.abs(model.intercept_ - exact.intercept_).max()
    print(f"{rate!r:<16}{coef_diff:>16.2e}{intercept_diff:>18.2e}")

fig, ax = plt.subplots(figsize=(4.5, 4.5), layout="constrained")
best = models[5.0]
ax.plot(exact.coef_.ravel(), best.coef_.ravel(), "o", label="learning_rate=5.0")
ax.plot(exact.coef_.ravel(), models[0.01].coef_.ravel(), "x", label="0.01")
limits = np.abs(exact.coef_).max() * np.array([-1.1, 1.1])
ax.plot(limits, limits, color="black", linewidth=0.8)
ax.set(
    xlabel="LogisticRegression(C=1 / (n * alpha)).coef_",
    ylabel="GDClassifier.coef_ after 500 steps",
    title="The same minimum",
)
ax.legend()
plt.show()
