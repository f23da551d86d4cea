import numpy as np

from skgd._history import curve
from skgd.engine.callbacks import Plateau


def test_plateau_counts_epochs_without_improvement():
    plateau = Plateau(tol=0.1, patience=2)
    assert plateau.update(1.0) is False  # first value always improves
    assert plateau.update(0.95) is False  # not by tol: 1 epoch without
    assert plateau.update(0.92) is True  # 2 epochs without: plateau
    assert plateau.update(0.5) is False  # counting starts again
    assert plateau.best == 0.5


def test_plateau_with_zero_tolerance_needs_a_strict_decrease():
    plateau = Plateau(tol=0.0, patience=1)
    assert plateau.update(1.0) is False
    assert plateau.update(1.0) is True
    assert plateau.update(0.9) is False


def test_curve_skips_records_without_the_key():
    history = [{"a": 1}, {"a": 2, "b": 3}]
    assert curve(history, "a") == [1, 2]
    assert curve(history, "b") == [3]


def test_plateau_judges_progress_over_the_window_relative_to_the_loss():
    # Each epoch improves by 2e-5 of the loss: below tol=1e-4 every epoch,
    # but 2e-4 over a window of 10, so the descent goes on, at any scale.
    for scale in (1e-6, 1.0, 1e6):
        plateau = Plateau(tol=1e-4, patience=10)
        losses = scale * (1 - 2e-5) ** np.arange(200)
        assert not any(plateau.update(loss) for loss in losses)
    # At 5e-6 per epoch the window's progress (5e-5) is below tol: a plateau
    # once the first window is full.
    plateau = Plateau(tol=1e-4, patience=10)
    stops = [plateau.update(loss) for loss in (1 - 5e-6) ** np.arange(25)]
    assert stops.index(True) == 10 and stops.count(True) == 2  # then anew


def test_plateau_never_with_infinite_patience():
    plateau = Plateau(tol=0.5, patience=np.inf)
    assert not any(plateau.update(1.0) for _ in range(100))


def test_losses_without_noise_must_also_settle():
    # A decaying swing, as Adam's at full batch: the lowest loss stays put for
    # more than a window while the losses still swing well above it.
    epochs = np.arange(2000)
    swing = 1.0 + 0.9 * np.cos(2 * np.pi * epochs / 20)
    losses = 1.0 + np.exp(-epochs / 60.0) * swing
    stops = {}
    for settled in (False, True):
        plateau = Plateau(tol=1e-4, patience=10, settled=settled)
        stops[settled] = next(
            e for e, loss in enumerate(losses) if plateau.update(loss)
        )
    assert losses[stops[False]] > 2.0  # stopped in mid swing
    assert losses[stops[True]] < 1.0 + 2e-4  # once the swings died down
    # Losses that settle as they stop falling reach the plateau as before.
    plateau = Plateau(tol=1e-4, patience=10, settled=True)
    stops = [plateau.update(loss) for loss in (1 - 5e-6) ** np.arange(25)]
    assert stops.index(True) == 10
