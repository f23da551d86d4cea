"""The stacked training of a search: each fold's candidates, group by group.

:func:`train_stacked` trains the stackable candidates of a search on every
split, a group (candidates differing only in numbers, see
:data:`skgd.engine.stack.STACKED`) at a time, in chunks that fit a memory
budget, and returns each fitted candidate; :class:`_Stacking` is a search's
side of it, which hands those fits to scikit-learn's search.
"""

import collections
import copy
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
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import _safe_split
from sklearn.utils.validation import _check_method_params, _num_samples, indexable

from .._base import BaseGD
from ..engine.stack import STACKED, train_group
from ._scores import score_outcomes

# The memory stacked candidates may take by default: 256 MiB.
MAX_STACK_BYTES = 2**28


class _Stacking:
    """The stacked runs of one search's ``fit``, and the fits they made.

    scikit-learn's search fits each candidate on each split, in this order:
    candidates in the order given, each on every split in turn. Here those
    fits were made before, by the stacked runs, and each of scikit-learn's
    takes the next in that order (:meth:`next_fit`, through
    :class:`~skgd.model_selection._candidate.StackedCandidate`), checked to
    be of the same candidate and rows.
    """

    def __init__(self, search, X, y, params):
        self.search, self.estimator, self.n_jobs = (
            search,
            search.estimator,
            search.n_jobs,
        )
        self.backend = get_active_backend()[0]  # the caller's, for the stacked runs
        self.X, self.y = indexable(X, y)
        # Fit parameters other than sample weights: each fit trains on its own.
        self.fit_params, self.groups = self._fit_params(dict(params))
        self.outcomes, self.shares, self.offset = {}, {}, 0
        self.queue, self.histories = collections.deque(), []
        # The fold scores of the fits (see :mod:`._scores`), where the
        # search's scorer is one skgd gives (``metric``).
        self.metric, self.scores, self.last_scores = None, {}, None
        self.tags = get_tags(self.estimator)

    def train(self, candidates, cv):
        """Train every stackable candidate on every split of ``cv``.

        ``candidates`` are those of one call of scikit-learn's
        ``evaluate_candidates``; their indices count on from the last call's.
        Returns the splits, for scikit-learn's fits to use the same.
        """
        offset, self.offset = self.offset, self.offset + len(candidates)
        cv = check_cv(
            cv or self.search.cv,
            self.y,
            classifier=is_classifier(self.estimator),
        )
        splits = list(cv.split(self.X, self.y, groups=self.groups))
        outcomes, shares = {}, {}
        if self.fit_params is not None:
            outcomes, shares = self._train(candidates, splits, self.fit_params)
        for (i, s), outcome in outcomes.items():
            self.outcomes[offset + i, s] = outcome
        if self.metric is not None:
            with_train = self.search.return_train_score
            scores = score_outcomes(
                outcomes, self.X, self.y, splits, self.metric, with_train
            )
            self.scores.update({(offset + i, s): v for (i, s), v in scores.items()})
        self.shares.update({(offset + i, s): t for (i, s), t in shares.items()})
        self.queue.extend(
            (offset + i, identity, s, _num_samples(train))
            for i, identity in enumerate(map(identity_of, candidates))
            for s, (train, _) in enumerate(splits)
        )
        return splits

    def _train(self, candidates, splits, fit_params):
        """``(outcomes, shares)`` of the candidates on the splits, as train_stacked."""
        search = self.search
        with parallel_config(backend=self.backend):
            return train_stacked(
                self.estimator,
                candidates,
                self.X,
                self.y,
                splits,
                fit_params,
                n_jobs=self.n_jobs,  # the search's own, while its fits run in one
                pre_dispatch=search.pre_dispatch,
                max_stack_bytes=search.max_stack_bytes,
            )

    def next_fit(self, params, X):
        """The :class:`~skgd.engine.stack.ending.Outcome` of scikit-learn's
        next fit of a candidate, of ``params`` on ``X``; None when it was not
        stacked (it trains on its own), or when the fits of the splits are
        done (the refit). Its :class:`~._scores.FoldScores` are then
        ``last_scores`` (None where it has none)."""
        self.last_scores = None
        if not self.queue:
            return None
        i, identity, s, n_rows = self.queue.popleft()
        if identity != identity_of(params) or _num_samples(X) != n_rows:
            raise RuntimeError(
                "skgd's search expected scikit-learn's search to fit its "
                f"candidates in order, split after split; it fitted {params} on "
                f"{_num_samples(X)} rows where candidate {i} on split {s} was "
                "expected. Please report this, with your scikit-learn version."
            )
        self.last_scores = self.scores.pop((i, s), None)
        return self.outcomes.pop((i, s), None)

    def _fit_params(self, params):
        """The fit parameters of the final estimator, and the groups of the CV.

        ``(None, groups)`` when another parameter is given: such fits
        train one at a time, as in scikit-learn's search.
        """
        groups = params.pop("groups", None)
        estimator = self.estimator
        name = "sample_weight"
        if isinstance(estimator, Pipeline):
            name = f"{estimator.steps[-1][0]}__sample_weight"
        weight = params.pop(name, None)
        if params:
            return None, groups
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


def identity_of(params, leaving=None):
    """What tells a candidate's parameters apart (their values' ``repr``),
    the parameter ``leaving`` left out."""
    return repr(sorted((k, v) for k, v in params.items() if k != leaving))


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
        of fits it made (its candidates but those refused).

    Returns
    -------
    outcomes : dict
        ``{(candidate, split): Outcome}`` (see
        :class:`skgd.engine.stack.ending.Outcome`) of each stacked fit: the
        candidate fitted on the split's training rows (a pipeline with its
        other steps fitted there), or the error of its training. A candidate
        that cannot stack, or whose parameters are refused, has none.
    shares : dict
        ``{(candidate, split): seconds}``: each candidate's share of the time
        of its stacked run.
    """
    jobs = stack_jobs(estimator, candidates, X, splits, max_stack_bytes)
    tasks = (
        delayed(train_fold)([c for _, c in chunk], X, y, train, fit_params or {})
        for chunk, _, train in jobs
    )
    parallel = Parallel(n_jobs=n_jobs, pre_dispatch=pre_dispatch, return_as="generator")
    outcomes, shares = {}, {}
    for (chunk, s, _), (done, seconds, _) in zip(jobs, parallel(tasks)):
        file_chunk(outcomes, shares, chunk, s, done, seconds)
        if progress is not None:
            progress(sum(outcome is not None for outcome in done))
    return outcomes, shares


def file_chunk(outcomes, shares, chunk, s, done, seconds, names=None):
    """File a chunk's ``done`` outcomes on split ``s`` in ``outcomes``, and
    each candidate's share of the run's ``seconds`` in ``shares``, under
    its index in the chunk (or ``names[index]``); refused ones have none."""
    for (i, _), outcome in zip(chunk, done):
        key = (i if names is None else names[i]), s
        shares[key] = seconds / len(chunk)
        if outcome is not None:
            outcomes[key] = outcome


def stack_jobs(estimator, candidates, X, splits, max_stack_bytes, models=None):
    """``[(chunk, split index, train rows), ...]``: the stacked runs to make.

    A chunk is ``[(candidate index, candidate), ...]``, some of a group's
    candidates (see :func:`_groups` and :func:`_chunks`), each the
    ``estimator`` with its parameters, unfitted (``models``, where given).
    """
    return [
        (chunk, s, train)
        for members in _groups(estimator, candidates, models)
        for chunk in _chunks(members, X, max_stack_bytes)
        for s, (train, _) in enumerate(splits)
    ]


def _groups(estimator, candidates, models=None):
    """``[[(index, candidate), ...], ...]``, by group.

    Candidates that cannot be stacked are left out.
    """
    if models is None:
        models = [unfitted(estimator, params) for params in candidates]
    groups = {}
    for i, candidate in enumerate(models):
        pre, final = _parts(candidate)
        if not _stackable(final):
            continue
        shared = {
            name: value
            for name, value in final.get_params(deep=False).items()
            if name not in STACKED
        }
        key = repr(type(final)), repr(pre), repr(sorted(shared.items()))
        groups.setdefault(key, []).append((i, candidate))
    return list(groups.values())


def unfitted(estimator, params):
    """The ``estimator`` of the candidate of ``params``, unfitted."""
    return clone(estimator).set_params(**clone(params, safe=False))


def _parts(candidate):
    """``(preprocessing, final estimator)`` of a candidate (None: no steps)."""
    if isinstance(candidate, Pipeline):
        return Pipeline(candidate.steps[:-1]), candidate.steps[-1][1]
    return None, candidate


def _chunks(members, X, max_stack_bytes):
    """A group's members in chunks whose stacked memory fits the budget."""
    final = _parts(members[0][1])[1]
    n_features = X.shape[1] if len(getattr(X, "shape", ())) == 2 else 1
    size = max(1, int(max_stack_bytes // _candidate_bytes(final, n_features)))
    return [members[i : i + size] for i in range(0, len(members), size)]


@contextmanager
def _sequential():
    """joblib's sequential backend, for the fits of scikit-learn's search.

    They must run in this process, in order, where their stacked fits are;
    joblib would send them to a configured backend's workers even with
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


def train_fold(candidates, X, y, train, fit_params, keep=False):
    """Train ``candidates`` (one chunk of a group) on one split's training rows.

    Returns ``(outcomes, seconds, group)``: the
    :class:`~skgd.engine.stack.ending.Outcome` of each candidate (None where
    refused; see :func:`skgd.engine.stack.train_group`), its estimator a
    fitted copy of the candidate, and ``group``, the stacked run with its
    candidates kept in it with ``keep``, else None; ``group.pre`` holds the
    pipeline's other steps, fitted once for all.
    """
    start = time.perf_counter()
    X_train, y_train = _safe_split(candidates[0], X, y, train)
    params = _check_method_params(X, params=fit_params, indices=train)
    pre = _parts(candidates[0])[0]
    if pre is not None:
        try:
            pre = clone(pre)
            X_train = pre.fit_transform(X_train, y_train)
        except Exception:  # a refused parameter of a step, say
            # Each fit meets the error alone, in scikit-learn's search, which
            # scores it error_score (with its warning) or raises it.
            return [None] * len(candidates), time.perf_counter() - start, None
    finals = [clone(_parts(candidate)[1]) for candidate in candidates]
    sample_weight = params.get("sample_weight")
    outcomes, _, group = train_group(finals, X_train, y_train, sample_weight, keep)
    for candidate, outcome in zip(candidates, outcomes):
        if outcome is not None and outcome.estimator is not None:
            outcome.estimator = with_steps(candidate, pre, outcome.estimator)
    if group is not None:
        group.pre = pre
    return outcomes, time.perf_counter() - start, group


def with_steps(candidate, pre, fitted):
    """The fitted ``candidate``: its final estimator ``fitted``, after its
    other steps ``pre`` (fitted; None when it is no pipeline)."""
    if pre is None:
        return fitted
    pipeline = copy.copy(candidate)  # its own parameters; the steps all fitted
    pipeline.steps = [*pre.steps, (candidate.steps[-1][0], fitted)]
    return pipeline
