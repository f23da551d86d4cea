"""The estimator scikit-learn's search fits, in a stacked search.

skgd's searches run scikit-learn's own search over
:class:`StackedCandidate`, which stands for the user's estimator: its
``fit`` takes the fit that the stacked runs made of the same candidate on
the same split (:meth:`skgd.model_selection._stacking._Stacking.next_fit`),
and everything else (predicting, scoring, the fitted attributes) is the
fitted estimator's own. A fit that was not stacked, and the refit of the
best candidate, train the user's estimator as scikit-learn's search would.
"""

import functools

from sklearn.base import clone


class StackedCandidate:
    """The user's ``estimator`` whose fits take those of ``stacking``.

    Parameters
    ----------
    estimator : estimator
        The search's estimator (never fitted here: each fit fits a clone).
    stacking : _Stacking
        The search's stacked runs.
    """

    def __init__(self, estimator, stacking):
        self.estimator, self.stacking, self.params = estimator, stacking, {}
        # The fit's scores, given to the search's scorer (see :mod:`._scores`).
        self.fold_scores = None

    def __sklearn_clone__(self):
        return type(self)(self.estimator, self.stacking)

    def __sklearn_tags__(self):
        return self.stacking.tags  # the estimator's, taken once

    def get_params(self, deep=True):
        """The parameters of the estimator it stands for."""
        return {**self.estimator.get_params(deep=deep), **self.params}

    def set_params(self, **params):
        """Set the candidate's parameters (of the estimator it stands for)."""
        self.params.update(params)
        return self

    def fit(self, X, y=None, **fit_params):
        """Take the stacked fit of the candidate on ``X``, or fit it on its own.

        Raises the error its training raised, after the warnings it gave.
        """
        stacking = self.stacking
        outcome = stacking.next_fit(self.params, X)
        self.fold_scores = stacking.last_scores
        try:
            if outcome is None:
                fitted = clone(self.estimator).set_params(**self.params)
                fitted.fit(X, y, **fit_params)
            else:
                fitted = outcome.take()
        except BaseException:
            stacking.histories.append(None)
            raise
        stacking.histories.append(_history(fitted))
        self.fitted_ = fitted
        return self

    def score(self, X, y=None, **params):
        """The fitted estimator's ``score``."""
        return self.fitted_.score(X, y, **params)

    def __getattr__(self, name):
        # The fitted estimator's methods and attributes (predict, classes_...).
        if name.startswith("__") or "fitted_" not in vars(self):
            raise AttributeError(name)
        return getattr(self.fitted_, name)


def standing_for(estimator, stacking):
    """A :class:`StackedCandidate` for ``estimator``, its class named as the
    estimator's, so that scikit-learn's messages name the user's estimator."""
    return _named(type(estimator).__name__)(estimator, stacking)


@functools.cache
def _named(name):
    return type(name, (StackedCandidate,), {"__module__": __name__})


def _history(estimator):
    """The ``history_`` of the fitted estimator (of a pipeline's last step)."""
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    return getattr(final, "history_", None)
