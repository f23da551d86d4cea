"""The halving searches: scikit-learn's results; survivors train on in their stacks."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingGridSearchCV as SklearnHalvingGrid
from sklearn.model_selection import HalvingRandomSearchCV as SklearnHalvingRandom
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skgd.engine.stack.run
from skgd import GDClassifier, GDRegressor, MLPRegressor
from skgd.engine.stack import stack_group
from skgd.engine.stack.network import PASS_BYTES, StackedNetwork
from skgd.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV, _scores

CV = KFold(3, shuffle=True, random_state=0)
TIMES = {"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"}


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X[:240]), y[:240]


@pytest.fixture
def epochs_trained(monkeypatch):
    """The epochs that stacked runs train, one count per stacked epoch."""
    counts = []
    trainer = skgd.engine.stack.run.Trainer
    epoch = trainer._train_part

    def counted(self, *args):
        if hasattr(self, "estimators"):  # a stack of candidates, not a fit
            counts.append(1)
        return epoch(self, *args)

    monkeypatch.setattr(trainer, "_train_part", counted)
    return counts


def _fit_both(ours, theirs, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ours.fit(X, y), theirs.fit(X, y)


def assert_same_halving(ours, theirs, atol=1e-9):
    """Equal rungs and cv_results_ (but timings), NaN where scikit-learn has NaN."""
    assert ours.n_resources_ == theirs.n_resources_
    assert ours.n_candidates_ == theirs.n_candidates_
    assert set(ours.cv_results_) == set(theirs.cv_results_)
    for key, value in theirs.cv_results_.items():
        if key in TIMES or key.startswith("rank_"):
            continue
        if key == "params" or not np.issubdtype(np.asarray(value).dtype, np.number):
            assert list(ours.cv_results_[key]) == list(value), key
            continue
        np.testing.assert_allclose(
            ours.cv_results_[key], value, rtol=0, atol=atol, equal_nan=True, err_msg=key
        )
    assert ours.best_params_ == theirs.best_params_


def _mlp_pipeline(**params):
    mlp = MLPRegressor(
        hidden_layer_sizes=(8,), batch_size=32, tol=None, random_state=0, **params
    )
    return make_pipeline(StandardScaler(), mlp)


MLP_GRID = {
    "mlpregressor__learning_rate": [1e-3, 1e-2, 3e-2],
    "mlpregressor__alpha": [0.0, 1e-2],
    "mlpregressor__dropout": [0.0, 0.2],
}
MLP_HALVING = {
    "resource": "mlpregressor__epochs",
    "max_resources": 27,
    "factor": 3,
    "cv": CV,
}


def test_pipeline_halving_equals_scikit_learn_and_continues(diabetes, epochs_trained):
    X, y = diabetes
    ours, theirs = _fit_both(
        HalvingGridSearchCV(_mlp_pipeline(), MLP_GRID, **MLP_HALVING),
        SklearnHalvingGrid(_mlp_pipeline(), MLP_GRID, **MLP_HALVING),
        X,
        y,
    )
    assert ours.n_resources_ == [3, 9, 27]
    assert ours.n_candidates_ == [12, 4, 2]
    assert_same_halving(ours, theirs)
    # Each fold's stacks run to 27 epochs once (one stack of the 12
    # candidates: the dropout rates stack), instead of 3 + 9 + 27 epochs.
    assert len(epochs_trained) == 3 * 27


def test_linear_halving_equals_scikit_learn(diabetes, epochs_trained):
    X, y = diabetes
    model = GDRegressor(batch_size=16, tol=None, random_state=0)
    grid = {"learning_rate": [1e-3, 1e-2, 3e-2, 1e-1], "alpha": [0.0, 1e-2, 1e-1]}
    settings = {"resource": "epochs", "max_resources": 20, "factor": 2, "cv": CV}
    ours, theirs = _fit_both(
        HalvingGridSearchCV(model, grid, **settings),
        SklearnHalvingGrid(model, grid, **settings),
        X,
        y,
    )
    assert_same_halving(ours, theirs)
    assert len(epochs_trained) == 3 * ours.n_resources_[-1]


def test_classifier_halving_equals_scikit_learn():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = GDClassifier(batch_size=8, tol=None, random_state=0)
    grid = {"learning_rate": [1e-3, 1e-2, 1e-1], "alpha": [0.0, 1e-3, 1e-1]}
    settings = {"resource": "epochs", "max_resources": 18, "factor": 3, "cv": 3}
    ours, theirs = _fit_both(
        HalvingGridSearchCV(model, grid, **settings),
        SklearnHalvingGrid(model, grid, **settings),
        X,
        y,
    )
    assert_same_halving(ours, theirs)


def test_random_halving_equals_scikit_learn(diabetes):
    X, y = diabetes
    distributions = {
        "mlpregressor__learning_rate": [1e-3, 3e-3, 1e-2, 3e-2],
        "mlpregressor__alpha": [0.0, 1e-3, 1e-2],
    }
    settings = {**MLP_HALVING, "n_candidates": 9, "random_state": 1}
    ours, theirs = _fit_both(
        HalvingRandomSearchCV(_mlp_pipeline(), distributions, **settings),
        SklearnHalvingRandom(_mlp_pipeline(), distributions, **settings),
        X,
        y,
    )
    assert_same_halving(ours, theirs)


@pytest.mark.parametrize(
    "params",
    [
        {"tol": 1e-3, "n_iter_no_change": 2},  # a stopping rule
        {"lr_schedule": "cosine"},  # a cycle as long as the epochs
    ],
)
def test_fits_that_depend_on_their_end_start_anew_at_each_rung(
    diabetes, epochs_trained, params
):
    X, y = diabetes
    model = GDRegressor(batch_size=16, random_state=0, **{"tol": None, **params})
    grid = {"learning_rate": [1e-3, 1e-2, 3e-2], "alpha": [0.0, 1e-2, 1e-1]}
    settings = {"resource": "epochs", "max_resources": 18, "factor": 3, "cv": CV}
    ours, theirs = _fit_both(
        HalvingGridSearchCV(model, grid, **settings),
        SklearnHalvingGrid(model, grid, **settings),
        X,
        y,
    )
    assert_same_halving(ours, theirs)
    # A fresh stack at every rung: more epochs than one run to the last rung.
    assert len(epochs_trained) > 3 * ours.n_resources_[-1]


def test_diverged_candidates_score_error_score_as_in_scikit_learn(diabetes):
    X, y = diabetes
    model = GDRegressor(batch_size=16, tol=None, random_state=0)
    grid = {"learning_rate": [1e-2, 3e-2, 10.0, 30.0], "alpha": [0.0, 1e-2]}
    settings = {"resource": "epochs", "max_resources": 12, "factor": 2, "cv": CV}
    ours, theirs = _fit_both(
        HalvingGridSearchCV(model, grid, **settings),
        SklearnHalvingGrid(model, grid, **settings),
        X,
        y,
    )
    assert np.isnan(ours.cv_results_["mean_test_score"]).any()
    assert_same_halving(ours, theirs)


def test_n_samples_resource_is_scikit_learns(diabetes):
    X, y = diabetes
    model = GDRegressor(batch_size=16, epochs=5, tol=None, random_state=0)
    grid = {"learning_rate": [1e-3, 1e-2, 3e-2], "alpha": [0.0, 1e-1]}
    settings = {"factor": 2, "cv": CV, "random_state": 0, "min_resources": 40}
    ours, theirs = _fit_both(
        HalvingGridSearchCV(model, grid, **settings),
        SklearnHalvingGrid(model, grid, **settings),
        X,
        y,
    )
    assert_same_halving(ours, theirs)


@pytest.mark.parametrize(
    "grid, settings",
    [
        ({"alpha": [0.0, 0.1]}, {"resource": "no_such_parameter"}),
        ({"alpha": [0.0, 0.1]}, {"max_resources": 3, "min_resources": 9}),
        ({"alpha": [0.0, 0.1]}, {"factor": 1}),
        ({"alpha": [0.0, 0.1]}, {"factor": 0}),
        ({"alpha": [0.0, 0.1], "epochs": [2, 4]}, {}),  # the resource in the grid
        ({"alpha": [0.1]}, {}),  # one candidate
    ],
)
def test_bad_settings_meet_scikit_learns_own_errors(diabetes, grid, settings):
    X, y = diabetes
    model = GDRegressor(batch_size=16, tol=None, random_state=0)
    settings = {"resource": "epochs", "max_resources": 9, "cv": 3, **settings}
    outcomes = []
    for search in (HalvingGridSearchCV, SklearnHalvingGrid):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted = search(model, grid, **settings).fit(X, y)
            outcomes.append(("fitted", fitted.n_resources_, fitted.best_params_))
        except Exception as error:  # the same error, wherever it comes from
            outcomes.append((type(error), str(error)))
    assert outcomes[0] == outcomes[1]


def test_a_rungs_fits_keep_their_state_while_the_stack_trains_on(diabetes):
    """A fit ended at a rung is its own fit of that many epochs, and stays so
    while its stack trains on (its state holds copies, not the stack's)."""
    X, y = diabetes
    model = MLPRegressor(
        hidden_layer_sizes=(6,), batch_size=32, dropout=0.2, tol=None, random_state=0
    )
    candidates = [clone(model).set_params(epochs=3, alpha=a) for a in (0.0, 1e-2)]
    group = stack_group(candidates, X, y)
    group.run(3, keep=True)
    rung = [group.outcomes[k].take() for k in range(2)]
    states = [pickle.dumps(fitted._training_state) for fitted in rung]
    for k, longer in enumerate(clone(c).set_params(epochs=9) for c in candidates):
        group.rebind(k, longer)
    group.run(9, keep=True)
    for fitted, state, candidate in zip(rung, states, candidates, strict=True):
        assert pickle.dumps(fitted._training_state) == state  # untouched
        alone = clone(candidate).fit(X, y)
        own, got = alone._training_state, fitted._training_state
        assert got["rng"].bit_generator.state == own["rng"].bit_generator.state
        assert [s.bit_generator.state for s in got["streams"]] == [
            s.bit_generator.state for s in own["streams"]
        ]
        np.testing.assert_allclose(fitted.predict(X), alone.predict(X), rtol=1e-10)


def _count_predictions(monkeypatch, estimator_class):
    """The calls of ``estimator_class.predict``, one entry a call."""
    calls = []
    predict = estimator_class.predict

    def counted(self, X):
        calls.append(len(X))
        return predict(self, X)

    monkeypatch.setattr(estimator_class, "predict", counted)
    return calls


@pytest.mark.parametrize(
    "scoring, fold_scored",
    [
        (None, True),  # the regressor's score: R²
        ("r2", True),
        ("neg_mean_squared_error", True),
        ("neg_mean_absolute_error", False),  # scikit-learn's scorer, fit by fit
    ],
)
def test_scores_of_a_fold_at_once_equal_scikit_learns(
    diabetes, monkeypatch, scoring, fold_scored
):
    """Where skgd gives the scorer's scores, each fit predicts once (its test
    and training rows together), most of them with the other fits of their
    fold in one stacked pass; the scores are scikit-learn's either way."""
    X, y = diabetes
    settings = {**MLP_HALVING, "scoring": scoring}
    theirs = SklearnHalvingGrid(_mlp_pipeline(), MLP_GRID, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, y)
    calls = _count_predictions(monkeypatch, MLPRegressor)
    stacked = _count_stacked_predictions(monkeypatch)
    ours = HalvingGridSearchCV(_mlp_pipeline(), MLP_GRID, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(X, y)
    assert_same_halving(ours, theirs)
    n_fits = sum(ours.n_candidates_) * ours.n_splits_
    if fold_scored:
        assert len(calls) + sum(stacked) == n_fits
        assert sum(stacked) > n_fits / 2
    else:
        assert len(calls) == 2 * n_fits and not stacked
    assert type(ours.scorer_) is type(theirs.scorer_)  # the search's own scorer
    assert ours.score(X, y) == pytest.approx(theirs.score(X, y), abs=1e-9)


def _count_stacked_predictions(monkeypatch):
    """The fits predicted by each stacked pass of the fold scores."""
    widths, original = [], _scores._stacked_predictions

    def counted(finals, X):
        predictions = original(finals, X)
        if predictions is not None:
            widths.append(len(finals))
        return predictions

    monkeypatch.setattr(_scores, "_stacked_predictions", counted)
    return widths


def test_scores_that_warn_are_scikit_learns_with_their_warnings(diabetes):
    """A fold scored on one row: R² warns and is NaN at each fit, as in
    scikit-learn's search (the fold's scores fall back to the scorer's)."""
    X, y = diabetes
    X, y = X[:60], y[:60]
    cv = [(np.arange(1, 60), np.array([0])), (np.arange(59), np.array([59]))]
    model = GDRegressor(batch_size=16, tol=None, random_state=0)
    grid = {"learning_rate": [1e-3, 1e-2, 3e-2], "alpha": [0.0, 1e-2]}
    settings = {"resource": "epochs", "max_resources": 8, "factor": 2, "cv": cv}
    given = []
    for search in (HalvingGridSearchCV, SklearnHalvingGrid):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fitted = search(model, grid, **settings).fit(X, y)
        given.append(sorted((w.category.__name__, str(w.message)) for w in caught))
        given.append(fitted)
    assert given[0] == given[2]
    assert any("two samples" in message for _, message in given[0])
    assert_same_halving(given[1], given[3])


def test_data_that_is_not_an_array_is_scored_fit_by_fit(diabetes, monkeypatch):
    X, y = diabetes
    model = GDRegressor(batch_size=16, tol=None, random_state=0)
    grid = {"learning_rate": [1e-3, 1e-2, 3e-2], "alpha": [0.0, 1e-2]}
    settings = {"resource": "epochs", "max_resources": 8, "factor": 2, "cv": CV}
    theirs = SklearnHalvingGrid(model, grid, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, y)
    calls = _count_predictions(monkeypatch, GDRegressor)
    ours = HalvingGridSearchCV(model, grid, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(X.tolist(), y.tolist())
    assert_same_halving(ours, theirs)
    assert len(calls) == 2 * sum(ours.n_candidates_) * ours.n_splits_


def test_a_stacked_pass_predicts_what_each_fit_predicts(diabetes):
    X, y = diabetes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model in (MLPRegressor(hidden_layer_sizes=(8, 4), activation="tanh"),
                      GDRegressor()):  # fmt: skip
            fits = [
                clone(model)
                .set_params(epochs=3, learning_rate=1e-3 * (k + 1), random_state=k)
                .fit(X, y)
                for k in range(4)
            ]
            predictions = _scores._stacked_predictions(fits, X[:50])
            for fit, prediction in zip(fits, predictions, strict=True):
                own = fit.predict(X[:50])
                assert prediction.shape == own.shape and prediction.dtype == own.dtype
                np.testing.assert_allclose(prediction, own, rtol=1e-13)
            # float32 models predict float64 rows in float64, as predict does
            single = [clone(fit).fit(X.astype(np.float32), y) for fit in fits[:2]]
            together = _scores._stacked_predictions(single, X[:50])
            assert together[0].dtype == single[0].predict(X[:50]).dtype == np.float64


def test_fits_that_cannot_predict_stacked_predict_alone(diabetes):
    X, y = diabetes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        narrow, wide = (
            MLPRegressor(hidden_layer_sizes=(h,), epochs=2, random_state=0).fit(X, y)
            for h in (3, 5)
        )
        linear = GDRegressor(epochs=2).fit(X, y)
        classifier = GDClassifier(epochs=2).fit(X, y > y.mean())
    stacked = _scores._stacked_predictions
    assert stacked([narrow], X) is None  # one fit alone
    assert stacked([narrow, wide], X) is None  # two architectures
    assert stacked([narrow, linear], X) is None  # two estimators
    assert stacked([classifier, classifier], X) is None  # not a regressor
    assert stacked([narrow, narrow], sp.csr_matrix(X)) is None  # sparse rows
    assert stacked([narrow, narrow], X[:, :4]) is None  # other features
    huge = np.full_like(X, 1e308)
    with pytest.raises(ValueError, match="overflow"):
        narrow.predict(huge)
    assert stacked([narrow, narrow], huge) is None  # each fit's predict raises


def test_a_stacked_pass_of_wide_networks_predicts_in_small_blocks(diabetes):
    """Many wide fits predict in blocks whose buffers stay within PASS_BYTES."""
    X, y = diabetes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = [
            MLPRegressor(hidden_layer_sizes=(256, 256), epochs=1, random_state=k).fit(
                X, y
            )
            for k in range(16)
        ]
    seen = []
    predict = StackedNetwork.predict

    def spy(self, X, rows, block):
        seen.append(block)
        return predict(self, X, rows, block)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(StackedNetwork, "predict", spy)
        predictions = _scores._stacked_predictions(fits, X)
    # 16 fits of 513 units (256 + 256 + 1), 4 float64 buffers a unit and row
    assert seen and seen[0] < 4096 and 4 * 16 * 513 * 8 * seen[0] <= PASS_BYTES
    for fit, prediction in zip(fits, predictions, strict=True):
        np.testing.assert_allclose(prediction, fit.predict(X), rtol=1e-13)
