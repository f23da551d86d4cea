"""Successive halving in which the survivors of a rung train on in their stack.

scikit-learn's :class:`~sklearn.model_selection.HalvingGridSearchCV` with
``resource="epochs"`` fits every surviving candidate anew at each rung,
``r``, then ``factor * r`` epochs, and so on. Here the candidates of a rung
train stacked, as in :class:`~skgd.model_selection.GridSearchCV`, and the
stacks are kept: at the next rung the survivors of each stack go on from
where they stopped, for the epochs the rung adds, and the others leave it.

A fit that goes on for more epochs ends where a fresh fit of that many
epochs ends when nothing in its training depends on when it ends: no
stopping rule (``tol=None``, ``early_stopping=False``) and a schedule that
does not count towards ``epochs`` (not ``"cosine"``). Candidates for which
that holds continue; the others are trained anew at each rung (still
stacked). So ``cv_results_`` are those of scikit-learn's halving search
over the same estimator, to rounding.
"""

from sklearn import model_selection as sklearn_search
from sklearn.experimental import enable_halving_search_cv  # noqa: F401

from ._rungs import _Rungs
from ._search import _STACKING_CONSTRAINTS, _docstring, _StackedSearch
from ._stacking import MAX_STACK_BYTES


class _HalvingSearch(_StackedSearch):
    """What skgd's halving searches add: stacks kept from rung to rung."""

    _stacking_class = _Rungs


_HALVING_COMMON = """
    factor : int or float, default=3
        The proportion of candidates kept at each rung (1 / factor), and
        the growth of the resource from one rung to the next.
    resource : str, default="n_samples"
        What grows from rung to rung: ``"epochs"`` (or ``"<step>__epochs"``
        in a pipeline), for a halving over training time whose survivors
        go on in their stacks, or ``"n_samples"``, or another integer
        parameter (each rung then trains its candidates anew, stacked), as
        in scikit-learn.
    max_resources : int or "auto", default="auto"
        The most resources a candidate may use; ``"auto"`` only with
        ``resource="n_samples"``, as in scikit-learn.
    min_resources : {"exhaust", "smallest"} or int, default="exhaust"
        The resources of the first rung, as in scikit-learn.
    aggressive_elimination : bool, default=False
        Eliminate candidates with the smallest resources until few enough
        are left for the last rung to use ``max_resources``.
    cv : int, cross-validation generator or iterable, default=5
        The splits, as in scikit-learn. Stacks go on to the next rung on
        the same splits only: with a splitter that splits anew at each rung
        (``shuffle=True`` without a ``random_state``), each rung trains its
        candidates anew (stacked), as scikit-learn's search does.
    scoring : str, callable or None, default=None
        One scorer, as in scikit-learn's halving searches. A regressor's
        ``score``, ``"r2"`` and ``"neg_mean_squared_error"`` score the fits
        of a rung's fold at once: each predicts its held-out and training
        rows in one call, and scikit-learn's metric takes all their
        predictions (the same scores, to rounding).
    refit : bool, default=True
        Refit the best candidate on the whole data.
    error_score : "raise" or float, default=np.nan
        The score of a failed fit (a diverged candidate's, say).
    return_train_score : bool, default=True
        Also score each fit on its training folds.
    random_state : int, RandomState instance or None, default=None
        Subsamples the rows with ``resource="n_samples"``, as in
        scikit-learn.
    n_jobs : int or None, default=None
        Workers for the stacked runs that start anew at each rung; stacks
        that go on stay in this process.
    verbose : int, default=0
        scikit-learn's search messages.
    max_stack_bytes : int, default=2**28
        The memory one stacked run may take.
    return_histories : bool, default=False
        Add ``cv_results_["histories"]``: each candidate's ``history_`` on
        each split, rung after rung.
"""

_HALVING_ATTRIBUTES = """
    Attributes
    ----------
    n_resources_ : list of int
        The resources of each rung.
    n_candidates_ : list of int
        The candidates evaluated at each rung.
    n_remaining_candidates_ : int
        The candidates left after the last rung.
    max_resources_, min_resources_ : int
        The resources of the last and the first rung's bounds.
    n_possible_iterations_, n_required_iterations_, n_iterations_ : int
        Rungs as scikit-learn counts them.
    cv_results_ : dict of ndarray
        scikit-learn's results, with ``iter`` and ``n_resources``.
    best_estimator_ : estimator
        The best candidate refitted on the whole data (with ``refit``).
    best_score_ : float
        Mean cross-validated score of the best candidate at the last rung.
    best_params_ : dict
        Parameters of the best candidate.
    best_index_ : int
        Index of the best candidate in ``cv_results_``.
    scorer_ : function
        The scorer used.
    n_splits_ : int
        The number of cross-validation splits.
    refit_time_ : float
        Seconds taken to refit the best candidate.
    multimetric_ : bool
        Always False.
    classes_ : ndarray of shape (n_classes,)
        The class labels (with a classifier and ``refit``).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when they are all strings.

    Notes
    -----
    Within a rung, the candidates of a fold that differ only in numbers
    train as one stack (see :class:`~skgd.model_selection.GridSearchCV`).
    With ``resource`` the estimator's ``epochs``, a survivor's stack takes
    it on from ``r`` epochs to ``factor * r`` instead of training anew:
    the rung costs the epochs it adds, for the candidates still in the
    race. That gives what a fresh fit of ``factor * r`` epochs gives, so
    ``cv_results_`` equal those of scikit-learn's halving search over the
    same estimator, to rounding, where the fit does not depend on its end:
    ``tol=None``, ``early_stopping=False``, and a schedule other than
    ``"cosine"`` (whose cycle is ``epochs`` long). Candidates without those
    settings, or that cannot be stacked (``warm_start``, callbacks, ...),
    are trained anew at each rung, stacked where they can be, as
    scikit-learn's search would; so are all candidates for another
    ``resource``.
"""


class HalvingGridSearchCV(_HalvingSearch, sklearn_search.HalvingGridSearchCV):
    _parameter_constraints = {
        **sklearn_search.HalvingGridSearchCV._parameter_constraints,
        **_STACKING_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        factor=3,
        resource="n_samples",
        max_resources="auto",
        min_resources="exhaust",
        aggressive_elimination=False,
        cv=5,
        scoring=None,
        refit=True,
        error_score=float("nan"),
        return_train_score=True,
        random_state=None,
        n_jobs=None,
        verbose=0,
        max_stack_bytes=MAX_STACK_BYTES,
        return_histories=False,
    ):
        super().__init__(
            estimator,
            param_grid,
            factor=factor,
            resource=resource,
            max_resources=max_resources,
            min_resources=min_resources,
            aggressive_elimination=aggressive_elimination,
            cv=cv,
            scoring=scoring,
            refit=refit,
            error_score=error_score,
            return_train_score=return_train_score,
            random_state=random_state,
            n_jobs=n_jobs,
            verbose=verbose,
        )
        self.max_stack_bytes = max_stack_bytes
        self.return_histories = return_histories


class HalvingRandomSearchCV(_HalvingSearch, sklearn_search.HalvingRandomSearchCV):
    _parameter_constraints = {
        **sklearn_search.HalvingRandomSearchCV._parameter_constraints,
        **_STACKING_CONSTRAINTS,
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        n_candidates="exhaust",
        factor=3,
        resource="n_samples",
        max_resources="auto",
        min_resources="smallest",
        aggressive_elimination=False,
        cv=5,
        scoring=None,
        refit=True,
        error_score=float("nan"),
        return_train_score=True,
        random_state=None,
        n_jobs=None,
        verbose=0,
        max_stack_bytes=MAX_STACK_BYTES,
        return_histories=False,
    ):
        super().__init__(
            estimator,
            param_distributions,
            n_candidates=n_candidates,
            factor=factor,
            resource=resource,
            max_resources=max_resources,
            min_resources=min_resources,
            aggressive_elimination=aggressive_elimination,
            cv=cv,
            scoring=scoring,
            refit=refit,
            error_score=error_score,
            return_train_score=return_train_score,
            random_state=random_state,
            n_jobs=n_jobs,
            verbose=verbose,
        )
        self.max_stack_bytes = max_stack_bytes
        self.return_histories = return_histories


_docstring(
    HalvingGridSearchCV,
    "HalvingGridSearchCV",
    """Successive halving over a grid; survivors train on in their stacks.

    A drop-in replacement for :class:`sklearn.model_selection.HalvingGridSearchCV`
    for an skgd estimator or a :class:`~sklearn.pipeline.Pipeline` ending in
    one: the same arguments and ``cv_results_``. With ``resource="epochs"``
    each rung trains its candidates as stacks, and the survivors go on in
    them to the next rung's epochs instead of starting again.
""",
    """
    Parameters
    ----------
    estimator : estimator
        An skgd estimator, or a pipeline whose last step is one.
    param_grid : dict or list of dict
        Parameter names (``step__name`` in a pipeline) and their values;
        not the resource.""",
    _HALVING_COMMON,
    _HALVING_ATTRIBUTES,
)
_docstring(
    HalvingRandomSearchCV,
    "HalvingRandomSearchCV",
    """Successive halving over sampled candidates; survivors train on stacked.

    A drop-in replacement for
    :class:`sklearn.model_selection.HalvingRandomSearchCV` for an skgd
    estimator or a :class:`~sklearn.pipeline.Pipeline` ending in one: the
    same arguments, the same candidates for the same ``random_state``, and
    ``cv_results_``. With ``resource="epochs"`` the survivors of a rung go
    on in their stacks to the next rung's epochs.
""",
    """
    Parameters
    ----------
    estimator : estimator
        An skgd estimator, or a pipeline whose last step is one.
    param_distributions : dict or list of dict
        Parameter names and their distributions (with an ``rvs`` method) or
        lists of values, as in scikit-learn; not the resource.
    n_candidates : int or "exhaust", default="exhaust"
        The candidates of the first rung, as in scikit-learn.""",
    _HALVING_COMMON,
    _HALVING_ATTRIBUTES,
)
