"""GDClassifier and MLPClassifier against independent references."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgd import DivergenceError, GDClassifier, MLPClassifier
from skgd._activations import Activation
from skgd._layers import Dense, Dropout
from skgd._losses import Hinge, LogLoss, ModifiedHuber, SoftmaxLogLoss
from skgd._network import Network
from skgd.engine.trainer import Objective

EXACT = dict(tol=None, random_state=0)


def _rel_error(a, b):
    return np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b))


def _data(n_classes, n=200, d=4, seed=0):
    """A noisy linear problem: X (n, d), labels 0..n_classes-1."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    W = rng.normal(size=(d, n_classes))
    y = np.argmax(X @ W + rng.gumbel(size=(n, n_classes)), axis=1)
    return X, y


# -- the linear optimum ---------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_full_batch_log_loss_converges_to_logistic_regression(n_classes, weighted):
    X, y = _data(n_classes)
    sw = np.random.default_rng(1).uniform(0.2, 3.0, len(y)) if weighted else None
    alpha = 0.01
    total = len(y) if sw is None else sw.sum()
    reference = LogisticRegression(C=1 / (total * alpha), tol=1e-12, max_iter=10_000)
    reference.fit(X, y, sample_weight=sw)
    gd = GDClassifier(batch_size=None, alpha=alpha, epochs=1500, **EXACT)
    gd.fit(X, y, sample_weight=sw)
    assert gd.coef_.shape == reference.coef_.shape
    assert gd.intercept_.shape == reference.intercept_.shape
    assert _rel_error(gd.coef_, reference.coef_) < 1e-5
    assert _rel_error(gd.intercept_, reference.intercept_) < 1e-5
    assert _rel_error(gd.predict_proba(X), reference.predict_proba(X)) < 1e-5


def test_class_weight_multiplies_the_sample_weights():
    X, y = _data(3)
    cw = {0: 3.0, 2: 0.5}  # class 1 weighs 1
    sw = np.random.default_rng(2).uniform(0.5, 2.0, len(y))
    common = dict(batch_size=None, alpha=0.01, epochs=1500, **EXACT)
    weighted = GDClassifier(class_weight=cw, **common).fit(X, y, sample_weight=sw)
    per_sample = np.array([3.0, 1.0, 0.5])[y] * sw
    by_hand = GDClassifier(**common).fit(X, y, sample_weight=per_sample)
    np.testing.assert_allclose(weighted.coef_, by_hand.coef_, rtol=1e-12)
    reference = LogisticRegression(
        C=1 / (per_sample.sum() * 0.01), class_weight=cw, tol=1e-12, max_iter=10_000
    ).fit(X, y, sample_weight=sw)
    assert _rel_error(weighted.coef_, reference.coef_) < 1e-5


def test_balanced_class_weight_is_scikit_learns_rule():
    X, y = _data(3)
    y[:150] = 0  # imbalanced
    counts = np.bincount(y)
    common = dict(batch_size=None, alpha=0.01, epochs=300, **EXACT)
    balanced = GDClassifier(class_weight="balanced", **common).fit(X, y)
    per_sample = (len(y) / (3 * counts))[y]
    by_hand = GDClassifier(**common).fit(X, y, sample_weight=per_sample)
    np.testing.assert_allclose(balanced.coef_, by_hand.coef_, rtol=1e-12)
    # With sample weights, the counts are weighted: 2 is the same as a repeat.
    sw = np.where(np.arange(len(y)) % 2, 2.0, 1.0)
    weighted = GDClassifier(class_weight="balanced", **common).fit(X, y, sw)
    repeated = np.repeat(np.arange(len(y)), sw.astype(int))
    same = GDClassifier(class_weight="balanced", **common).fit(X[repeated], y[repeated])
    np.testing.assert_allclose(weighted.coef_, same.coef_, rtol=1e-9)


# -- one step by hand -----------------------------------------------------------------

ACTIVATIONS = {
    "relu": (lambda a: np.maximum(a, 0), lambda h: (h > 0).astype(float)),
    "tanh": (np.tanh, lambda h: 1 - h**2),
    "logistic": (expit, lambda h: h * (1 - h)),
    "identity": (lambda a: a, lambda h: np.ones_like(h)),
}


def _hand_step(X, Y, weights, activation, alpha, lr):
    """One full-batch SGD step on mean cross-entropy + (alpha/2) sum ||W||^2."""
    act, act_grad = ACTIVATIONS[activation]
    hs = [X]
    for W, b in weights[:-1]:
        hs.append(act(hs[-1] @ W + b))
    z = hs[-1] @ weights[-1][0] + weights[-1][1]
    p = expit(z) if z.shape[1] == 1 else softmax(z, axis=1)
    delta = (p - Y) / len(X)  # d J / d z
    new = []
    for k in range(len(weights) - 1, -1, -1):
        W, b = weights[k]
        gW, gb = hs[k].T @ delta + alpha * W, delta.sum(axis=0)
        if k:
            delta = (delta @ W.T) * act_grad(hs[k])
        new.append((W - lr * gW, b - lr * gb))
    return new[::-1]


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("n_classes", [2, 4])
def test_one_full_batch_sgd_step_is_the_hand_computed_gradient_step(
    activation, n_classes
):
    X, y = _data(n_classes, n=30, d=3)
    kw = dict(hidden_layer_sizes=(5, 4), activation=activation, batch_size=None)
    net = MLPClassifier(optimizer="sgd", learning_rate=0.3, alpha=0.2, epochs=1, **kw)
    net.set_params(**EXACT).fit(X, y)
    rng = np.random.default_rng(3)
    net.coefs_ = [rng.normal(size=W.shape) for W in net.coefs_]  # assigned by hand
    net.intercepts_ = [rng.normal(size=b.shape) for b in net.intercepts_]
    before = list(zip(net.coefs_, net.intercepts_))
    net.set_params(warm_start=True).fit(X, y)
    Y = (y[:, None] == 1) if n_classes == 2 else np.eye(n_classes)[y]
    expected = _hand_step(X, Y.astype(float), before, activation, 0.2, 0.3)
    for (W, b), W_fit, b_fit in zip(expected, net.coefs_, net.intercepts_):
        np.testing.assert_allclose(W_fit, W, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b_fit, b, rtol=1e-9, atol=1e-12)


# -- gradients against finite differences -------------------------------------------

LOSSES = {
    "log_loss (binary)": (LogLoss, 1),
    "log_loss (multilabel)": (LogLoss, 3),
    "log_loss (softmax)": (SoftmaxLogLoss, 3),
    "hinge": (Hinge, 3),
    "modified_huber": (ModifiedHuber, 3),
}


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_classification_gradients_match_finite_differences(
    loss, activation, weighted, rng, check_gradient
):
    make_loss, k = LOSSES[loss]
    layers = [Dropout(0.2), Dense(4, 5), Activation(activation), Dropout(0.3, 1)]
    net = Network([*layers, Dense(5, k)], 4, np.float64)
    net.params[:] = rng.normal(size=net.params.shape)
    X = rng.normal(size=(9, 4))
    labels = rng.integers(0, k, 9) if k > 1 else rng.integers(0, 2, 9)
    indicator = np.eye(max(k, 2))[labels][:, -k:] if k > 1 else labels[:, None]
    if loss == "log_loss (multilabel)":
        indicator = rng.integers(0, 2, (9, k))
    c = rng.uniform(0, 2, size=(9, 1)) / 9 if weighted else 1.0 / 9
    loss_object = make_loss()
    Y = loss_object.encode(indicator.astype(float))
    # The hinge has kinks where a margin is 1: random parameters put none of
    # them within the step of the differences (or this would fail).
    check_gradient(net, Objective(loss_object, 0.3), X, Y, c, seed=7)


# -- labels, probabilities, shapes --------------------------------------------------


def test_string_labels_are_classes_and_predictions():
    X, y = _data(3)
    labels = np.array(["cat", "dog", "eel"])[y]
    est = GDClassifier(epochs=20, **EXACT).fit(X, labels)
    assert est.classes_.tolist() == ["cat", "dog", "eel"]
    assert set(est.predict(X)) <= {"cat", "dog", "eel"}
    codes = GDClassifier(epochs=20, **EXACT).fit(X, y)
    np.testing.assert_array_equal(est.coef_, codes.coef_)
    assert est.score(X, labels) == codes.score(X, y)


@pytest.mark.parametrize("loss", ["log_loss", "modified_huber", "hinge"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_decision_function_and_probabilities(loss, n_classes):
    X, y = _data(n_classes)
    est = GDClassifier(loss=loss, epochs=20, **EXACT).fit(X, y)
    z = est.decision_function(X)
    assert z.shape == ((len(y),) if n_classes == 2 else (len(y), n_classes))
    np.testing.assert_allclose(z, np.squeeze(X @ est.coef_.T + est.intercept_))
    expected_labels = (z > 0).astype(int) if n_classes == 2 else np.argmax(z, axis=1)
    np.testing.assert_array_equal(est.predict(X), expected_labels)
    if loss == "hinge":
        assert not hasattr(est, "predict_proba")
        with pytest.raises(AttributeError, match="no attribute") as error:
            est.predict_proba(X)
        assert "loss='hinge'" in str(error.value.__cause__)
        return
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    Z = z[:, None] if n_classes == 2 else z
    if loss == "log_loss":
        expected = expit(Z) if n_classes == 2 else softmax(Z, axis=1)
    else:  # scikit-learn's SGDClassifier rule
        expected = (np.clip(Z, -1, 1) + 1) / 2
        if n_classes > 2:
            sums = expected.sum(axis=1, keepdims=True)
            expected = np.where(
                sums == 0, 1 / n_classes, expected / np.where(sums, sums, 1)
            )
    if n_classes == 2:
        expected = np.hstack([1 - expected, expected])
    np.testing.assert_allclose(proba, expected, rtol=1e-12)
    with np.errstate(divide="ignore"):  # modified_huber gives zeros
        np.testing.assert_allclose(est.predict_log_proba(X), np.log(proba))


def test_mlp_classifier_attributes_follow_scikit_learn():
    X, y = _data(3)
    net = MLPClassifier((6,), epochs=5, **EXACT).fit(X, y)
    assert net.out_activation_ == "softmax" and net.n_outputs_ == 3
    assert [W.shape for W in net.coefs_] == [(4, 6), (6, 3)]
    assert net.n_layers_ == 3
    binary = MLPClassifier((6,), epochs=5, **EXACT).fit(X, y == 1)
    assert binary.out_activation_ == "logistic" and binary.n_outputs_ == 1
    assert binary.classes_.tolist() == [False, True]


def test_multilabel_targets_get_independent_logistic_outputs():
    X, _ = _data(4, n=300)
    Y = np.c_[X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] > 0.5].astype(int)
    net = MLPClassifier((16,), learning_rate=0.01, epochs=60, **EXACT).fit(X, Y)
    assert net.out_activation_ == "logistic" and net.n_outputs_ == 3
    np.testing.assert_array_equal(net.classes_, [0, 1, 2])
    proba = net.predict_proba(X)
    assert proba.shape == (300, 3)
    np.testing.assert_array_equal(net.predict(X), (proba > 0.5).astype(int))
    assert net.score(X, Y) > 0.9  # whole label sets right
    with pytest.raises(ValueError, match=r"multilabel.*MLPClassifier"):
        GDClassifier().fit(X, Y)
    with pytest.raises(ValueError, match="class_weight is not defined for multilabel"):
        MLPClassifier(class_weight="balanced").fit(X, Y)
    with pytest.raises(ValueError, match="fitted on multilabel targets and is given"):
        net.partial_fit(X, Y[:, 0])


@pytest.mark.parametrize("Est", [GDClassifier, MLPClassifier])
def test_sparse_and_float32_input(Est):
    X, y = _data(3)
    X = np.where(np.abs(X) > 0.5, X, 0.0)
    dense = Est(epochs=5, **EXACT).fit(X, y)
    sparse = Est(epochs=5, **EXACT).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), rtol=1e-10
    )
    small = Est(epochs=5, **EXACT).fit(X.astype(np.float32), y)
    assert small.predict_proba(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(
        small.predict_proba(X), dense.predict_proba(X), atol=1e-4
    )


# -- training: history, early stopping, the held-out split -------------------------


def test_history_records_validation_loss_and_accuracy():
    X, y = _data(3, n=400)
    est = GDClassifier(epochs=5, validation_fraction=0.25, **EXACT).fit(X, y)
    assert set(est.history_[0]) >= {"train_loss", "val_loss", "val_accuracy"}
    assert est.validation_scores_ == [r["val_accuracy"] for r in est.history_]
    assert all(0 <= s <= 1 for s in est.validation_scores_)


@pytest.mark.parametrize("Est", [GDClassifier, MLPClassifier])
def test_early_stopping_restores_the_epoch_of_lowest_validation_loss(Est):
    X, y = _data(3, n=300)
    kw = dict(learning_rate=0.3, epochs=60, n_iter_no_change=5, random_state=0)
    if Est is MLPClassifier:
        kw.update(hidden_layer_sizes=(64,), learning_rate=0.05)
    est = Est(early_stopping=True, tol=0.0, **kw).fit(X, y)
    losses = [r["val_loss"] for r in est.history_]
    best = int(np.argmin(losses)) + 1
    assert est.n_iter_ > best  # it went past the best epoch, then restored it
    replay = Est(validation_fraction=0.1, tol=None, **{**kw, "epochs": best}).fit(X, y)
    np.testing.assert_array_equal(
        est.predict_proba(X), replay.predict_proba(X)
    )  # the same split and steps up to the best epoch
    assert est.best_validation_score_ == est.history_[best - 1]["val_accuracy"]


def test_the_held_out_split_is_stratified():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = np.r_[np.zeros(97, int), np.ones(3, int)]  # a rare class of 3
    for seed in range(10):
        est = GDClassifier(epochs=1, early_stopping=True, random_state=seed, tol=None)
        est.fit(X, y)  # with a random split, 10 rows would often miss class 1
        val_loss = est.history_[0]["val_loss"]
        assert np.isfinite(val_loss)
    X1 = np.r_[X, rng.normal(size=(1, 2))]
    y1 = np.r_[y, 2]  # a class of one sample cannot be on both sides
    with pytest.raises(ValueError, match="rarest class has 1 sample"):
        GDClassifier(early_stopping=True).fit(X1, y1)


# -- partial_fit ---------------------------------------------------------------------


@pytest.mark.parametrize("Est", [GDClassifier, MLPClassifier])
def test_partial_fit_follows_scikit_learns_classes_convention(Est):
    X, y = _data(3)
    est = Est(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        est.partial_fit(X, y)
    assert not hasattr(est, "classes_")
    first = y < 2  # a chunk without class 2
    est.partial_fit(X[first], y[first], classes=[0, 1, 2])
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    est.partial_fit(X, y)  # classes are known now
    est.partial_fit(X, y, classes=[2, 1, 0])  # the same classes, in any order
    with pytest.raises(ValueError, match="differs from the classes_"):
        est.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"labels \[7\] that are not in classes"):
        est.partial_fit(X, np.where(y == 2, 7, y))
    assert est.n_iter_ == 3


def test_partial_fit_one_epoch_at_a_time_is_fit():
    X, y = _data(3)
    kw = dict(learning_rate=0.1, shuffle=False, random_state=0)
    fitted = GDClassifier(epochs=3, tol=None, **kw).fit(X, y)
    stepped = GDClassifier(**kw)
    for _ in range(3):
        stepped.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_array_equal(stepped.coef_, fitted.coef_)


@pytest.mark.parametrize("make", [GDClassifier, MLPClassifier])
def test_partial_fit_is_not_available_with_balanced_class_weight(make):
    # As scikit-learn's SGDClassifier refuses it: a call sees only part of the
    # data. Unavailable, so scikit-learn's checks and tools see no partial_fit.
    X, y = _data(3)
    est = make(class_weight="balanced", epochs=3, tol=None)
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError, match="not available with class_weight='ba"):
        est.partial_fit(X, y, classes=[0, 1, 2])
    assert not hasattr(est, "n_iter_")  # nothing was fitted
    # Also after a fit, and the message says what to do instead.
    est.fit(X, y)
    with pytest.raises(AttributeError, match="compute_class_weight"):
        est.partial_fit(X, y)
    # The weights it names, passed as a dict, are what fit balances with.
    from sklearn.utils.class_weight import compute_class_weight

    weights = compute_class_weight("balanced", classes=np.arange(3), y=y)
    kw = dict(learning_rate=0.1, shuffle=False, random_state=0)
    stepped = make(class_weight=dict(enumerate(weights)), **kw)
    stepped.partial_fit(X, y, classes=[0, 1, 2])
    by_hand = make(**kw).partial_fit(X, y, classes=[0, 1, 2], sample_weight=weights[y])
    np.testing.assert_allclose(
        stepped.predict_proba(X), by_hand.predict_proba(X), rtol=1e-12
    )
    # class_weight=None, or a dict, leaves partial_fit available.
    assert hasattr(make(), "partial_fit")


# -- errors, persistence, scikit-learn tools -------------------------------------


def test_bad_targets_get_clear_errors():
    X, y = _data(2)
    with pytest.raises(ValueError, match="Unknown label type"):
        GDClassifier().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="only one class"):
        GDClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="must map labels among the classes"):
        GDClassifier(class_weight={5: 1.0}).fit(X, y)
    with pytest.raises(ValueError, match="finite non-negative"):
        GDClassifier(class_weight={0: -1.0}).fit(X, y)
    est = GDClassifier(epochs=2, **EXACT).fit(X, y)
    with pytest.raises(ValueError, match="not in classes"):
        est.set_params(warm_start=True).fit(X, np.where(y, 5, 0))


def test_divergence_raises_and_keeps_the_previous_model():
    X, y = _data(3)
    est = GDClassifier(epochs=3, **EXACT).fit(X, y)
    coef = est.coef_.copy()
    with pytest.raises(DivergenceError, match="Training diverged"):
        est.set_params(learning_rate=1e12, warm_start=True).fit(X * 100, y)
    np.testing.assert_array_equal(est.coef_, coef)


@pytest.mark.parametrize("Est", [GDClassifier, MLPClassifier])
def test_a_pickle_predicts_the_same(Est):
    X, y = _data(3)
    est = Est(epochs=3, **EXACT).fit(X, np.array(["a", "b", "c"])[y])
    copy = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(copy.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(copy.predict(X), est.predict(X))


def test_search_and_cross_validation_use_accuracy_and_stratified_folds():
    X, y = _data(3, n=300)
    pipe = make_pipeline(StandardScaler(), GDClassifier(epochs=20, **EXACT))
    search = GridSearchCV(pipe, {"gdclassifier__alpha": [0.0, 0.1]}, cv=3)
    search.fit(X, y)
    manual = cross_validate(
        clone(pipe).set_params(
            gdclassifier__alpha=search.best_params_["gdclassifier__alpha"]
        ),
        X,
        y,
        cv=3,
    )
    assert search.best_score_ == pytest.approx(manual["test_score"].mean())
    assert 0.5 < search.best_score_ <= 1.0


@pytest.mark.parametrize("Est", [GDClassifier, MLPClassifier])
def test_a_stream_of_chunks_trains_exactly_like_fit(Est):
    X, y = _data(3, n=120)
    kw = dict(batch_size=16, learning_rate=0.05, shuffle=False, random_state=0)
    fitted = Est(epochs=2, tol=None, **kw).fit(X, y)
    streamed = Est(epoch_size=len(y), **kw)
    rows = np.tile(np.arange(len(y)), 2)
    for k, chunk in enumerate(np.array_split(rows, 7)):
        streamed.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2] if k == 0 else None)
    np.testing.assert_array_equal(streamed.predict_proba(X), fitted.predict_proba(X))
    assert streamed.n_iter_ == 2 and streamed.t_ == fitted.t_


def test_scikit_learn_callbacks_score_classifiers_per_epoch():
    callback = pytest.importorskip("sklearn.callback")
    X, y = _data(3)
    monitor = callback.ScoringMonitor(scoring="accuracy")
    est = GDClassifier(epochs=4, **EXACT).set_callbacks(monitor).fit(X, y)
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    assert len(rows) == est.n_iter_ == 4
    for k, row in enumerate(rows, start=1):
        stopped = GDClassifier(epochs=k, **EXACT).fit(X, y)
        assert row["accuracy"] == stopped.score(X, y)
