"""Grid and randomized searches that train a fold's candidates all at once.

:class:`GridSearchCV` and :class:`RandomizedSearchCV` are scikit-learn's
searches, with the same arguments and the same results, for an skgd
estimator or a :class:`~sklearn.pipeline.Pipeline` ending in one. Before
scikit-learn's search runs its fits, they train the candidates of each fold
together (:mod:`skgd.engine.stack`): candidates that differ only in numbers
(``learning_rate``, ``alpha``, ``dropout``, ``input_dropout``, ``momentum``,
``beta_1``, ``beta_2``, ``epsilon``, ``huber_delta``, ``power_t`` and
``class_weight``) share one stacked run per fold; every other parameter
(``hidden_layer_sizes``, ``activation``, ``batch_size``, ``epochs``,
``optimizer``, ``lr_schedule``, ``early_stopping``, the parameters of the
pipeline's other steps, ...) makes groups, each trained apart. Each fit of
scikit-learn's search then takes its candidate's stacked fit
(:mod:`skgd.model_selection._candidate`), so that scoring,
``error_score``, ``refit``, multi-metric scoring and ``cv_results_`` are
scikit-learn's own; the fits of a fold are scored at once where skgd
gives what the scorer gives (:mod:`skgd.model_selection._scores`).
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn import model_selection as sklearn_search
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline

from .._base import BaseGD
from .._compat import Interval
from ._candidate import StackedCandidate, standing_for
from ._scores import FoldScorer, fold_metric
from ._stacking import MAX_STACK_BYTES, _sequential, _Stacking


class _StackedSearch:
    """What skgd's searches add to scikit-learn's: the stacked training."""

    _stacking_class = _Stacking

    def fit(self, X, y=None, **params):
        """Run fit with all sets of parameters, a fold's candidates stacked.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets.
        **params : dict
            Parameters passed to the ``fit`` method of the estimator, the
            scorer and the CV splitter, as in scikit-learn's search
            (``groups``, ``sample_weight`` or ``<step>__sample_weight``).

        Returns
        -------
        self : object
            The fitted search.
        """
        final = self.estimator
        if isinstance(final, Pipeline):
            final = final.steps[-1][1]
        if not isinstance(final, BaseGD):
            warnings.warn(
                f"{type(final).__name__} is not an skgd estimator, so "
                f"{type(self).__name__} fits its candidates one at a time, as "
                f"scikit-learn's {type(self).__name__} does.",
                UserWarning,
                stacklevel=2,
            )
            return super().fit(X, y, **params)
        if getattr(self, "_skl_callbacks", None):
            # They hear of every epoch: each fit trains on its own.
            return self._fit_alone(X, y, **params)
        stacking = self._stacking_class(self, X, y, params)
        estimator, n_jobs = self.estimator, self.n_jobs
        self._stacking, self.estimator = stacking, standing_for(estimator, stacking)
        # scikit-learn's fits only take their stacked fits (microseconds
        # each), in order: here, in this process, whatever joblib backend
        # is configured.
        self.n_jobs = 1
        try:
            with _sequential():
                super().fit(X, y, **params)
        finally:
            self.estimator, self.n_jobs = estimator, n_jobs
            del self._stacking
        self._unwrap(estimator)
        stacking.add_times(self.cv_results_)
        if self.return_histories:
            n, log = len(self.cv_results_["params"]), stacking.histories
            self.cv_results_["histories"] = [
                log[i * self.n_splits_ : (i + 1) * self.n_splits_] for i in range(n)
            ]
        return self

    def _fit_alone(self, X, y, **params):
        """scikit-learn's search itself (no stacked runs, no histories)."""
        if self.return_histories:
            warnings.warn(
                "With scikit-learn callbacks, the search records no histories: "
                'cv_results_ has no "histories".',
                UserWarning,
                stacklevel=3,
            )
        return super().fit(X, y, **params)

    def _get_scorers(self):
        # A stacked fit scores a fold's fits at once where it can (_scores).
        scorers, refit_metric = super()._get_scorers()
        stacking = getattr(self, "_stacking", None)
        if stacking is not None:
            stacking.metric = fold_metric(scorers, stacking.estimator)
            if stacking.metric is not None:
                scorers = FoldScorer(scorers)
        return scorers, refit_metric

    def _unwrap(self, estimator):
        """Put the user's ``estimator`` and scorer where scikit-learn's search
        kept the :class:`StackedCandidate` and :class:`FoldScorer`."""
        if isinstance(getattr(self, "scorer_", None), FoldScorer):
            self.scorer_ = self.scorer_.scorer
        if isinstance(getattr(self, "best_estimator_", None), StackedCandidate):
            self.best_estimator_ = self.best_estimator_.fitted_
        if isinstance(getattr(self.scorer_, "_estimator", None), StackedCandidate):
            self.scorer_._estimator = estimator  # the estimator's score

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        # callback_ctx: scikit-learn >= 1.9 hands its callbacks' context over.
        def evaluate(candidate_params, cv=None, more_results=None, **context):
            candidates = list(candidate_params)
            if hasattr(self, "_stacking"):  # an skgd estimator
                # scikit-learn's fits take the splits of the stacked runs.
                cv = check_cv(self._stacking.train(candidates, cv))
            return evaluate_candidates(candidates, cv, more_results, **context)

        context = {} if callback_ctx is None else {"callback_ctx": callback_ctx}
        super()._run_search(evaluate, **context)


_COMMON = """
    scoring : str, callable, list, tuple, dict or None, default=None
        How to score each candidate on each held-out fold, as in
        scikit-learn (None: the estimator's ``score``). A regressor's
        ``score``, ``"r2"`` and ``"neg_mean_squared_error"`` score the fits
        of a fold at once: they predict its rows in one stacked pass, and
        scikit-learn's metric takes all their predictions (equal to rounding).
    n_jobs : int or None, default=None
        Workers for the stacked runs (one task per group of candidates and
        fold, in joblib's backend: ``parallel_config(backend="dask")``
        works). The fits of scikit-learn's search, which only take their
        stacked fits, run in this process, in order; fits that cannot be
        stacked run there one at a time.
    refit : bool, str or callable, default=True
        Refit the best candidate on the whole data, as in scikit-learn.
    cv : int, cross-validation generator or iterable, default=None
        The splits, as in scikit-learn (5-fold by default, stratified for
        a classifier).
    verbose : int, default=0
        scikit-learn's search messages.
    pre_dispatch : int or str, default="2*n_jobs"
        Tasks dispatched ahead to the workers, as in joblib.
    error_score : "raise" or float, default=np.nan
        The score of a failed fit (a diverged candidate's, say), as in
        scikit-learn.
    return_train_score : bool, default=False
        Also score each fit on its training folds.
    max_stack_bytes : int, default=2**28
        The memory one stacked run may take (256 MiB by default): a group
        with more candidates than fit is trained in chunks of as many as
        fit, each one stacked run.
    return_histories : bool, default=False
        Add ``cv_results_["histories"]``: for each candidate, the list of the
        ``history_`` of its fit on each split (None where the fit failed).
"""

_ATTRIBUTES = """
    Attributes
    ----------
    cv_results_ : dict of ndarray
        scikit-learn's results, with the same keys (and ``"histories"``
        with ``return_histories``). ``mean_fit_time`` includes each
        candidate's share of its stacked run: the run's time divided by its
        candidates.
    best_estimator_ : estimator
        The best candidate refitted on the whole data (with ``refit``).
    best_score_ : float
        Mean cross-validated score of the best candidate.
    best_params_ : dict
        Parameters of the best candidate.
    best_index_ : int
        Index of the best candidate in ``cv_results_``.
    scorer_ : function or dict
        The scorer(s) used.
    n_splits_ : int
        The number of cross-validation splits.
    refit_time_ : float
        Seconds taken to refit the best candidate.
    multimetric_ : bool
        Whether several scorers were used.
    classes_ : ndarray of shape (n_classes,)
        The class labels (with a classifier and ``refit``).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when they are all strings
        (with ``refit``).

    Notes
    -----
    Candidates that share everything but the stacked parameters form a
    group, trained as one stacked run on each fold (see
    :mod:`skgd.model_selection`). Every candidate goes through the
    arithmetic of its own fit, with the same splits, initial weights,
    shuffles and dropout draws, so its scores equal those of scikit-learn's
    search to rounding, not bit for bit. A linear model on dense data trains
    in compiled kernels in both, which sum its products in different
    orders: on diabetes (3 folds, 3 candidates, R²) the scores agreed to
    1e-15 in float64 and 4e-8 in float32. Elsewhere (networks, sparse
    data) the first layer's products, ``X @ W`` forward and ``X.T @ G`` for
    the gradient, are one matrix product over the candidates' columns in a
    stack and a product with one candidate's column in a single fit, and
    BLAS groups their terms differently for the two shapes; each result may
    differ in its last bit (1.1e-16 relative in float64, 6e-8 in float32),
    and training carries that along, to about 1e-14 in float64 and 1e-6 in
    float32. Where the differences decide a stop (``tol``,
    ``early_stopping``), a candidate may stop one epoch earlier or later
    than its single fit, and its score differs by that epoch's progress
    (2.2e-5 for one fold of full-batch float32 descent on diabetes, 585
    epochs against 586, before the linear kernels). Where training is
    chaotic (plain SGD on unscaled targets), differences grow as after any
    change of summation order. A candidate that diverges gets
    ``error_score``, with scikit-learn's warning. So does one with a value
    that a parameter's constraints refuse (``optimizer="momentum"``, a
    pipeline step's bad parameter), as in scikit-learn's search: it is left
    out of the stacked runs, and its own fit raises scikit-learn's
    ``InvalidParameterError``, which ``error_score="raise"`` lets through.
    One that stops early
    (``tol``, ``early_stopping``) leaves its stack at that epoch. With
    ``random_state=None``, the candidates of a fold share one random draw
    (common random numbers) instead of drawing one each.

    Fits are trained one at a time, as in scikit-learn's search, for an
    estimator that is not skgd's (with a warning), and for candidates with
    ``warm_start``, ``epoch_size``, ``record_trajectory``, ``verbose``, a
    ``random_state`` that is not an int or None, scikit-learn callbacks
    (on the search or the estimator: they hear of every epoch), or fit
    parameters other than ``sample_weight`` and ``groups``. The splitter
    is asked for its splits once for each batch of candidates, as in
    scikit-learn's search, and the stacked runs and scikit-learn's fits
    share them (so a splitter with ``shuffle=True`` and no
    ``random_state`` stacks too).
"""


def _docstring(cls, name, head, own, common=_COMMON, attributes=_ATTRIBUTES):
    """Set ``cls``'s docstring: its head and own parameters, then the
    parameters and attributes it shares with the other searches."""
    cls.__doc__ = (
        head
        + own
        + common
        + attributes
        + f"""
    See Also
    --------
    sklearn.model_selection.{name} : The search this one replaces.
"""
    )
    return cls


# The parameters skgd's searches add to scikit-learn's.
_STACKING_CONSTRAINTS = {
    "max_stack_bytes": [Interval(Integral, 1, None, closed="left")],
    "return_histories": ["boolean"],
}


class GridSearchCV(_StackedSearch, sklearn_search.GridSearchCV):
    _parameter_constraints = {
        **sklearn_search.GridSearchCV._parameter_constraints,
        **_STACKING_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        error_score=np.nan,
        return_train_score=False,
        max_stack_bytes=MAX_STACK_BYTES,
        return_histories=False,
    ):
        super().__init__(
            estimator,
            param_grid,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.max_stack_bytes = max_stack_bytes
        self.return_histories = return_histories


class RandomizedSearchCV(_StackedSearch, sklearn_search.RandomizedSearchCV):
    _parameter_constraints = {
        **sklearn_search.RandomizedSearchCV._parameter_constraints,
        **_STACKING_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        n_iter=10,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        random_state=None,
        error_score=np.nan,
        return_train_score=False,
        max_stack_bytes=MAX_STACK_BYTES,
        return_histories=False,
    ):
        super().__init__(
            estimator,
            param_distributions,
            n_iter=n_iter,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            random_state=random_state,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.max_stack_bytes = max_stack_bytes
        self.return_histories = return_histories


_docstring(
    GridSearchCV,
    "GridSearchCV",
    """Exhaustive search over a grid, a fold's candidates trained stacked.

    A drop-in replacement for :class:`sklearn.model_selection.GridSearchCV`
    for an skgd estimator or a :class:`~sklearn.pipeline.Pipeline` ending in
    one: the same arguments, the same ``cv_results_``; the candidates of each
    fold that differ only in numbers are trained together.
""",
    """
    Parameters
    ----------
    estimator : estimator
        An skgd estimator, or a pipeline whose last step is one.
    param_grid : dict or list of dict
        Parameter names (``step__name`` in a pipeline) and their values.""",
)
_docstring(
    RandomizedSearchCV,
    "RandomizedSearchCV",
    """Randomized search over parameters, a fold's candidates trained stacked.

    A drop-in replacement for
    :class:`sklearn.model_selection.RandomizedSearchCV` for an skgd estimator
    or a :class:`~sklearn.pipeline.Pipeline` ending in one: the same
    arguments, the same candidates for the same ``random_state``, the same
    ``cv_results_``; the candidates of each fold that differ only in
    numbers are trained together.
""",
    """
    Parameters
    ----------
    estimator : estimator
        An skgd estimator, or a pipeline whose last step is one.
    param_distributions : dict or list of dict
        Parameter names and their distributions (with an ``rvs`` method) or
        lists of values, as in scikit-learn.
    n_iter : int, default=10
        Number of candidates sampled.
    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of the candidates.""",
)
