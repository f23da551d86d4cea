"""Ctrl-C during training ends it cleanly; other failures change nothing."""

import _thread
import pickle
import signal
import threading

import numpy as np
import pytest
from sklearn.base import is_classifier

import skgd._base
import skgd._optimizers
import skgd.engine.callbacks
import skgd.engine.session
from skgd import GDClassifier, GDRegressor, MLPClassifier, MLPRegressor
from skgd.engine.fused import StackedLinearEpochs
from skgd.engine.stack.optimizer import StackedOptimizer, _OwnOptimizer
from skgd.engine.stack.run import Trainer

KW = dict(tol=None, random_state=0)


def _params(model):
    if hasattr(model, "coef_"):
        return [model.coef_, np.atleast_1d(model.intercept_)]
    return model.coefs_ + model.intercepts_


def _assert_same_model(a, b):
    for x, y in zip(_params(a), _params(b)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: GDRegressor(batch_size=8, **kw),
        lambda **kw: MLPRegressor((8,), batch_size=8, dropout=0.2, **kw),
        lambda **kw: GDClassifier(batch_size=8, **kw),
        lambda **kw: MLPClassifier((8,), batch_size=8, dropout=0.2, **kw),
    ],
    ids=["GDRegressor", "MLPRegressor", "GDClassifier", "MLPClassifier"],
)
def test_an_interrupt_after_an_epoch_keeps_that_epoch(make, linear_data, monkeypatch):
    X, y = linear_data
    if is_classifier(make()):
        y = y > np.median(y)

    def interrupt_in_epoch_3(record):
        if record["epoch"] == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(skgd.engine.callbacks, "print_record", interrupt_in_epoch_3)
    with pytest.warns(UserWarning, match="interrupted after 3 complete epochs"):
        model = make(epochs=50, verbose=1, **KW).fit(X, y)
    assert model.n_iter_ == 3 and len(model.history_) == 3
    _assert_same_model(model, make(epochs=3, **KW).fit(X, y))


def test_ctrl_c_mid_epoch_keeps_the_last_complete_epoch(
    rng, default_sigint, time_limit
):
    # A real SIGINT from a timer thread, while fit runs for much longer.
    X = rng.normal(size=(2000, 5))
    y = X @ rng.normal(size=5)
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    try:
        with time_limit(120), pytest.warns(UserWarning, match="interrupted"):
            model = GDRegressor(batch_size=1, epochs=100_000, **KW).fit(X, y)
    finally:
        timer.cancel()
        timer.join()
    done = model.n_iter_
    assert 0 < done < 100_000 and len(model.history_) == done
    assert model.t_ == done * 2000  # no update of the broken epoch is kept
    _assert_same_model(model, GDRegressor(batch_size=1, epochs=done, **KW).fit(X, y))


def test_an_interrupt_with_early_stopping_keeps_the_best_epoch(
    linear_data, monkeypatch
):
    X, y = linear_data

    def interrupt_in_epoch_6(record):
        if record["epoch"] == 6:
            raise KeyboardInterrupt

    monkeypatch.setattr(skgd.engine.callbacks, "print_record", interrupt_in_epoch_6)
    kw = dict(learning_rate=0.5, early_stopping=True, **KW)  # a noisy, large step
    with pytest.warns(UserWarning, match="interrupted"):
        model = GDRegressor(epochs=50, verbose=1, **kw).fit(X, y)
    losses = [r["val_loss"] for r in model.history_]
    best = int(np.argmin(losses)) + 1
    _assert_same_model(model, GDRegressor(epochs=best, **kw).fit(X, y))


def _before_updates(monkeypatch, hook):
    """Call ``hook(k)`` before the parameter updates, ``k`` counting them.

    A step of the stack's optimizer calls it before each update; a fused
    pass of a linear model (``skgd.engine.fused``), which makes all the
    updates of a pass in one compiled call, calls it once before the pass,
    with ``k`` the count at the pass's last update.
    """
    calls = [0]
    for owner in (StackedOptimizer, _OwnOptimizer):

        def step(self, *args, original=owner.step):
            calls[0] += 1
            hook(calls[0])
            return original(self, *args)

        monkeypatch.setattr(owner, "step", step)
    original_pass = StackedLinearEpochs.train_pass

    def train_pass(self, part, totals):
        calls[0] += -(-len(part.row_order()) // part.size)  # its batches
        hook(calls[0])
        return original_pass(self, part, totals)

    monkeypatch.setattr(StackedLinearEpochs, "train_pass", train_pass)


def _fail_on_update(monkeypatch, n, error):
    """Raise ``error`` before the ``n``-th parameter update (or its pass)."""

    def fail(k):
        if k >= n:
            raise error

    _before_updates(monkeypatch, fail)


def _generator_states(model):
    state = model._training_state
    return [g.bit_generator.state for g in [state["rng"], *state["streams"]]]


def test_an_interrupt_mid_epoch_rolls_the_dropout_streams_back(
    linear_data, monkeypatch
):
    X, y = linear_data  # 200 rows: 25 updates an epoch
    make = lambda **kw: MLPRegressor(  # noqa: E731
        (8, 8), batch_size=8, dropout=(0.2, 0.3), input_dropout=0.1, **KW, **kw
    )
    _fail_on_update(monkeypatch, 2 * 25 + 10, KeyboardInterrupt())
    with pytest.warns(UserWarning, match="interrupted after 2 complete epochs"):
        model = make(epochs=5).fit(X, y)
    monkeypatch.undo()
    reference = make(epochs=2).fit(X, y)
    assert model.n_iter_ == 2 and model.t_ == 50
    assert len(model._training_state["streams"]) == 3
    assert _generator_states(model) == _generator_states(reference)
    _assert_same_model(model, reference)
    # Going on draws the masks an uninterrupted fit draws.
    model.partial_fit(X, y)
    _assert_same_model(model, make(epochs=3).fit(X, y))


@pytest.mark.parametrize("error", [KeyboardInterrupt(), RuntimeError("boom")])
def test_partial_fit_interrupted_halfway_resumes_from_the_last_commit(
    linear_data, monkeypatch, error
):
    X, y = linear_data
    kw = dict(batch_size=10, momentum=0.9, **KW)
    model = GDRegressor(**kw).partial_fit(X, y)
    reference = GDRegressor(**kw).partial_fit(X, y).partial_fit(X, y)
    before = pickle.dumps(model)
    _fail_on_update(monkeypatch, 7, error)
    with pytest.raises(type(error)):
        model.partial_fit(X, y)
    monkeypatch.undo()
    assert pickle.dumps(model) == before
    model.partial_fit(X, y)
    _assert_same_model(model, reference)


def test_an_error_in_a_warm_fit_leaves_the_fitted_model_as_it_was(
    linear_data, monkeypatch
):
    X, y = linear_data
    model = MLPRegressor((6,), epochs=2, warm_start=True, **KW).fit(X, y)
    before = pickle.dumps(model)
    _fail_on_update(monkeypatch, 2, RuntimeError("disk full"))  # one batch an epoch
    with pytest.raises(RuntimeError, match="disk full"):
        model.fit(X, y)
    assert pickle.dumps(model) == before


def test_an_interrupt_in_the_first_epoch_keeps_the_starting_weights(
    linear_data, monkeypatch, default_sigint
):
    X, y = linear_data
    validated = []
    # Ctrl-C in the first update (or the first fused pass)
    _before_updates(monkeypatch, lambda k: signal.raise_signal(signal.SIGINT))
    monkeypatch.setattr(Trainer, "_validate", lambda self, *args: validated.append(1))
    with pytest.warns(UserWarning, match="0 complete epochs.*started this call with"):
        model = GDRegressor(validation_fraction=0.2, **KW).fit(X, y)
    assert model.history_ == [] and model.n_iter_ == model.t_ == 0
    assert not model.coef_.any() and not validated  # no score for a broken epoch


def test_a_program_that_ignores_ctrl_c_keeps_ignoring_it_in_fit(
    linear_data, monkeypatch, default_sigint
):
    X, y = linear_data
    seen = []
    _before_updates(monkeypatch, lambda k: seen.append(signal.getsignal(signal.SIGINT)))
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        GDRegressor(epochs=1, **KW).fit(X, y)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen and all(handler is signal.SIG_IGN for handler in seen)
    GDRegressor(epochs=1, **KW).fit(X, y)  # otherwise fit handles it itself
    assert seen[-1] is not signal.SIG_IGN and seen[-1] is not previous


def test_the_interrupted_warning_is_a_public_class(linear_data, monkeypatch):
    import warnings

    from skgd import FitInterruptedWarning

    X, y = linear_data

    def interrupt(record):
        raise KeyboardInterrupt

    monkeypatch.setattr(skgd.engine.callbacks, "print_record", interrupt)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitInterruptedWarning)  # as a caller may
        with pytest.raises(FitInterruptedWarning, match="interrupted after 1"):
            GDRegressor(epochs=5, verbose=1, **KW).fit(X, y)
