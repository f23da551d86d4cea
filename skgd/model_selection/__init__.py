"""Searches that train a fold's candidates all at once.

:class:`GridSearchCV` and :class:`RandomizedSearchCV` are scikit-learn's
searches, with the same arguments and the same results, for an skgd
estimator or a :class:`~sklearn.pipeline.Pipeline` ending in one; the
candidates of each fold that differ only in numbers are trained as one
stack (:mod:`skgd.model_selection._search`). :class:`HalvingGridSearchCV`
and :class:`HalvingRandomSearchCV` are scikit-learn's successive halving,
whose survivors train on in their stacks from one rung to the next
(:mod:`skgd.model_selection._halving`).
"""

from ._halving import HalvingGridSearchCV, HalvingRandomSearchCV
from ._search import GridSearchCV, RandomizedSearchCV
from ._stacking import MAX_STACK_BYTES, train_stacked  # noqa: F401 (skgd study)

# The public names; train_stacked serves skgd study (see docs/architecture).
__all__ = [
    "GridSearchCV",
    "HalvingGridSearchCV",
    "HalvingRandomSearchCV",
    "RandomizedSearchCV",
]
