"""The one training loop, for a stack of ``K >= 1`` candidates.

A fit is a stack of one. Candidates that share an architecture, a batch
size, a number of epochs, an optimizer, a schedule and a ``random_state``
see the same data in the same order, so a search's candidates that differ
only in numbers are trained side by side, as one stack:

* the parameters of ``K`` candidates live in one flat buffer, each dense
  layer a block of shape ``(n_in + 1, K, n_out)`` (the last row holds the
  intercepts), so that the first layers of all candidates are one matrix
  product, ``X @ W`` with ``W`` of shape ``(n_in + 1, K * n_out)``, and the
  later layers one batched product;
* activations have shape ``(m, K, width)`` and the losses of
  :mod:`skgd._losses` give one value per candidate;
* the optimizer updates the whole buffer at once, with the learning rates,
  penalties, momenta, Adam settings and dropout rates of the candidates as
  arrays.

Each candidate goes through exactly the arithmetic of its own fit (a
stack of one): the same
split, initial weights and shuffles (from the same ``random_state``), the
same dropout draws (every dropout position has its own stream, see
:func:`skgd.engine.session.dropout_streams`; a candidate with a rate of 0 at a
position keeps all its units there), the same updates. Only the order of
some sums differs (a matrix product of ``K`` candidates against one of
one, a kernel chosen by ``K``), so results agree with separate fits to
rounding, not bit for bit.

A candidate that differs from an earlier one of the stack in its
optimizer's numbers alone (:data:`OPTIMIZER_NUMBERS`: rate, penalty,
momentum, Adam's settings) is its sibling: it takes that one's checked
data, targets, task and initial draws instead of making them again, equal
(the range test's 30 rates, a grid of rates and penalties).

One candidate's failure is its own: a candidate whose loss diverges gets
the :class:`~skgd.DivergenceError` its own fit would have raised, and one
that stops early (``tol``, ``early_stopping``) keeps the state its own fit
would have ended with; both leave the stack at the end of that epoch and
cost nothing more.

:func:`train_group` trains a group; each candidate's fit ends as its own
fit would (:meth:`~skgd._fitting.TrainingMixin._adopt`): its estimator fitted, or
the error its training raised, in an :class:`~.ending.Outcome`.

The modules: :mod:`.network` (the stacked network; its dropout and layout
in :mod:`.parts`), :mod:`.optimizer` (the stacked optimizer), :mod:`.run`
(:class:`~.run.Trainer`: the steps, the epoch loop, a fit's entry
points), :mod:`.group` (a search's: making a group, its rungs) and
:mod:`.ending` (the end of each epoch and of each candidate's fit).
Importing this package imports no numba: the kernels
(:mod:`skgd.engine.stacked`) come with the first stack.
"""

import time
import warnings
from contextlib import nullcontext

import numpy as np

from ..._compat import validate_parameter_constraints
from ..._exceptions import DivergenceError
from ..._layers import Dropout
from ..threads import one_blas_thread
from .run import Trainer

# The parameters that only change numbers: candidates differing in them alone
# are trained stacked. Every other parameter splits candidates into groups.
STACKED = (
    "learning_rate",
    "alpha",
    "dropout",
    "input_dropout",
    "momentum",
    "beta_1",
    "beta_2",
    "epsilon",
    "huber_delta",
    "power_t",
    "class_weight",
)

# The values a group compares and checks once: numbers and strings (concrete
# types: an isinstance check against numbers.Real costs several times more).
_ATOMS = (int, float, str, np.number, np.bool_)

# The stacked parameters that change only the optimizer's arithmetic: a
# candidate differing from the first of its group in these alone shares the
# first's data, task, network layout and initial draws.
OPTIMIZER_NUMBERS = frozenset(
    ("learning_rate", "alpha", "momentum", "beta_1", "beta_2", "epsilon", "power_t")
)


def train_group(estimators, X, y, sample_weight=None, keep=False):
    """Train ``estimators`` (one group, fresh) stacked on ``(X, y)``.

    Returns ``(outcomes, seconds, group)``: ``outcomes[i]`` is the
    :class:`~.ending.Outcome` of ``estimators[i]``, fitted in place, or None where
    its parameters or data are refused (its own fit raises the same error
    before training: scikit-learn's ``InvalidParameterError`` for a value
    its constraints refuse). With ``keep``, ``group`` is the
    :class:`~.run.Trainer`, its candidates still in the stack (see
    :meth:`~.run.Trainer.run`; None when none could train); else None.
    """
    start = time.perf_counter()
    group = stack_group(estimators, X, y, sample_weight, catch=True)
    outcomes = [None] * len(estimators)
    if group is not None:
        # Small matrix products run fastest on one thread; workers run in parallel.
        with one_blas_thread():
            group.run(keep=keep)
        for k, index in enumerate(group.candidates):
            outcomes[index] = group.outcomes[k]
    return outcomes, time.perf_counter() - start, group if keep else None


def stack_group(estimators, X, y, sample_weight=None, catch=False):
    """The stacked run of ``estimators`` (one group, fresh), ready to train.

    Returns the :class:`~.run.Trainer`, or None when no candidate can train. Its
    candidates are numbered in the order of ``estimators``, those refused
    left out (``group.candidates`` maps its numbers to their indices in
    ``estimators``). With ``catch``, the warnings of preparing each fit are
    caught, to be given with its outcome (see :class:`~.ending.Outcome`), not now.
    """
    runs, indices, caught, checked, alike = [], [], [], set(), {}
    for index, estimator in enumerate(estimators):
        like = runs[0] if runs else None
        # Without catch, warnings are given as they come (none kept: []).
        with (
            warnings.catch_warnings(record=True) if catch else nullcontext([]) as given
        ):
            if catch:
                warnings.simplefilter("always")
            run = _prepared(estimator, X, y, sample_weight, like, checked, alike)
        if run is not None:
            runs.append(run)
            indices.append(index)
            caught.append(given)
    if not runs:
        return None
    # Candidates of equal dropout rates side by side: one mask for each run.
    order = sorted(range(len(runs)), key=lambda i: _rates_by_position(runs[i].net))
    try:
        group = Trainer.of_candidates(
            [runs[i] for i in order], [estimators[indices[i]] for i in order]
        )
    except (ValueError, DivergenceError):
        return None  # each fit meets it alone
    group.candidates = [indices[i] for i in order]
    # A later candidate took the first's checked data, and a sibling its
    # preparer's task (the first candidate of its source): and their warnings.
    preparer = {}
    for i, run in enumerate(runs):
        preparer.setdefault(id(run.source), i)
    group.warned = [
        _once([*caught[0], *caught[preparer[id(runs[i].source)]], *caught[i]])
        for i in order
    ]
    return group


def _once(caught):
    """The warnings ``caught``, each message once."""
    return list({(str(w.message), w.category): w for w in caught}.values())


def _prepared(estimator, X, y, sample_weight, like, checked, alike):
    """``estimator``'s fit, prepared (``like`` the first candidate's, whose
    checked data it takes); None when its parameters or data are refused.
    ``checked``: see :func:`_validate_stacked`. ``alike`` maps a
    :func:`_preparation_key` to the fit of the first candidate with it, of
    which a later one with the key, and no callbacks, is a sibling: it takes
    that fit's task, targets and epoch source rather than making them again
    (see :meth:`~skgd._fitting.TrainingMixin._prepare_sibling`)."""
    try:
        if like is None:
            estimator._validate_params()  # InvalidParameterError is a ValueError
            run = estimator._prepare(X, y, sample_weight, "fresh", False)
            key = _preparation_key(_keys(run.config.params))
        else:
            params = estimator.get_params(deep=False)
            keys = _keys(params)
            # It shares all parameters with the first but the stacked ones.
            _validate_stacked(estimator, params, keys, checked)
            key = _preparation_key(keys)
            if key in alike and not estimator._has_callbacks():
                return estimator._prepare_sibling(alike[key], params)
            run = estimator._prepare(X, y, sample_weight, "fresh", False, like=like)
    except (ValueError, TypeError):
        return None
    if key is not None:
        alike.setdefault(key, run)
    return run


def _validate_stacked(estimator, params, keys, checked):
    """Check the parameters in which ``estimator`` may differ from the first
    candidate of its group (they share all others, checked with the first):
    ``params`` (``get_params(deep=False)``), known by ``keys`` (:func:`_keys`).

    ``checked`` holds the keys of the numbers and strings already found
    valid in this group: a grid repeats few values over many candidates.
    """
    constraints = estimator._parameter_constraints
    names = [
        name for name in params
        if name in STACKED and name in constraints
        and (keys[name] is None or keys[name] not in checked)
    ]  # fmt: skip
    validate_parameter_constraints(
        {name: constraints[name] for name in names},
        {name: params[name] for name in names},
        caller_name=type(estimator).__name__,
    )
    checked.update(keys[name] for name in names if keys[name] is not None)


def _preparation_key(keys):
    """What a fit's preparation depends on among its parameters (``keys``,
    see :func:`_keys`): all but :data:`OPTIMIZER_NUMBERS`; None when one is
    not a value :func:`_key` knows (a sibling's then prepares anew)."""
    key = tuple(keys[name] for name in sorted(keys) if name not in OPTIMIZER_NUMBERS)
    return None if None in key else key


def _keys(params):
    """Each parameter's :func:`_key`, by name."""
    return {name: _key(name, value) for name, value in params.items()}


def _key(name, value):
    """What a value is known by, for a number, string, None, or tuple or list
    of numbers (their types included: ``1`` is not ``1.0``); else None."""
    if value is None or isinstance(value, _ATOMS):
        return name, type(value), value
    if isinstance(value, (tuple, list)) and all(isinstance(v, _ATOMS) for v in value):
        return name, type(value), tuple(map(type, value)), tuple(value)
    return None


def _rates_by_position(net):
    """The dropout rate at each position of ``net`` (0 where it has none)."""
    rates = {
        layer.stream: layer.rate for layer in net.layers if isinstance(layer, Dropout)
    }
    return [rates.get(j, 0.0) for j in range(net.n_streams)]
