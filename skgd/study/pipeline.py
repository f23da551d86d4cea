"""The pipeline of ``skgd study``: the preprocessing, then the estimator.

:func:`make_pipeline` puts :func:`make_preprocessor` (a ``StandardScaler``,
or for a CSV a ``ColumnTransformer`` that imputes, standardizes and one-hot
encodes) before the estimator, in a step named :data:`STEP`;
:func:`pipeline_text` prints it in one line.
"""

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .grid import FIXED_PARAMS
from .task import REGRESSION

#: The name of the estimator's step in the pipeline.
STEP = "model"


def prefixed(params):
    """The parameters of the estimator, as the pipeline takes them.

    Parameters
    ----------
    params : dict
        By unprefixed parameter name, e.g. ``{"alpha": 0.1}``.

    Returns
    -------
    params : dict
        E.g. ``{"model__alpha": 0.1}``.
    """
    return {f"{STEP}__{name}": value for name, value in params.items()}


def make_pipeline(key, random_state, task=REGRESSION, features=None, grid=None):
    """The unfitted pipeline of an estimator with its fixed parameters.

    Parameters
    ----------
    key : {"gd", "mlp"}
        Which estimator.
    random_state : int
        Seed of the estimator.
    task : Task, default=REGRESSION
        Whose estimator: the regressor or the classifier of ``key``.
    features : Features or None, default=None
        The columns of a CSV, by kind (see :func:`make_preprocessor`); None
        for a bundled data set.
    grid : dict of str to list or None, default=None
        The grid of the estimator: each parameter of a single value is set
        too, so that the pipeline shows every parameter the candidates share.

    Returns
    -------
    pipeline : Pipeline
        The preprocessing (:func:`make_preprocessor`), then the estimator,
        in a step named ``"model"``.
    """
    estimator = task.estimators[key](**FIXED_PARAMS[key], random_state=random_state)
    shared = {name: values[0] for name, values in (grid or {}).items()}
    estimator.set_params(**{k: v for k, v in shared.items() if len(grid[k]) == 1})
    return Pipeline([make_preprocessor(features), (STEP, estimator)])


def make_preprocessor(features=None):
    """The preprocessing step of the study's pipeline, and its name.

    Parameters
    ----------
    features : Features or None, default=None
        The columns of a CSV by kind, from :func:`skgd.study.data.load_data`;
        None for a bundled data set (numbers, none missing).

    Returns
    -------
    name : str
        ``"scale"`` or ``"prepare"``.
    step : StandardScaler or ColumnTransformer
        A ``StandardScaler`` for numeric features without a missing cell;
        otherwise a ``ColumnTransformer`` that standardizes the numeric
        columns (after a ``SimpleImputer(strategy="median")`` where a cell is
        missing) and one-hot encodes the categorical ones
        (``OneHotEncoder(handle_unknown="ignore")``: a category met only in
        the validation rows of a fold is all zeros; after a
        ``SimpleImputer`` that makes missing cells a category ``"missing"``
        where a cell is missing). It is fitted on each fold's training rows,
        and it is deterministic, as the stacked search needs.
    """
    if features is None or not (features.categorical or features.numeric_missing):
        return "scale", StandardScaler()
    transformers = []
    if features.numeric:
        numeric = StandardScaler()
        if features.numeric_missing:
            impute = SimpleImputer(strategy="median")
            numeric = Pipeline([("impute", impute), ("scale", numeric)])
        transformers.append(("numeric", numeric, list(features.numeric)))
    if features.categorical:
        categorical = OneHotEncoder(handle_unknown="ignore")
        if features.categorical_missing:
            impute = SimpleImputer(strategy="constant", fill_value="missing")
            categorical = Pipeline([("impute", impute), ("encode", categorical)])
        transformers.append(("categorical", categorical, list(features.categorical)))
    return "prepare", ColumnTransformer(transformers)


#: Columns named in :func:`pipeline_text` for each transformer, at most.
_SHOWN_COLUMNS = 8


def pipeline_text(pipeline):
    """The steps of a pipeline in one line, such as the study prints.

    Parameters
    ----------
    pipeline : Pipeline
        From :func:`make_pipeline`.

    Returns
    -------
    text : str
        The steps joined by ``" -> "``, each as its repr (only the
        parameters that differ from the defaults); a ColumnTransformer as
        ``ColumnTransformer(numeric [a, b]: ...; categorical [c]: ...)``.

    Examples
    --------
    >>> from skgd.study.data import Features
    >>> pipeline = make_pipeline("gd", 0, features=Features(("a", "b"), ("c",)))
    >>> numeric, categorical = pipeline_text(pipeline).split("; ")
    >>> numeric
    'ColumnTransformer(numeric [a, b]: StandardScaler()'
    >>> categorical.split(" -> ")
    ["categorical [c]: OneHotEncoder(handle_unknown='ignore'))", \
'GDRegressor(epochs=50, random_state=0)']
    """
    return " -> ".join(_step_text(step) for _, step in pipeline.steps)


def _step_text(step):
    if isinstance(step, Pipeline):
        return " -> ".join(_step_text(inner) for _, inner in step.steps)
    if not isinstance(step, ColumnTransformer):
        return " ".join(repr(step).split())
    parts = []
    for name, transformer, columns in step.transformers:
        names = [str(column) for column in columns]
        shown = ", ".join(names[:_SHOWN_COLUMNS])
        if len(names) > _SHOWN_COLUMNS:
            shown += f", ... ({len(names)} columns)"
        parts.append(f"{name} [{shown}]: {_step_text(transformer)}")
    return f"ColumnTransformer({'; '.join(parts)})"
