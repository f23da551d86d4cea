from skgd._callbacks import Plateau
from skgd._history import curve


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
