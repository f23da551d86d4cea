"""A search's scores, computed for all the stacked fits of a fold at once.

scikit-learn's search scores each fit on its own: the fitted pipeline
transforms the held-out rows (and the training rows, with
``return_train_score``), predicts them, and the scorer checks its inputs
and computes the metric, for every candidate on every split. Where skgd can
give what the scorer gives (:func:`fold_metric`: the default ``score`` of a
regressor, ``"r2"``, ``"neg_mean_squared_error"``), the fits of a fold are
scored together instead (:func:`score_fold`): the rows are transformed once
for the fits that share their pipeline's fitted steps, those fits predict
them in one stacked forward pass (or each once, where they cannot stack),
and the metric is scikit-learn's own function, once over the predictions of
all the fits. :class:`FoldScorer` stands for the search's
scorer and answers with those scores; for everything else (another
scorer, fit or score parameters, rows it has no score for, a fit whose
prediction failed or warned) it calls the scorer, so that errors,
warnings and ``error_score`` stay scikit-learn's.
"""

import functools
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn import config_context
from sklearn.base import RegressorMixin
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.metrics._scorer import _PassthroughScorer, _Scorer
from sklearn.pipeline import Pipeline

from .._base import PREDICTION_BLOCK
from .._regressor import RegressorGD
from ..engine.stack.network import StackedNetwork

# scikit-learn's metrics that score the columns of a matrix of predictions
# one by one (multioutput="raw_values") as each column alone.
_COLUMN_METRICS = (r2_score, mean_squared_error)


class FoldScorer:
    """The search's ``scorer``, answering with the scores of :func:`score_fold`.

    Parameters
    ----------
    scorer : callable
        scikit-learn's scorer of the search, ``scorer(estimator, X, y)``.
    """

    def __init__(self, scorer):
        self.scorer = scorer

    def __call__(self, estimator, X, y=None, **params):
        scores = getattr(estimator, "fold_scores", None)
        if scores is not None and y is not None and not params:
            score = scores.get(X, y)
            if score is not None:
                return score
        return self.scorer(estimator, X, y, **params)

    def get_metadata_routing(self):
        """The routing of the scorer it stands for."""
        return self.scorer.get_metadata_routing()

    def __repr__(self):
        return repr(self.scorer)


class FoldScores:
    """One fit's scores on the rows of its split: ``[(X, y, score), ...]``."""

    __slots__ = ("parts",)

    def __init__(self, parts):
        self.parts = parts

    def get(self, X, y):
        """The score of the fit on the rows ``(X, y)``; None for other rows."""
        for rows, targets, score in self.parts:
            if _same(X, rows) and _same(y, targets):
                return score
        return None


def _same(a, b):
    return (
        isinstance(a, np.ndarray)
        and a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a, b)
    )


def fold_metric(scorer, estimator):
    """``metric(y, predictions)``: the scores ``scorer`` gives fits of
    ``estimator`` whose predictions of ``y`` are the columns of
    ``predictions``; None where skgd cannot give them as the scorer does.
    """
    if isinstance(scorer, _PassthroughScorer):  # scoring=None: the estimator's score
        final = estimator
        if isinstance(estimator, Pipeline):
            if _defining(estimator, "score") is not Pipeline:
                return None
            final = estimator.steps[-1][1]
        if _defining(final, "score") is RegressorMixin:  # R² of its predict
            return functools.partial(_by_column, r2_score, 1)
        return None
    if (
        type(scorer) is _Scorer
        and getattr(scorer, "_score_func", None) in _COLUMN_METRICS
        and getattr(scorer, "_response_method", None) == "predict"
        and not getattr(scorer, "_kwargs", True)
    ):
        return functools.partial(_by_column, scorer._score_func, scorer._sign)
    return None


def _defining(estimator, name):
    """The class whose method ``name`` ``estimator`` has."""
    return next((c for c in type(estimator).__mro__ if name in vars(c)), None)


def _by_column(func, sign, y, predictions):
    """``sign * func`` of each column of ``predictions`` against ``y``."""
    targets = np.repeat(y[:, None], predictions.shape[1], axis=1)
    # Its parameters are ours, valid: only the data is checked.
    with config_context(skip_parameter_validation=True):
        return sign * func(targets, predictions, multioutput="raw_values")


def score_outcomes(outcomes, X, y, splits, metric, with_train):
    """``{(candidate, split): FoldScores}`` of the fitted ``outcomes``
    (``{(candidate, split): Outcome}``), split by split (see :func:`score_fold`)."""
    scores = {}
    for s, (train, test) in enumerate(splits):
        fits = {
            i: outcome.estimator
            for (i, split), outcome in outcomes.items()
            if split == s and outcome.error is None and outcome.estimator is not None
        }
        done = score_fold(fits, X, y, train, test, metric, with_train)
        scores.update({(i, s): value for i, value in done.items()})
    return scores


def score_fold(fits, X, y, train, test, metric, with_train):
    """The :class:`FoldScores` of ``fits`` on one split, for ``metric``.

    Parameters
    ----------
    fits : dict
        ``{key: estimator}``: the fits of the split, fitted (a pipeline or
        a final estimator).
    X, y : ndarray
        The search's data; nothing is scored unless they are arrays, ``y``
        of one column.
    train, test : ndarray
        The split's rows.
    metric : callable
        See :func:`fold_metric`.
    with_train : bool
        Also score the fits on their training rows.

    Returns
    -------
    scores : dict
        ``{key: FoldScores}`` of the fits whose predictions succeeded; none
        where anything warned (each fit's scorer then gives the warning).
    """
    if not (isinstance(X, np.ndarray) and isinstance(y, np.ndarray) and y.ndim == 1):
        return {}
    parts = [test, train] if with_train else [test]
    rows = [(X[part], y[part]) for part in parts]  # as _safe_indexing's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        predicted = _predictions(fits, [X_part for X_part, _ in rows])
        keys = list(predicted)
        try:
            scores = [
                metric(y_part, np.column_stack([predicted[key][j] for key in keys]))
                for j, (_, y_part) in enumerate(rows)
            ]
        except Exception:  # each fit's scorer meets the error
            return {}
    if caught or not keys:
        return {}
    return {
        key: FoldScores(
            [(*part, float(values[c])) for part, values in zip(rows, scores)]
        )
        for c, key in enumerate(keys)
    }


def _predictions(fits, parts):
    """``{key: [predictions of each part], ...}``: the fits that share their
    fitted steps predict the rows of all ``parts`` in one stacked pass
    (:func:`_stacked_predictions`), or each in one call where they cannot;
    fits whose prediction fails are left out (their scorer meets the error)."""
    transformed, finals, predicted = {}, {}, {}
    sizes = np.cumsum([part.shape[0] for part in parts])
    sizes, n_rows = sizes[:-1], sizes[-1]
    for key, fitted in fits.items():  # the fits by the fitted steps they share
        steps, final = _steps(fitted)
        ident = tuple(map(id, steps))
        finals.setdefault(ident, []).append((key, final))
        try:
            if ident not in transformed:
                transformed[ident] = _transformed(steps, parts)
        except Exception:
            transformed[ident] = None
    for ident, members in finals.items():
        rows = transformed[ident]
        if rows is None:
            continue
        together = _stacked_predictions([final for _, final in members], rows)
        for j, (key, final) in enumerate(members):
            try:
                prediction = final.predict(rows) if together is None else together[j]
            except Exception:
                continue
            if isinstance(prediction, np.ndarray) and prediction.shape == (n_rows,):
                predicted[key] = np.split(prediction, sizes)
    return predicted


def _stacked_predictions(finals, X):
    """Each of ``finals``' ``predict(X)``, made in one stacked forward pass;
    None unless they are skgd regressors of one architecture fitted on the
    same features, or where anything fails or overflows (each fit then
    predicts on its own, and meets its errors).

    ``X`` is checked once, as the first fit's ``predict`` checks it (the
    fits have the same features). A stack's products group their sums
    otherwise than one network's, so a prediction may differ from the fit's
    own in its last bit.
    """
    first = finals[0]
    if len(finals) < 2 or not _alike(finals) or sp.issparse(X):
        return None
    try:
        X, weights = first._prediction_input(X)
        weights = [weights] + [final._fitted_weights() for final in finals[1:]]
        if len({tuple((W.shape, W.dtype) for W, _ in w) for w in weights}) > 1:
            return None
        net = first._prediction_network(weights[0], X.dtype)  # the architecture
        stacked = StackedNetwork([net] * len(finals))
        for k, layers in enumerate(weights):
            for block, (W, b) in zip(stacked.blocks, layers, strict=True):
                block[: len(W), k], block[len(W) :, k] = W, b
        with np.errstate(over="ignore", invalid="ignore"):
            output = stacked.predict(X, None, stacked.block_rows(PREDICTION_BLOCK))
    except Exception:
        return None
    if not np.isfinite(output).all():
        return None
    return [output[:, k].ravel() for k in range(len(finals))]


def _alike(finals):
    """Whether ``finals`` are fitted skgd regressors of one type, activation
    and output, fitted on the same features."""
    first = finals[0]
    features = getattr(first, "feature_names_in_", None)
    return isinstance(first, RegressorGD) and all(
        type(final) is type(first)
        and getattr(final, "_activation", None) == getattr(first, "_activation", None)
        and getattr(final, "n_features_in_", None) == first.n_features_in_
        and final._predicts_1d()
        and np.array_equal(getattr(final, "feature_names_in_", None), features)
        for final in finals
    )


def _steps(fitted):
    """``(transforming steps, final estimator)`` of a fitted pipeline or
    estimator, the steps those the pipeline's ``predict`` applies."""
    if not isinstance(fitted, Pipeline):
        return [], fitted
    steps = [step for _, step in fitted.steps[:-1]]
    kept = [s for s in steps if s is not None and not _is_passthrough(s)]
    return kept, fitted.steps[-1][1]


def _is_passthrough(step):
    return isinstance(step, str) and step == "passthrough"


def _transformed(steps, parts):
    """The rows of each of ``parts`` through ``steps``, then in one array."""
    out = []
    for part in parts:
        rows = part
        for step in steps:
            rows = step.transform(rows)
        if not isinstance(rows, np.ndarray) or len(rows) != len(part):
            raise TypeError("Only arrays of the rows given are predicted at once.")
        out.append(rows)
    return np.concatenate(out)
