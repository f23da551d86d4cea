"""Grid and randomized searches that train a fold's candidates all at once.

:class:`GridSearchCV` and :class:`RandomizedSearchCV` are scikit-learn's
searches, with the same arguments and the same results, for an skgd
estimator or a :class:`~sklearn.pipeline.Pipeline` ending in one. Before
scikit-learn's search runs its fits, they train the candidates of each fold
together (:mod:`skgd._stacked`): candidates that differ only in numbers
(``learning_rate``, ``alpha``, ``dropout``, ``input_dropout``, ``momentum``,
``beta_1``, ``beta_2``, ``epsilon``, ``huber_delta``, ``power_t`` and
``class_weight``) share one stacked run per fold; every other parameter
(``hidden_layer_sizes``, ``activation``, ``batch_size``, ``epochs``,
``optimizer``, ``lr_schedule``, ``early_stopping``, the parameters of the
pipeline's other steps, ...) makes groups, each trained apart. Each fit of
scikit-learn's search then takes its candidate's stacked result, so that
scoring, ``error_score``, ``refit``, multi-metric scoring and
``cv_results_`` are scikit-learn's own.
"""

import itertools
import time
import warnings
from contextlib import contextmanager
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed, parallel_config
from joblib.parallel import get_active_backend
from sklearn import model_selection as sklearn_search
from sklearn.base import clone, is_classifier
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import _safe_split
from sklearn.utils.validation import _check_method_params, indexable

from ._base import BaseGD
from ._compat import Interval
from ._stacked import STACKED, merge, replaying, train_group

# The public names; train_stacked serves skgd study (see docs/architecture).
__all__ = ["GridSearchCV", "RandomizedSearchCV"]

# The memory stacked candidates may take by default: 256 MiB.
MAX_STACK_BYTES = 2**28


class _StackedSearch:
    """What skgd's searches add to scikit-learn's: the stacked training."""

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
        n_jobs, self._stacking = self.n_jobs, _Stacking(self, X, y, params)
        # scikit-learn's fits only take their results (milliseconds each),
        # here: in this process, whatever joblib backend is configured.
        self.n_jobs = 1
        try:
            with replaying(self._stacking.results) as log, _sequential():
                super().fit(X, y, **params)
        finally:
            self.n_jobs, stacking = n_jobs, self._stacking
            del self._stacking
        stacking.add_times(self.cv_results_)
        if self.return_histories:
            n = len(self.cv_results_["params"])
            self.cv_results_["histories"] = [
                log[i * self.n_splits_ : (i + 1) * self.n_splits_] for i in range(n)
            ]
        return self

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        # callback_ctx: scikit-learn >= 1.9 hands its callbacks' context over.
        def evaluate(candidate_params, cv=None, more_results=None, **context):
            candidates = list(candidate_params)
            if hasattr(self, "_stacking"):  # not for another estimator
                self._stacking.train(candidates, cv)
            return evaluate_candidates(candidates, cv, more_results, **context)

        context = {} if callback_ctx is None else {"callback_ctx": callback_ctx}
        super()._run_search(evaluate, **context)


class _Stacking:
    """The stacked runs of one search's ``fit``, and their share of the time."""

    def __init__(self, search, X, y, params):
        self.search, self.params, self.n_jobs = search, dict(params), search.n_jobs
        self.backend = get_active_backend()[0]  # the caller's, for the stacked runs
        self.X, self.y = indexable(X, y)
        self.results, self.shares = {}, {}

    def train(self, candidates, cv):
        """Train every stackable candidate on every fold; fill ``results``."""
        search = self.search
        fit_params, groups = self._fit_params()
        if fit_params is None or getattr(search, "_skl_callbacks", None):
            return  # callbacks hear of every epoch: each fit trains on its own
        cv = check_cv(
            cv or search.cv, self.y, classifier=is_classifier(search.estimator)
        )
        splits = list(cv.split(self.X, self.y, groups=groups))
        with parallel_config(backend=self.backend):
            results, shares = train_stacked(
                search.estimator,
                candidates,
                self.X,
                self.y,
                splits,
                fit_params,
                n_jobs=self.n_jobs,  # the search's own, while its fits run in one
                pre_dispatch=search.pre_dispatch,
                max_stack_bytes=search.max_stack_bytes,
            )
        merge(self.results, results)
        self.shares.update(shares)

    def _fit_params(self):
        """The fit parameters of the final estimator, and the groups of the CV.

        ``(None, None)`` when another parameter is given: such fits are left
        to scikit-learn's search, one at a time.
        """
        params = dict(self.params)
        groups = params.pop("groups", None)
        estimator = self.search.estimator
        name = "sample_weight"
        if isinstance(estimator, Pipeline):
            name = f"{estimator.steps[-1][0]}__sample_weight"
        weight = params.pop(name, None)
        if params:
            return None, None
        return ({} if weight is None else {"sample_weight": weight}), groups

    def add_times(self, results):
        """Add each candidate's share of its stacked runs to its fit times."""
        if not self.shares:
            return
        n_splits = 1 + max(s for _, s in self.shares)
        shares = np.zeros((len(results["params"]), n_splits))
        for (i, s), seconds in self.shares.items():
            shares[i, s] = seconds
        results["mean_fit_time"] = results["mean_fit_time"] + shares.mean(axis=1)
        results["std_fit_time"] = np.hypot(results["std_fit_time"], shares.std(axis=1))


def train_stacked(
    estimator,
    candidates,
    X,
    y,
    splits,
    fit_params=None,
    *,
    n_jobs=None,
    pre_dispatch="2*n_jobs",
    max_stack_bytes=MAX_STACK_BYTES,
    progress=None,
):
    """Train the stackable candidates of ``estimator`` on every split, stacked.

    Parameters
    ----------
    estimator : estimator
        An skgd estimator or a pipeline ending in one.
    candidates : list of dict
        Parameters of each candidate, as ``estimator.set_params`` takes them.
    X, y : indexable
        The data, split by the ``splits``.
    splits : list of (train, test)
        Row indices of each split.
    fit_params : dict or None, default=None
        ``{"sample_weight": weights}`` of the final estimator, or None.
    n_jobs, pre_dispatch : joblib's
        One task per chunk of a group and split.
    max_stack_bytes : int
        The memory budget of one stacked run.
    progress : callable or None, default=None
        Called as ``progress(n_fits)`` when a task finishes, with the number
        of its candidates.

    Returns
    -------
    results : dict
        For :func:`skgd._stacked.replaying`.
    shares : dict
        ``{(candidate, split): seconds}``: each candidate's share of the time
        of its stacked run.
    """
    jobs = []
    for members in _groups(estimator, candidates):
        for chunk in _chunks(members, X, max_stack_bytes):
            for s, (train, _) in enumerate(splits):
                jobs.append((chunk, s, train))
    tasks = (
        delayed(_train_fold)([pair for _, pair in chunk], X, y, train, fit_params or {})
        for chunk, _, train in jobs
    )
    parallel = Parallel(n_jobs=n_jobs, pre_dispatch=pre_dispatch, return_as="generator")
    results, shares = {}, {}
    for (chunk, s, _), (done, seconds) in zip(jobs, parallel(tasks)):
        merge(results, done)
        for i, _ in chunk:
            shares[i, s] = seconds / len(chunk)
        if progress is not None:
            progress(len(chunk))
    return results, shares


def _groups(estimator, candidates):
    """``[[(index, (preprocessing, final estimator)), ...], ...]``, by group.

    Candidates that cannot be stacked are left out.
    """
    groups = {}
    for i, params in enumerate(candidates):
        candidate = clone(estimator).set_params(**clone(params, safe=False))
        pre, final = None, candidate
        if isinstance(candidate, Pipeline):
            pre, final = Pipeline(candidate.steps[:-1]), candidate.steps[-1][1]
        if not _stackable(final):
            continue
        shared = {
            name: value
            for name, value in final.get_params(deep=False).items()
            if name not in STACKED
        }
        key = repr(type(final)), repr(pre), repr(sorted(shared.items()))
        groups.setdefault(key, []).append((i, (pre, final)))
    return list(groups.values())


def _chunks(members, X, max_stack_bytes):
    """A group's members in chunks whose stacked memory fits the budget."""
    final = members[0][1][1]
    n_features = X.shape[1] if len(getattr(X, "shape", ())) == 2 else 1
    size = max(1, int(max_stack_bytes // _candidate_bytes(final, n_features)))
    return [members[i : i + size] for i in range(0, len(members), size)]


@contextmanager
def _sequential():
    """joblib's sequential backend, for the fits of scikit-learn's search.

    They must run in this process, where their stacked results are; joblib
    would send them to a configured backend's workers even with
    ``n_jobs=1``.
    """
    with parallel_config(backend="sequential"):
        yield


def _stackable(estimator):
    """Whether ``estimator``'s fit can be one of a stack."""
    random_state = estimator.random_state
    return (
        isinstance(estimator, BaseGD)
        and not estimator.warm_start
        and estimator.epoch_size is None
        and not estimator.record_trajectory
        and not estimator.verbose
        and not getattr(estimator, "_skl_callbacks", None)
        and (random_state is None or isinstance(random_state, Integral))
    )


def _candidate_bytes(estimator, n_features):
    """An upper estimate of one candidate's memory in a stack, in bytes.

    Parameters, gradients and two optimizer buffers, and the activations of
    a batch (six buffers a layer), in float64.
    """
    sizes = getattr(estimator, "hidden_layer_sizes", ())
    widths = [n_features, *np.atleast_1d(sizes).tolist(), 10]
    n_params = sum((a + 1) * b for a, b in itertools.pairwise(widths))
    batch = estimator.batch_size or 4096
    return 8 * (4 * n_params + 6 * batch * sum(widths))


def _train_fold(members, X, y, train, fit_params):
    """Train one chunk of a group on one fold: ``(results, seconds)``."""
    start = time.perf_counter()
    pre = members[0][0]
    X_train, y_train = _safe_split(members[0][1], X, y, train)
    params = _check_method_params(X, params=fit_params, indices=train)
    if pre is not None:
        try:
            X_train = clone(pre).fit_transform(X_train, y_train)
        except Exception:  # a refused parameter of a step, say
            # Each fit meets the error alone, in scikit-learn's search, which
            # scores it error_score (with its warning) or raises it.
            return {}, time.perf_counter() - start
    finals = [final for _, final in members]
    results, _ = train_group(finals, X_train, y_train, params.get("sample_weight"))
    return results, time.perf_counter() - start


_COMMON = """
    scoring : str, callable, list, tuple, dict or None, default=None
        How to score each candidate on each held-out fold, as in
        scikit-learn (None: the estimator's ``score``).
    n_jobs : int or None, default=None
        Workers for the stacked runs (one task per group of candidates and
        fold, in joblib's backend: ``parallel_config(backend="dask")``
        works). The fits of scikit-learn's search, which only take their
        stacked results, run in this process; fits that cannot be stacked
        run there one at a time.
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
    in compiled kernels in both, which sum each row's products in the same
    order: on diabetes (3 folds, 3 candidates, R²) the scores agreed
    exactly in float32 and to 2e-16 in float64. Elsewhere (networks, sparse
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
    parameters other than ``sample_weight`` and ``groups``. A splitter that
    splits differently each time it is asked (``shuffle=True`` without a
    ``random_state``) also leaves every fit to be trained on its own.
"""


def _docstring(cls, name, head, own):
    cls.__doc__ = (
        head
        + own
        + _COMMON
        + _ATTRIBUTES
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
