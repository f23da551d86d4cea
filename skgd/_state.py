"""What a saved skgd estimator may hold: every attribute's type and shape.

A pickle, joblib or skops file sets an estimator's ``__dict__`` as it was
saved; :func:`check_state` refuses, on load, a state that no skgd estimator
of that class could have, so that a crafted or damaged file fails there with
a message naming the attribute, not later with an unclear error (a
``KeyError`` in ``predict``, an ``AttributeError`` in ``fit``). It checks:

- the names: the estimator's parameters, and the attributes that a fit of
  that very class writes (a linear model has no ``coefs_``, a regressor no
  ``classes_``) or that scikit-learn sets (``set_fit_request``,
  ``set_output``, ``set_callbacks``); a fitted state (one with ``history_``)
  holds every attribute a fit writes, an unfitted one none of them;
- each attribute's type and shape (the shapes and values of the weights
  themselves are checked by :func:`skgd._base.check_weights`, after this);
- the parameters of a fitted state, against the estimator's constraints
  (an unfitted one is validated by its ``fit``, as any estimator is).
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin

from ._activations import ACTIVATIONS
from ._compat import (
    CallbackContext,
    FitCallback,
    MetadataRequest,
    validate_parameter_constraints,
)

# Written by every fit.
FITTED_COMMON = (
    *("n_features_in_", "_training_state", "learning_rate_", "history_"),
    *("n_iter_", "t_", "loss_curve_", "best_loss_", "validation_scores_"),
    *("best_validation_score_", "trajectory_"),
)
# Written by the fits of a family of estimators.
LINEAR_WEIGHTS = ("coef_", "intercept_")
MLP_WEIGHTS = (
    *("coefs_", "intercepts_", "n_layers_", "n_outputs_", "out_activation_"),
    "_activation",
)
CLASSIFIER_ATTRIBUTES = ("classes_", "_multilabel")
MLP_REGRESSOR_ATTRIBUTES = ("_y_ndim",)
# Written by a fit only sometimes.
FITTED_OPTIONAL = ("feature_names_in_",)
# Set outside fit, by scikit-learn (and BaseEstimator.__getstate__).
UNFITTED_OPTIONAL = (
    *("_sklearn_version", "_metadata_request", "_sklearn_output_config"),
    *("_skl_callbacks", "_skl_callbacks_to_teardown", "_callback_fit_ctx"),
    *("_parent_callback_ctx", "_propagated_callbacks"),
)


def _is_int(value, low):
    return (
        isinstance(value, Integral)
        and not isinstance(value, bool | np.bool_)
        and value >= low
    )


def _is_real(value, finite=True):
    """A real number, not a bool; finite, not NaN (``finite=False``) or any."""
    if not isinstance(value, Real) or isinstance(value, bool | np.bool_):
        return False
    if finite is None:
        return True
    return bool(np.isfinite(value)) if finite else not np.isnan(value)


def _real_list(value):
    return isinstance(value, list) and all(_is_real(v, finite=None) for v in value)


def _float_array(value, ndim):
    return (
        isinstance(value, np.ndarray) and value.ndim == ndim and value.dtype.kind == "f"
    )


def _callbacks(value):
    return (
        FitCallback is not None
        and isinstance(value, list)
        and all(
            isinstance(cb, FitCallback) and not isinstance(cb, type) for cb in value
        )
    )


def _callback_context(value):
    return CallbackContext is not None and isinstance(value, CallbackContext)


def _is_record(record):
    return isinstance(record, dict) and all(
        isinstance(key, str) and (value is None or _is_real(value, finite=None))
        for key, value in record.items()
    )


def _plain(value):
    """Data, not behaviour: what a training state may hold anywhere."""
    if value is None or isinstance(value, bool | str | Integral | Real):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf"
    if isinstance(value, np.random.Generator):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _target_scale_problem(value, shapes=None):
    """What is wrong with a state's ``target_scale`` (see TargetScale), or None.

    ``shapes``: ``(n_features, n_outputs)`` of the fitted weights, or None.
    """
    if value is None:
        return None
    n_features, n_outputs = shapes or (None, None)
    lists = {"mean": n_outputs, "x_mean": n_features, "intercepts": n_outputs}
    if not (
        isinstance(value, dict)
        and set(value) <= {"scale", "fixed_intercept", *lists}
        and isinstance(value.get("fixed_intercept", False), bool)
        and _is_real(value.get("scale"))
        and value["scale"] > 0
        and isinstance(value.get("mean"), list)
    ):
        return "a target scale: a positive 'scale' and a list of means"
    for key, size in lists.items():
        entry = value.get(key)
        if entry is None and key != "mean":
            continue
        if not (_real_list(entry) and (size is None or len(entry) == size)):
            return f"a target scale whose {key!r} is a list of {size or 'some'} floats"
    return None


def _training_state_problem(state, n_params=None, shapes=None):
    """What is wrong with a ``_training_state``, or None.

    ``n_params``: the sizes the optimizer's arrays may have, or None;
    ``shapes``: ``(n_features, n_outputs)`` of the fitted weights, or None.
    """
    if not isinstance(state, dict) or not _plain(state):
        return "a dict of numbers, arrays and random generators"
    rng, streams = state.get("rng"), state.get("streams")
    if not isinstance(rng, np.random.Generator):
        return "a random generator under 'rng'"
    if not (
        isinstance(streams, list)
        and all(isinstance(s, np.random.Generator) for s in streams)
    ):
        return "a list of random generators under 'streams'"
    if not (_is_int(state.get("n_iter"), 0) and _is_int(state.get("t"), 0)):
        return "counts of epochs and updates (ints >= 0) under 'n_iter' and 't'"
    if not _is_real(state.get("lr0")) or state["lr0"] <= 0:
        return "a positive step under 'lr0'"
    problem = _target_scale_problem(state.get("target_scale"), shapes)
    if problem is not None:
        return problem
    optimizer = state.get("optimizer")
    if not (
        isinstance(optimizer, dict)
        and all(
            v is None or isinstance(v, np.ndarray) or _is_real(v, finite=False)
            for v in optimizer.values()
        )
    ):
        return "the optimizer's state, a dict of float arrays and numbers"
    for key, value in optimizer.items():
        if isinstance(value, np.ndarray) and not (
            _float_array(value, 1) and (n_params is None or value.size in n_params)
        ):
            return (
                f"float arrays of the model's {max(n_params)} parameters in the "
                f"optimizer's state (its {key!r} has shape {value.shape}, dtype "
                f"{value.dtype})"
            )
    return None


def _checks(n_features):
    """``{name: (predicate, what it must be)}`` for each attribute."""
    return {
        "n_features_in_": (lambda v: _is_int(v, 1), "an int >= 1"),
        "feature_names_in_": (
            lambda v: (
                isinstance(v, np.ndarray)
                and v.dtype == object
                and v.shape == (n_features,)
                and all(isinstance(name, str) for name in v)
            ),
            f"an object array of {n_features} str, one per feature",
        ),
        "coef_": (lambda v: isinstance(v, np.ndarray), "an array"),
        "intercept_": (
            lambda v: isinstance(v, np.ndarray) or _is_real(v, finite=False),
            "a float or an array",
        ),
        "coefs_": (
            lambda v: (
                isinstance(v, list)
                and len(v) > 0
                and all(isinstance(W, np.ndarray) for W in v)
            ),
            "a non-empty list of arrays",
        ),
        "intercepts_": (
            lambda v: isinstance(v, list) and all(isinstance(b, np.ndarray) for b in v),
            "a list of arrays",
        ),
        "n_layers_": (lambda v: _is_int(v, 2), "an int >= 2"),
        "n_outputs_": (lambda v: _is_int(v, 1), "an int >= 1"),
        "out_activation_": (
            lambda v: isinstance(v, str) and v in ("identity", "logistic", "softmax"),
            "one of 'identity', 'logistic', 'softmax'",
        ),
        "_activation": (
            lambda v: isinstance(v, str) and v in ACTIVATIONS,
            f"one of {sorted(ACTIVATIONS)}",
        ),
        "classes_": (
            lambda v: isinstance(v, np.ndarray) and v.ndim == 1 and v.size > 0,
            "a non-empty 1-D array of the class labels",
        ),
        "_multilabel": (lambda v: isinstance(v, bool | np.bool_), "a bool"),
        "_y_ndim": (lambda v: _is_int(v, 1) and v <= 2, "1 or 2"),
        "learning_rate_": (
            lambda v: _is_real(v) and v > 0,
            "a positive finite float",
        ),
        "history_": (
            lambda v: isinstance(v, list) and all(_is_record(r) for r in v),
            "a list of records, dicts of str to numbers",
        ),
        "n_iter_": (lambda v: _is_int(v, 0), "an int >= 0"),
        "t_": (lambda v: _is_int(v, 0), "an int >= 0"),
        "loss_curve_": (_real_list, "a list of floats"),
        "best_loss_": (
            lambda v: v is None or _is_real(v, finite=False),
            "a float or None",
        ),
        "validation_scores_": (
            lambda v: v is None or _real_list(v),
            "a list of floats or None",
        ),
        "best_validation_score_": (
            lambda v: v is None or _is_real(v, finite=None),
            "a float or None",
        ),
        "trajectory_": (
            lambda v: v is None or _float_array(v, 2),
            "a 2-D float array or None",
        ),
        "_sklearn_version": (lambda v: isinstance(v, str), "a str"),
        "_metadata_request": (
            lambda v: isinstance(v, MetadataRequest),
            "scikit-learn's MetadataRequest (from set_fit_request)",
        ),
        "_sklearn_output_config": (
            lambda v: (
                isinstance(v, dict)
                and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())
            ),
            "a dict of str to str (from set_output)",
        ),
        **dict.fromkeys(
            ("_skl_callbacks", "_skl_callbacks_to_teardown", "_propagated_callbacks"),
            (_callbacks, "a list of scikit-learn FitCallback objects"),
        ),
        **dict.fromkeys(
            ("_callback_fit_ctx", "_parent_callback_ctx"),
            (_callback_context, "a scikit-learn CallbackContext"),
        ),
    }


def _attributes(estimator, params):
    """``(required when fitted, optional)`` attribute names of ``estimator``."""
    mlp = "hidden_layer_sizes" in params
    required = [*FITTED_COMMON, *(MLP_WEIGHTS if mlp else LINEAR_WEIGHTS)]
    if isinstance(estimator, ClassifierMixin):  # its tags need its parameters
        required += CLASSIFIER_ATTRIBUTES
    elif mlp:
        required += MLP_REGRESSOR_ATTRIBUTES
    return required, [*FITTED_OPTIONAL, *UNFITTED_OPTIONAL]


def _refusal(name, problem):
    """The error of a state that no skgd ``name`` could hold: ``problem``."""
    return ValueError(
        f"This file is not an skgd {name}: its state {problem}. Load only files "
        "written by skgd from a source you trust, or fit the model again."
    )


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_state(estimator, state):
    """Refuse a ``state`` that no skgd estimator of this class could hold.

    Parameters
    ----------
    estimator : skgd estimator
        The (empty) instance the state is loaded into.
    state : dict
        The attributes to set, without skgd's format and version entries.

    Raises
    ------
    ValueError
        Naming the first attribute that is unknown, missing, or of another
        type or shape than a fit writes, or the parameter that is invalid.
    """
    name = type(estimator).__name__
    params = estimator._get_param_names()
    required, optional = _attributes(estimator, params)
    fitted = "history_" in state

    def refuse(problem):
        raise _refusal(name, problem)

    allowed = {*params, *required, *optional}
    for key, value in state.items():
        if key not in allowed or callable(value):
            refuse(f"holds {key}={type(value).__name__}, which no {name} has")
    missing = [key for key in params if key not in state]
    if missing:
        refuse(f"lacks the parameters {', '.join(missing)}, which every {name} has")
    missing = [key for key in required if key not in state]
    if fitted and missing:
        refuse(f"lacks {', '.join(missing)}, which every fitted {name} has")
    if not fitted:
        # What validating the data writes first may be there (a copy made in
        # the first fit, by scikit-learn's callbacks); what a fit commits not.
        early = ("n_features_in_", *FITTED_OPTIONAL)
        stray = [key for key in required if key in state and key not in early]
        if stray:
            refuse(
                f"holds {', '.join(stray)} but no history_: a fit writes them "
                "all, or none"
            )
    checks = _checks(state.get("n_features_in_"))
    for key, value in state.items():
        if key in checks:
            valid, expected = checks[key]
            if not valid(value):
                refuse(f"holds {key}={_short(value)}; in {name}, {key} is {expected}")
    if not fitted:
        return
    coefs = state.get("coefs_", None)
    if coefs is not None and state["n_layers_"] != len(coefs) + 1:
        refuse(f"holds n_layers_={state['n_layers_']} for {len(coefs)} weight matrices")
    problem = _training_state_problem(state["_training_state"])
    if problem is not None:
        refuse(f"holds a _training_state that is not {problem}")
    training = state["_training_state"]
    if (training["n_iter"], training["t"]) != (state["n_iter_"], state["t_"]):
        refuse(
            f"holds n_iter_={state['n_iter_']} and t_={state['t_']}, but its "
            f"_training_state counts {training['n_iter']} and {training['t']}"
        )
    try:
        validate_parameter_constraints(
            estimator._parameter_constraints,
            {key: state[key] for key in params},
            caller_name=name,
        )
    except ValueError as error:  # InvalidParameterError
        refuse(f"holds an invalid parameter ({error})")


def check_optimizer_state(estimator, weights):
    """Refuse an optimizer state of another size than the fitted ``weights``.

    Called once the weights themselves are checked, after :func:`check_state`.
    """
    n_weights = sum(W.size for W, _ in weights)
    # With the intercepts, or without (a linear model's fit_intercept=False,
    # which set_params may have changed since the fit).
    n_params = {n_weights, n_weights + sum(b.size for _, b in weights)}
    shapes = weights[0][0].shape[0], weights[-1][0].shape[1]
    problem = _training_state_problem(estimator._training_state, n_params, shapes)
    if problem is not None:
        raise _refusal(
            type(estimator).__name__, f"holds a _training_state that is not {problem}"
        )
