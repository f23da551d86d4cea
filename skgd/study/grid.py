"""The grids of ``skgd study``: the knobs searched, and their values.

Each estimator has fixed parameters (:data:`FIXED_PARAMS`) and a default grid
(:data:`DEFAULT_GRIDS`) that ``--param`` replaces (:func:`build_grids`); a
large data set trains fewer epochs (:func:`adapt_epochs`).
"""

import math

from sklearn.base import clone
from sklearn.model_selection import ParameterGrid

from .._exceptions import StudyError
from .task import REGRESSION

#: Constructor parameters of each estimator in the study (a ``--param`` of the
#: same name overrides them).
FIXED_PARAMS = {
    "gd": {"batch_size": 32, "epochs": 50},
    "mlp": {"hidden_layer_sizes": (32,), "batch_size": 32, "epochs": 100},
}


#: The L2 penalties of the default grids: 0, then decades up to a penalty
#: that outweighs the loss of standardized features (the validation curve
#: bends down at 1 or 10).
_ALPHAS = [0.0, 1e-2, 1e-1, 1.0, 10.0]


#: The grids searched when no ``--param`` names a parameter of the estimator:
#: each knob spans too little to too much. The learning rate goes from too
#: small a step (far from converged in the epochs given) to too large (a
#: divergence, or a worse fit); alpha from none to an underfit; dropout from
#: none to half the hidden units; the width of the MLP's hidden layer, its
#: capacity, from 8 to 128 units. A fold's candidates of one width are one
#: stacked run, so the 25 GD and 135 MLP candidates take 1 and 3 runs a fold.
DEFAULT_GRIDS = {
    "gd": {"learning_rate": [1e-3, 1e-2, 1e-1, 1.0, 10.0], "alpha": _ALPHAS},
    "mlp": {
        "learning_rate": [1e-3, 1e-2, 1e-1],
        "alpha": _ALPHAS,
        "dropout": [0.0, 0.2, 0.5],
        "hidden_layer_sizes": [(8,), (32,), (128,)],
    },
}


#: Parameters whose values are spread on a log scale (so plotted by the report).
LOG_SCALE = ("learning_rate", "alpha")


def build_grids(keys, params, task=REGRESSION):
    """The grid of each estimator, from the ``--param`` options.

    Parameters
    ----------
    keys : list of str
        Estimators of the study, among ``"gd"`` and ``"mlp"``.
    params : dict of str to list
        Values to try by constructor parameter name; empty for the defaults.
    task : Task, default=REGRESSION
        Whose estimators the parameters are for.

    Returns
    -------
    grids : dict of str to dict
        For each key, the ``params`` that the estimator has, or its default
        grid when it has none of them.
    """
    estimators = task.estimators
    known = {key: set(estimators[key]().get_params()) for key in keys}
    for name in params:
        if not any(name in known[key] for key in keys):
            names = " or ".join(estimators[key].__name__ for key in keys)
            raise StudyError(f"unknown parameter {name!r} for {names}")
    grids = {}
    for key in keys:
        own = {name: values for name, values in params.items() if name in known[key]}
        grids[key] = own or DEFAULT_GRIDS[key]
    return grids


#: Rows of a fold's training set up to which the estimators train their
#: default epochs; beyond, fewer (see :func:`adapt_epochs`).
EPOCH_ROWS = 5_000


#: The fewest epochs :func:`adapt_epochs` chooses.
MIN_EPOCHS = 5


def adapt_epochs(keys, grids, n_train, task=REGRESSION):
    """Fewer epochs for a large data set, unless ``--param epochs`` is given.

    An epoch of ``n_train`` rows takes ``n_train / batch_size`` steps: the
    default epochs of :data:`FIXED_PARAMS` take a study of
    :data:`EPOCH_ROWS` training rows a fold to convergence in seconds, and a
    larger data set converges in fewer epochs (each is more steps) while
    each epoch takes longer. Beyond :data:`EPOCH_ROWS` rows, the study
    trains ``epochs * EPOCH_ROWS / n_train`` epochs, rounded up and at least
    :data:`MIN_EPOCHS`: about as many steps as at :data:`EPOCH_ROWS` rows.

    Parameters
    ----------
    keys : list of str
        The estimators of the study.
    grids : dict of str to dict
        From :func:`build_grids`; not changed.
    n_train : int
        Training rows of a fold.
    task : Task, default=REGRESSION
        Whose estimators, for the note.

    Returns
    -------
    grids : dict of str to dict
        The grids, with ``"epochs": [n]`` added for each estimator whose
        epochs are reduced.
    note : str or None
        What was chosen, for the user; None when nothing changed.
    """
    adapted, chosen = {}, []
    for key in keys:
        grid = dict(grids[key])
        default = FIXED_PARAMS[key]["epochs"]
        epochs = max(MIN_EPOCHS, math.ceil(default * EPOCH_ROWS / n_train))
        if "epochs" not in grid and epochs < default:
            grid["epochs"] = [epochs]
            name = task.estimators[key].__name__
            chosen.append(f"{name} {epochs} epochs instead of {default}")
        adapted[key] = grid
    if not chosen:
        return adapted, None
    note = (
        f"training {' and '.join(chosen)}, for the {n_train} training rows of "
        f"a fold (more than {EPOCH_ROWS}: each epoch is more steps, and "
        "takes longer); choose with --param epochs=N"
    )
    return adapted, note


def check_grid(pipeline, grid):
    """Raise StudyError for a candidate value the estimator does not accept.

    Parameters
    ----------
    pipeline : Pipeline
        From :func:`~skgd.study.pipeline.make_pipeline`.
    grid : dict of str to list
        Values by unprefixed parameter name.
    """
    for params in ParameterGrid(grid):
        estimator = clone(pipeline[-1]).set_params(**params)
        try:
            estimator._validate_params()
        except (ValueError, TypeError) as exc:
            raise StudyError(str(exc)) from None
