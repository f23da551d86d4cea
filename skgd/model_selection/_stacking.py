"""The stacked training of a search: each fold's candidates, group by group.

:func:`train_stacked` trains the stackable candidates of a search on every
split, a group (candidates differing only in numbers, see
:data:`skgd._stacked.STACKED`) at a time, in chunks that fit a memory
budget; :class:`_Stacking` is a search's side of it, which keeps the
results for the replay of scikit-learn's fits (:func:`skgd._stacked.replaying`).
"""

import itertools
import time
from contextlib import contextmanager
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed, parallel_config
from joblib.parallel import get_active_backend
from sklearn.base import clone, is_classifier
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import _safe_split
from sklearn.utils.validation import _check_method_params, indexable

from .._base import BaseGD
from .._stacked import STACKED, merge, train_group

# The memory stacked candidates may take by default: 256 MiB.
MAX_STACK_BYTES = 2**28


class _Stacking:
    """The stacked runs of one search's ``fit``, and their share of the time."""

    def __init__(self, search, X, y, params):
        self.search, self.params, self.n_jobs = search, dict(params), search.n_jobs
        self.backend = get_active_backend()[0]  # the caller's, for the stacked runs
        self.X, self.y = indexable(X, y)
        self.results, self.shares, self.offset = {}, {}, 0

    def train(self, candidates, cv):
        """Train every stackable candidate on every fold; fill ``results``.

        ``candidates`` are those of one call of scikit-learn's
        ``evaluate_candidates``; their indices count on from the last call's.
        """
        offset, self.offset = self.offset, self.offset + len(candidates)
        fit_params, groups = self._fit_params()
        if fit_params is None or getattr(self.search, "_skl_callbacks", None):
            return  # callbacks hear of every epoch: each fit trains on its own
        cv = check_cv(
            cv or self.search.cv,
            self.y,
            classifier=is_classifier(self.search.estimator),
        )
        splits = list(cv.split(self.X, self.y, groups=groups))
        results, shares = self._train(candidates, splits, fit_params)
        merge(self.results, results)
        self.shares.update({(offset + i, s): t for (i, s), t in shares.items()})

    def _train(self, candidates, splits, fit_params):
        """``(results, shares)`` of the candidates on the splits, as train_stacked."""
        search = self.search
        with parallel_config(backend=self.backend):
            return train_stacked(
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
    jobs = stack_jobs(estimator, candidates, X, splits, max_stack_bytes)
    tasks = (
        delayed(train_fold)([pair for _, pair in chunk], X, y, train, fit_params or {})
        for chunk, _, train in jobs
    )
    parallel = Parallel(n_jobs=n_jobs, pre_dispatch=pre_dispatch, return_as="generator")
    results, shares = {}, {}
    for (chunk, s, _), (done, seconds, _) in zip(jobs, parallel(tasks)):
        merge(results, done)
        for i, _ in chunk:
            shares[i, s] = seconds / len(chunk)
        if progress is not None:
            progress(len(chunk))
    return results, shares


def stack_jobs(estimator, candidates, X, splits, max_stack_bytes):
    """``[(chunk, split index, train rows), ...]``: the stacked runs to make.

    A chunk is ``[(candidate index, (preprocessing, final estimator)), ...]``,
    some of a group's candidates (see :func:`_groups` and :func:`_chunks`).
    """
    return [
        (chunk, s, train)
        for members in _groups(estimator, candidates)
        for chunk in _chunks(members, X, max_stack_bytes)
        for s, (train, _) in enumerate(splits)
    ]


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


def train_fold(members, X, y, train, fit_params, keep=False):
    """Train one chunk of a group on one fold: ``(results, seconds, group)``.

    ``group`` is the stacked run with its candidates kept in it, with
    ``keep`` (see :func:`skgd._stacked.train_group`), else None.
    """
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
            return {}, time.perf_counter() - start, None
    finals = [final for _, final in members]
    sample_weight = params.get("sample_weight")
    results, _, group = train_group(finals, X_train, y_train, sample_weight, keep)
    return results, time.perf_counter() - start, group
