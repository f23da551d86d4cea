"""The stacked searches: scikit-learn's results, a fold's candidates trained at once."""

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import loguniform
from sklearn import model_selection as sk
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import make_scorer, mean_absolute_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import StrOptions

import skgd._fitting
import skgd._optimizers
import skgd.engine.session
import skgd.engine.stack
import skgd.model_selection._stacking
from skgd import GDClassifier, GDRegressor, MLPClassifier, MLPRegressor
from skgd.model_selection import GridSearchCV, RandomizedSearchCV

CV = sk.KFold(3, shuffle=True, random_state=0)


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:240], y[:240]


@pytest.fixture
def trainings(monkeypatch):
    """Count the fits trained on their own (not taken from a stacked run)."""
    calls = []
    session = skgd.engine.session.fit_session

    def counted(*args, **kwargs):
        calls.append(1)
        return session(*args, **kwargs)

    monkeypatch.setattr(skgd._fitting, "fit_session", counted)
    return calls


def _both(search, reference, *fit_args, **fit_params):
    """Fit the skgd search and scikit-learn's, without their warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(*fit_args, **fit_params)
        reference.fit(*fit_args, **fit_params)
    return search, reference


def assert_same_results(ours, theirs, atol=1e-9):
    """Equal cv_results_ (but timings), NaN where scikit-learn has NaN."""
    skipped = {"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"}
    assert set(ours.cv_results_) - {"histories"} == set(theirs.cv_results_)
    for key, value in theirs.cv_results_.items():
        if key in skipped:
            continue
        if key.startswith("rank_"):  # ties within rounding may break either way
            means = theirs.cv_results_["mean_" + key[len("rank_") :]]
            gaps = np.abs(means[:, None] - means[None, :]) + np.eye(len(means))
            clear = ~(gaps <= atol).any(axis=1)
            assert (ours.cv_results_[key][clear] == value[clear]).all(), key
            continue
        if key == "params" or not np.issubdtype(np.asarray(value).dtype, np.number):
            assert list(ours.cv_results_[key]) == list(value), key
            continue
        np.testing.assert_allclose(
            ours.cv_results_[key], value, rtol=0, atol=atol, equal_nan=True, err_msg=key
        )
    assert ours.best_index_ == theirs.best_index_
    assert ours.n_splits_ == theirs.n_splits_


def test_pipeline_grid_equals_scikit_learn_and_trains_only_the_refit(
    diabetes, trainings
):
    pipe = make_pipeline(
        StandardScaler(),
        MLPRegressor(
            hidden_layer_sizes=(8,), batch_size=32, epochs=15, tol=None, random_state=0
        ),
    )
    grid = {
        "mlpregressor__learning_rate": [1e-3, 3e-2],
        "mlpregressor__alpha": [0.0, 1e-2],
        "mlpregressor__dropout": [0.0, 0.2],
        "mlpregressor__input_dropout": [0.0, 0.1],
    }
    ours = GridSearchCV(pipe, grid, cv=CV, return_train_score=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(*diabetes)
    assert len(trainings) == 1  # the refit: every fold's fit came from a stack
    theirs = sk.GridSearchCV(pipe, grid, cv=CV, return_train_score=True)
    theirs.fit(*diabetes)
    assert_same_results(ours, theirs)
    assert ours.best_params_ == theirs.best_params_
    X = diabetes[0]
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.score(*diabetes) == theirs.score(*diabetes)


def test_groups_split_on_what_changes_shapes(diabetes, trainings):
    grid = {
        "hidden_layer_sizes": [(4,), (6, 3)],
        "batch_size": [16, None],
        "activation": ["relu", "tanh"],
        "learning_rate": [1e-2, 3e-2],
    }
    X = StandardScaler().fit_transform(diabetes[0])
    y = (diabetes[1] - diabetes[1].mean()) / diabetes[1].std()
    model = MLPRegressor(
        epochs=8, tol=None, random_state=3, optimizer="sgd", momentum=0.9, nesterov=True
    )
    ours, theirs = _both(
        GridSearchCV(model, grid, cv=CV, refit=False),
        sk.GridSearchCV(model, grid, cv=CV, refit=False),
        X,
        y,
    )
    assert_same_results(ours, theirs)
    assert len(trainings) == len(theirs.cv_results_["params"]) * 3  # theirs only


@pytest.mark.parametrize("activation", ["tanh", "logistic", "identity"])
def test_each_activation_stacks_with_dropout(diabetes, activation):
    X = StandardScaler().fit_transform(diabetes[0])
    model = MLPRegressor(
        hidden_layer_sizes=(6, 4), activation=activation, batch_size=16, epochs=5,
        tol=None, random_state=0,
    )  # fmt: skip
    grid = {"dropout": [0.0, 0.2], "learning_rate": [1e-3, 1e-2]}
    ours, theirs = _both(
        GridSearchCV(model, grid, cv=CV, refit=False),
        sk.GridSearchCV(model, grid, cv=CV, refit=False),
        X,
        diabetes[1],
    )
    assert_same_results(ours, theirs)


def test_diverging_candidates_get_error_score_as_in_scikit_learn(diabetes):
    X = StandardScaler().fit_transform(diabetes[0])
    model = GDRegressor(batch_size=8, epochs=20, tol=None, random_state=0)
    grid = {"learning_rate": [1e-2, 3.0, 30.0], "alpha": [0.0, 1e-3]}
    with pytest.warns(FitFailedWarning):
        ours = GridSearchCV(model, grid, cv=CV).fit(X, diabetes[1])
    theirs = sk.GridSearchCV(model, grid, cv=CV)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, diabetes[1])
    scores = theirs.cv_results_["mean_test_score"]
    assert np.isnan(scores).sum() >= 2 and np.isfinite(scores).sum() >= 2
    assert_same_results(ours, theirs)
    with pytest.raises(skgd.DivergenceError):
        GridSearchCV(model, {"learning_rate": [30.0]}, cv=CV, error_score="raise").fit(
            X, diabetes[1]
        )


def _fit_failed_warnings(search, X, y):
    """Fit ``search``; its FitFailedWarnings: the counts and the errors named.

    Their tracebacks, which name the files the fits ran in, are left out.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    return [
        [
            line
            for line in str(w.message).splitlines()
            if re.match(r"\d+ fits? failed|[\w.]+Error: ", line)
        ]
        for w in caught
        if issubclass(w.category, FitFailedWarning)
    ]


@pytest.mark.parametrize(
    ("make", "grid"),
    [
        (  # a group of its own, by a value no optimizer has
            lambda: GDRegressor(epochs=3, tol=None, random_state=0),
            {"optimizer": ["sgd", "momentum"]},
        ),
        (  # in the stacked group of the valid ones, by a refused number
            lambda: GDRegressor(epochs=3, tol=None, random_state=0),
            {"alpha": [0.0, -1.0, 1e-3]},
        ),
        (
            lambda: MLPClassifier((4,), epochs=3, tol=None, random_state=0),
            {"activation": ["relu", "bogus"], "learning_rate": [1e-3, 1e-2]},
        ),
        (  # refused by a step before the skgd estimator
            lambda: make_pipeline(
                StandardScaler(), GDRegressor(epochs=3, tol=None, random_state=0)
            ),
            {"standardscaler__with_mean": [True, "yes"]},
        ),
    ],
    ids=["group", "stacked", "mlp", "pipeline-step"],
)
def test_an_invalid_value_in_a_grid_is_a_failed_fit_as_in_scikit_learn(
    diabetes, make, grid
):
    X = StandardScaler().fit_transform(diabetes[0])
    y = diabetes[1] if "gdregressor" in repr(make()).lower() else diabetes[1] > 140
    ours, theirs = (
        GridSearchCV(make(), grid, cv=CV),
        sk.GridSearchCV(make(), grid, cv=CV),
    )
    # error_score=nan: NaN for the candidate, scikit-learn's warning, and on.
    warned = _fit_failed_warnings(ours, X, y)
    assert warned == _fit_failed_warnings(theirs, X, y)
    assert len(warned) == 1 and "InvalidParameterError: The '" in warned[0][-1]
    scores = theirs.cv_results_["mean_test_score"]
    assert np.isnan(scores).any() and np.isfinite(scores).any()
    assert_same_results(ours, theirs)
    # error_score="raise": scikit-learn's InvalidParameterError, as it raises it.
    from sklearn.utils._param_validation import InvalidParameterError

    errors = []
    for search in (GridSearchCV, sk.GridSearchCV):
        with pytest.raises(InvalidParameterError) as error:
            search(make(), grid, cv=CV, error_score="raise").fit(X, y)
        errors.append(str(error.value))
    assert errors[0] == errors[1]


@pytest.mark.parametrize(
    ("params", "grid"),
    [
        (dict(epochs=50), {"alpha": [0.0, 1e-3, 1e-2]}),
        (dict(epochs=20, optimizer="adam"), {"learning_rate": [0.1, 0.3, 1.0]}),
    ],
    ids=["sgd", "adam"],
)
def test_stacked_scores_agree_with_scikit_learn_s_to_the_documented_rounding(
    params, grid
):
    """What the docstring of the searches states: float64 to about 1e-15,
    float32 to below 1e-6, when no stopping decision is involved (tol=None).
    """
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = GDRegressor(tol=None, random_state=0, **params)
    for dtype, bound in [(np.float64, 1e-13), (np.float32, 2e-6)]:
        Xd, yd = X.astype(dtype), y.astype(dtype)
        ours = GridSearchCV(model, grid, cv=CV).fit(Xd, yd)
        theirs = sk.GridSearchCV(model, grid, cv=CV).fit(Xd, yd)
        assert ours.best_estimator_.coef_.dtype == dtype
        assert_same_results(ours, theirs, atol=bound)


def test_auto_step_and_invscaling_stack(diabetes):
    X = StandardScaler().fit_transform(diabetes[0])
    model = GDRegressor(
        batch_size=16, epochs=10, lr_schedule="invscaling", tol=None, random_state=0
    )
    grid = {
        "learning_rate": ["auto", 0.01],
        "power_t": [0.25, 0.5],
        "alpha": [0.0, 0.1],
        "momentum": [0.0, 0.5],
    }
    ours, theirs = _both(
        GridSearchCV(model, grid, cv=CV),
        sk.GridSearchCV(model, grid, cv=CV),
        X,
        diabetes[1],
    )
    assert_same_results(ours, theirs)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_averaged_candidates_stack_as_their_own_fits(diabetes, optimizer, trainings):
    # Averaging makes groups; within one, early stopping restores averaged
    # weights and candidates leave the stack at different epochs.
    X = StandardScaler().fit_transform(diabetes[0])
    model = GDRegressor(
        batch_size=16,
        epochs=30,
        optimizer=optimizer,
        early_stopping=True,
        n_iter_no_change=3,
        random_state=0,
    )
    grid = {
        "average": [True, False, "auto"],
        "alpha": [0.0, 0.1],
        "learning_rate": ["auto", 0.3],
    }
    ours, theirs = _both(
        GridSearchCV(model, grid, cv=CV),
        sk.GridSearchCV(model, grid, cv=CV),
        X,
        diabetes[1],
    )
    assert_same_results(ours, theirs)
    # scikit-learn's fits and the two refits: ours took every fit from a stack.
    assert len(trainings) == len(theirs.cv_results_["params"]) * 3 + 2


def test_early_stopping_and_tol_act_per_candidate(diabetes):
    X = StandardScaler().fit_transform(diabetes[0])
    y = (diabetes[1] - diabetes[1].mean()) / diabetes[1].std()
    model = MLPRegressor(
        hidden_layer_sizes=(8,),
        batch_size=16,
        epochs=60,
        n_iter_no_change=3,
        random_state=0,
    )
    grid = [
        {"early_stopping": [True], "learning_rate": [1e-3, 1e-2, 1e-1]},
        {
            "tol": [1e-2, 1e-4],
            "learning_rate": [1e-3, 1e-1],
            "lr_schedule": ["constant", "adaptive"],
        },
    ]
    ours, theirs = _both(
        GridSearchCV(model, grid, cv=CV, return_histories=True),
        sk.GridSearchCV(model, grid, cv=CV),
        X,
        y,
    )
    assert_same_results(ours, theirs)
    histories = ours.cv_results_["histories"]
    lengths = {len(history) for candidate in histories for history in candidate}
    assert len(lengths) > 2 and max(lengths) <= 60  # candidates stopped apart
    params = ours.cv_results_["params"][0]
    train, _ = next(CV.split(X))
    alone = MLPRegressor(**{**model.get_params(), **params}).fit(X[train], y[train])
    mine = histories[0][0]
    assert [r["epoch"] for r in mine] == [r["epoch"] for r in alone.history_]
    for key in ("train_loss", "val_loss", "val_r2", "learning_rate", "t"):
        np.testing.assert_allclose(
            [r[key] for r in mine], [r[key] for r in alone.history_], rtol=1e-12
        )


def test_classifiers_stack_class_weights_and_score_many_metrics():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = MLPClassifier(
        hidden_layer_sizes=(6,), batch_size=16, epochs=10, tol=None, random_state=0
    )
    grid = {
        "class_weight": [None, "balanced", {0: 1.0, 1: 3.0, 2: 1.0}],
        "learning_rate": [1e-3, 1e-2],
        "dropout": [0.0, 0.2],
    }
    scoring = {"accuracy": "accuracy", "log_loss": "neg_log_loss"}
    cv = sk.StratifiedKFold(3, shuffle=True, random_state=1)
    ours, theirs = _both(
        GridSearchCV(model, grid, cv=cv, scoring=scoring, refit="log_loss"),
        sk.GridSearchCV(model, grid, cv=cv, scoring=scoring, refit="log_loss"),
        X,
        y,
    )
    assert_same_results(ours, theirs)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X))


def test_linear_classifier_with_sample_weight_and_a_callable_scorer():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:300]
    y = np.where(y[:300], "benign", "malignant")
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    model = GDClassifier(batch_size=32, epochs=5, tol=None, random_state=0)
    grid = {
        "loss": ["log_loss", "hinge"],
        "alpha": [1e-4, 1e-2],
        "class_weight": [None, "balanced"],
        "learning_rate": ["auto", 0.1],
    }

    def balanced_accuracy(estimator, X, y):
        predicted = estimator.predict(X)
        return np.mean([np.mean(predicted[y == c] == c) for c in np.unique(y)])

    ours, theirs = _both(
        GridSearchCV(model, grid, cv=4, scoring=balanced_accuracy),
        sk.GridSearchCV(model, grid, cv=4, scoring=balanced_accuracy),
        X,
        y,
        sample_weight=weights,
    )
    assert_same_results(ours, theirs)


def test_randomized_search_samples_the_same_candidates(diabetes):
    pipe = make_pipeline(
        StandardScaler(),
        MLPRegressor(
            hidden_layer_sizes=(8,), batch_size=32, epochs=10, tol=None, random_state=0
        ),
    )
    distributions = {
        "mlpregressor__learning_rate": loguniform(1e-4, 1e-1),
        "mlpregressor__alpha": loguniform(1e-5, 1e-1),
        "mlpregressor__beta_1": [0.8, 0.9],
    }
    scorer = make_scorer(mean_absolute_error, greater_is_better=False)
    ours, theirs = _both(
        RandomizedSearchCV(
            pipe, distributions, n_iter=6, cv=CV, random_state=0, scoring=scorer
        ),
        sk.RandomizedSearchCV(
            pipe, distributions, n_iter=6, cv=CV, random_state=0, scoring=scorer
        ),
        *diabetes,
    )
    assert_same_results(ours, theirs)


def test_workers_and_chunks_give_the_same_results(diabetes, monkeypatch):
    X = StandardScaler().fit_transform(diabetes[0])
    model = MLPRegressor(
        hidden_layer_sizes=(4,), batch_size=32, epochs=5, tol=None, random_state=0
    )
    grid = {"learning_rate": [1e-3, 1e-2, 3e-2], "alpha": [0.0, 1e-3]}
    serial = GridSearchCV(model, grid, cv=CV, refit=False).fit(X, diabetes[1])
    workers = []
    joblib_parallel = skgd.model_selection._stacking.Parallel

    def spied(n_jobs=None, **kwargs):
        workers.append(n_jobs)
        return joblib_parallel(n_jobs=n_jobs, **kwargs)

    monkeypatch.setattr(skgd.model_selection._stacking, "Parallel", spied)
    parallel = GridSearchCV(model, grid, cv=CV, refit=False, n_jobs=2)
    parallel.fit(X, diabetes[1])
    assert workers == [2]  # the stacked runs, on two workers
    assert parallel.n_jobs == 2
    assert_same_results(parallel, serial, atol=0)
    runs = []
    train_group = skgd.engine.stack.train_group

    def counted(estimators, *args):
        runs.append(len(estimators))
        return train_group(estimators, *args)

    monkeypatch.setattr(skgd.model_selection._stacking, "train_group", counted)
    one_per_run = skgd.model_selection._stacking._candidate_bytes(model, X.shape[1])
    chunked = GridSearchCV(
        model, grid, cv=CV, refit=False, max_stack_bytes=2 * one_per_run
    )
    chunked.fit(X, diabetes[1])
    assert runs == [2] * 9  # 6 candidates in chunks of 2, on 3 folds
    assert_same_results(chunked, serial)


def test_another_estimator_falls_back_with_a_warning(diabetes):
    grid = {"alpha": [0.1, 1.0]}
    with pytest.warns(UserWarning, match="not an skgd estimator"):
        ours = GridSearchCV(Ridge(), grid, cv=CV).fit(*diabetes)
    theirs = sk.GridSearchCV(Ridge(), grid, cv=CV).fit(*diabetes)
    assert_same_results(ours, theirs, atol=0)


class _SignSGD(skgd._optimizers.SGD):
    """An optimizer of the registry's kind that the stacks do not implement."""

    def step(self, params, grads, lr):
        np.multiply(np.sign(grads), lr, grads)
        np.subtract(params, grads, params)


@pytest.mark.parametrize("estimator", [GDRegressor, MLPRegressor])
def test_an_optimizer_added_to_the_registry_trains_as_its_own_fit(
    diabetes, monkeypatch, estimator
):
    """The stacks know SGD and Adam only: a new optimizer's fits train alone."""
    monkeypatch.setitem(skgd._optimizers.OPTIMIZERS, "signsgd", _SignSGD)
    constraints = {
        **estimator._parameter_constraints,
        "optimizer": [StrOptions(set(skgd._optimizers.OPTIMIZERS))],
    }
    monkeypatch.setattr(estimator, "_parameter_constraints", constraints)
    model = estimator(optimizer="signsgd", epochs=4, tol=None, random_state=0)
    grid = {"learning_rate": [1e-3, 1e-2], "alpha": [0.0, 1e-2]}
    ours, theirs = _both(
        GridSearchCV(model, grid, cv=CV), sk.GridSearchCV(model, grid, cv=CV), *diabetes
    )
    assert_same_results(ours, theirs, atol=0)


def test_fits_that_cannot_stack_train_on_their_own(diabetes, trainings):
    X = StandardScaler().fit_transform(diabetes[0])
    model = GDRegressor(epochs=3, tol=None, random_state=np.random.RandomState(0))
    GridSearchCV(model, {"alpha": [0.0, 1.0]}, cv=CV, refit=False).fit(X, diabetes[1])
    assert len(trainings) == 6


def test_sparse_and_float32_data_stack(diabetes, trainings):
    X = StandardScaler().fit_transform(diabetes[0])
    X[np.abs(X) < 0.5] = 0.0
    model = GDRegressor(batch_size=16, epochs=5, tol=None, random_state=0)
    grid = {"learning_rate": [1e-3, 1e-2], "dropout": [0.0, 0.2]}
    for data in (sp.csr_matrix(X), X.astype(np.float32)):
        ours, theirs = _both(
            GridSearchCV(model, grid, cv=CV, refit=False),
            sk.GridSearchCV(model, grid, cv=CV, refit=False),
            data,
            diabetes[1],
        )
        assert_same_results(
            ours, theirs, atol=1e-9 if data.dtype == np.float64 else 1e-5
        )
    assert len(trainings) == 2 * 4 * 3  # scikit-learn's fits only


def test_no_random_state_stacks_with_one_draw_per_fold(diabetes, trainings):
    X = StandardScaler().fit_transform(diabetes[0])
    model = MLPRegressor(hidden_layer_sizes=(4,), epochs=3, tol=None)
    search = GridSearchCV(model, {"alpha": [0.0, 0.0]}, cv=CV, refit=False)
    search.fit(X, diabetes[1])
    assert not trainings  # stacked, though each fit alone would draw anew
    scores = search.cv_results_
    for i in range(3):  # one draw per fold: equal candidates, equal scores
        split = scores[f"split{i}_test_score"]
        assert split[0] == split[1]


@pytest.mark.skipif(
    not hasattr(sk.GridSearchCV, "set_callbacks"),
    reason="scikit-learn's callbacks arrived in 1.9",
)
def test_callbacks_on_the_search_hear_every_epoch(diabetes, trainings):
    from sklearn.callback import ProgressBar

    X = StandardScaler().fit_transform(diabetes[0])
    model = GDRegressor(epochs=2, tol=None, random_state=0)
    search = GridSearchCV(model, {"alpha": [0.0, 1.0]}, cv=CV, refit=False)
    search.set_callbacks(ProgressBar())
    search.fit(X, diabetes[1])
    assert len(trainings) == 6  # each fit trained on its own, epochs reported


def test_a_stacked_fit_continues_as_its_own_fit_would(diabetes):
    """The training state a stack leaves (optimizer, counters, generators)."""
    X = StandardScaler().fit_transform(diabetes[0])
    y = (diabetes[1] - diabetes[1].mean()) / diabetes[1].std()
    model = MLPRegressor(
        hidden_layer_sizes=(6, 4), batch_size=16, epochs=4, tol=None, random_state=0
    )
    grid = [{"dropout": (0.0, 0.3), "learning_rate": 1e-2}, {"dropout": 0.2}]
    candidates = [clone(model).set_params(**params) for params in grid]
    outcomes, _, _ = skgd.engine.stack.train_group(candidates, X, y)
    for candidate, outcome in zip(candidates, outcomes, strict=True):
        alone, stacked = clone(candidate).fit(X, y), outcome.take()
        assert stacked is candidate  # fitted in place
        for fitted in (alone, stacked):
            fitted.partial_fit(X, y)
        for got, want in zip(stacked.coefs_, alone.coefs_, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
        assert stacked.t_ == alone.t_ and stacked.n_iter_ == alone.n_iter_
        state, own = stacked._training_state, alone._training_state
        assert state["rng"].bit_generator.state == own["rng"].bit_generator.state
        assert [s.bit_generator.state for s in state["streams"]] == [
            s.bit_generator.state for s in own["streams"]
        ]


def test_candidates_differing_in_optimizer_numbers_share_the_first_preparation(
    diabetes,
):
    """A candidate that differs from an earlier one only in its optimizer's
    numbers takes that one's data, task and initial draws; others prepare
    their own. Either way each ends as its own fit does, held-out split
    included."""
    X = StandardScaler().fit_transform(diabetes[0])
    y = (diabetes[1] - diabetes[1].mean()) / diabetes[1].std()
    model = MLPRegressor(
        hidden_layer_sizes=(5,), batch_size=16, epochs=3, tol=None,
        early_stopping=True, random_state=0,
    )  # fmt: skip
    grid = [
        {"learning_rate": 1e-2},
        {"learning_rate": 3e-2, "alpha": 1e-3, "beta_1": 0.8},
        {"learning_rate": 3e-2, "dropout": 0.2},
        {"learning_rate": 1e-2, "dropout": 0.2, "momentum": 0.5},
    ]
    candidates = [clone(model).set_params(**params) for params in grid]
    group = skgd.engine.stack.stack_group([clone(c) for c in candidates], X, y)
    first, sibling, other, others = (
        group.runs[group.candidates.index(i)] for i in range(4)
    )
    assert sibling.source is first.source and sibling.net is not first.net
    assert other.source is not first.source and others.source is other.source
    outcomes, _, _ = skgd.engine.stack.train_group(candidates, X, y)
    for candidate, outcome in zip(candidates, outcomes, strict=True):
        alone, stacked = clone(candidate).fit(X, y), outcome.take()
        for got, want in zip(stacked.coefs_, alone.coefs_, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(
            stacked.validation_scores_, alone.validation_scores_, rtol=1e-12
        )
        state, own = stacked._training_state, alone._training_state
        assert state["rng"].bit_generator.state == own["rng"].bit_generator.state


def test_a_splitter_without_random_state_stacks_on_the_searchs_splits(
    diabetes, trainings
):
    """The stacked runs and scikit-learn's fits share the splits they were given."""
    X = StandardScaler().fit_transform(diabetes[0])
    model = GDRegressor(batch_size=16, epochs=3, tol=None, random_state=0)
    cv = sk.KFold(3, shuffle=True)  # splits anew each time it is asked
    search = GridSearchCV(model, {"alpha": [0.0, 1e-2]}, cv=cv, refit=False)
    search.fit(X, diabetes[1])
    assert not trainings  # every fit was stacked
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_the_fitted_search_holds_the_users_estimator(diabetes):
    X = StandardScaler().fit_transform(diabetes[0])
    model = GDRegressor(batch_size=16, epochs=3, tol=None, random_state=0)
    search = GridSearchCV(model, {"alpha": [0.0, 1e-2]}, cv=CV).fit(X, diabetes[1])
    assert search.estimator is model
    assert type(search.best_estimator_) is GDRegressor
    assert getattr(search.scorer_, "_estimator", model) is model
    assert not hasattr(search, "_stacking")
    restored = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(restored.predict(X), search.predict(X))


def test_the_warnings_of_stacked_fits_are_given_at_their_fits(diabetes):
    """Each stacked fit gives its own fit's warnings, in this process (with
    workers, too; scikit-learn's search, in one process, is the reference)."""
    X = StandardScaler().fit_transform(diabetes[0])
    model = GDRegressor(batch_size=16, epochs=2, tol=1e-9, random_state=0)
    grid = {"alpha": [0.0, 1e-2]}
    counts = []
    for search, n_jobs in ((GridSearchCV, 2), (sk.GridSearchCV, 1)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            search(model, grid, cv=CV, n_jobs=n_jobs).fit(X, diabetes[1])
        counts.append([str(w.message) for w in caught if "ran all" in str(w.message)])
    assert len(counts[0]) == 2 * 3 + 1  # every fit's and the refit's
    assert sorted(counts[0]) == sorted(counts[1])


def test_a_fit_out_of_scikit_learns_order_is_refused(diabetes):
    """A fit is never given another candidate's or split's stacked fit."""
    X, y = StandardScaler().fit_transform(diabetes[0]), diabetes[1]
    model = GDRegressor(batch_size=16, epochs=2, tol=None, random_state=0)
    search = GridSearchCV(model, {"alpha": [0.0, 1e-2]}, cv=CV)
    stacking = skgd.model_selection._stacking._Stacking(search, X, y, {})
    splits = stacking.train([{"alpha": 0.0}, {"alpha": 1e-2}], None)
    train = splits[0][0]
    with pytest.raises(RuntimeError, match="in order"):
        stacking.next_fit({"alpha": 1e-2}, X[train])  # candidate 0 comes first
    assert stacking.next_fit({"alpha": 0.0}, X[splits[1][0]]).take().alpha == 0.0


def test_the_warnings_of_checking_the_data_are_given_at_each_fit():
    """A stack checks its data once, but each fit gives the check's warnings."""
    X = np.random.default_rng(0).normal(size=(90, 3))
    y = (X[:, :1] > 0).astype(int)  # a column vector: a DataConversionWarning
    model = GDClassifier(epochs=2, tol=None, random_state=0)
    given = []
    for search in (GridSearchCV, sk.GridSearchCV):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            search(model, {"alpha": [0.0, 1e-3]}, cv=sk.KFold(3)).fit(X, y)
        given.append(sorted(str(w.message) for w in caught))
    assert len(given[0]) == 2 * 3 + 1  # each fit's and the refit's
    assert given[0] == given[1]
