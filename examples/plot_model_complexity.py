"""
Model complexity
================

When data is scarce, a simpler model often generalizes better. A complex
model can pass through every one of a few training points and still swing
wildly between them, where the unseen inputs lie. Usually, not always: the
only way to know for a given problem is to test it on held-out data.

This example varies the complexity of two models on the same 30 noisy
samples of a smooth curve and measures the R² on the training folds and on
the validation folds of a 5-fold cross-validation: the degree of a polynomial
fitted by :class:`~skgd.GDRegressor`, and the width of the hidden layer of an
:class:`~skgd.MLPRegressor`.
"""

# %%
# Thirty noisy samples of a smooth curve
# --------------------------------------

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from skgd import GDRegressor, MLPRegressor

rng = np.random.default_rng(0)
x = np.sort(rng.uniform(0, 1, size=30))
y = np.sin(2 * np.pi * x) + rng.normal(scale=0.25, size=x.size)
X = x.reshape(-1, 1)
cv = KFold(5, shuffle=True, random_state=0)


def train_and_validation_r2(model):
    """Mean training and validation R² over the folds of ``cv``."""
    scores = cross_validate(model, X, y, cv=cv, return_train_score=True)
    return scores["train_score"].mean(), scores["test_score"].mean()


# %%
# Polynomial degree
# -----------------
# A polynomial of degree d in x is a linear model on the features
# x, x², ..., x^d. A :class:`~sklearn.pipeline.Pipeline` builds them,
# standardizes them (gradient descent needs features on similar scales) and
# fits :class:`~skgd.GDRegressor` to them by full-batch gradient descent
# with momentum (the powers of x are strongly correlated, which makes plain
# gradient descent slow).


def polynomial(degree):
    return make_pipeline(
        PolynomialFeatures(degree, include_bias=False),
        StandardScaler(),
        GDRegressor(
            batch_size=None, epochs=400, momentum=0.95, tol=None, random_state=0
        ),
    )


degrees = np.arange(1, 10)
poly_scores = np.array([train_and_validation_r2(polynomial(d)) for d in degrees])
for degree, (train, val) in zip(degrees, poly_scores, strict=True):
    print(f"degree {degree}: train R² {train:.3f}, validation R² {val:.3f}")

# %%
# Width of the hidden layer
# -------------------------
# One hidden layer of ``width`` tanh units on the standardized input, trained
# with Adam on batches of 8.

widths = 2 ** np.arange(1, 9)  # 2, 4, ..., 256


def network(width):
    return make_pipeline(
        StandardScaler(),
        MLPRegressor(
            (int(width),),
            activation="tanh",
            learning_rate=0.03,
            batch_size=8,
            epochs=100,
            tol=None,
            random_state=0,
        ),
    )


mlp_scores = np.array([train_and_validation_r2(network(w)) for w in widths])
for width, (train, val) in zip(widths, mlp_scores, strict=True):
    print(f"width {width:>3}: train R² {train:.3f}, validation R² {val:.3f}")

# %%
# Training and validation R² against complexity
# ---------------------------------------------
# The training R² tends to rise as the model grows: more complexity can fit
# the training points more closely (within a fixed budget of steps it need
# not get there). The validation R² is what
# matters, and it need not follow: read the gap between the two curves, and
# where the validation curve is highest. Gradient descent itself limits how
# far a large model bends in a fixed number of steps, which is one reason the
# answer is "usually, not always".

fig, (ax_poly, ax_mlp) = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
for ax, values, scores, xlabel in (
    (ax_poly, degrees, poly_scores, "polynomial degree (GDRegressor)"),
    (ax_mlp, widths, mlp_scores, "hidden units (MLPRegressor)"),
):
    ax.plot(values, scores[:, 0], marker="o", label="training folds")
    ax.plot(values, scores[:, 1], marker="o", label="validation folds")
    ax.set(xlabel=xlabel)
ax_mlp.set_xscale("log", base=2)
ax_poly.set(ylabel="R² (5-fold cross-validation)", ylim=(0, 1.02))
ax_poly.legend()
fig.suptitle("Train and validation R² against model complexity")
fig.tight_layout()

# %%
# The fits themselves
# -------------------
# The lowest and highest degree, fitted on all 30 points, next to the curve
# that generated them.

grid = np.linspace(0, 1, 200).reshape(-1, 1)
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.scatter(x, y, color="black", s=15, label="samples")
ax.plot(grid, np.sin(2 * np.pi * grid), color="gray", linestyle="--", label="truth")
for degree in (1, 3, 9):
    ax.plot(grid, polynomial(degree).fit(X, y).predict(grid), label=f"degree {degree}")
ax.set(xlabel="x", ylabel="y", title="Polynomials fitted by gradient descent")
ax.legend()
fig.tight_layout()
