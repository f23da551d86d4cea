"""
Dropout and the L2 penalty shrink the generalization gap
========================================================

A wide network (two hidden layers of 128 units) trained on 80 noisy samples
fits its training data almost perfectly and predicts unseen data poorly: it
has memorized the noise. Dropout (zeroing hidden units at random during
training) and the L2 penalty ``alpha`` (keeping the weights small) both make
the training fit worse and the fit to unseen data better, so the gap between
the two shrinks. Five-fold cross-validation measures both.

Run it with ``python examples/regularization_gap.py``.
"""

import numpy as np
from sklearn.model_selection import KFold, cross_validate

from skgd import MLPRegressor

rng = np.random.default_rng(0)
X = rng.normal(size=(80, 8))
y = X[:, 0] + 0.5 * np.sin(2 * X[:, 1]) + rng.normal(size=80)

settings = {
    "no regularization": {},
    "dropout=0.5": {"dropout": 0.5},
    "alpha=0.03": {"alpha": 0.03},
    "dropout=0.3, alpha=0.01": {"dropout": 0.3, "alpha": 0.01},
}
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
    print(f"{name:<26}{train:>9.3f} {test:>9.3f} {train - test:>7.3f}")
