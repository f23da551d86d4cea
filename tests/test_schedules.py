import itertools
import math

import pytest

from skgd._schedules import Adaptive, Constant, Cosine, InvScaling, make_schedule


def test_constant():
    schedule = Constant(0.1)
    assert [schedule(t, t // 3) for t in range(10)] == [0.1] * 10
    assert schedule.reduce() is False


def test_invscaling_decays_with_every_update():
    schedule = InvScaling(0.1, power_t=0.5)
    assert schedule(0, 0) == pytest.approx(0.1)
    assert schedule(3, 0) == pytest.approx(0.1 / 2)
    assert schedule(99, 5) == pytest.approx(0.01)


def test_invscaling_underflows_instead_of_overflowing():
    # (t + 1) ** 60 overflows a float after about 137,000 updates.
    schedule = InvScaling(0.1, power_t=60.0)
    assert 0.0 <= schedule(200_000, 0) < 1e-300
    assert schedule(0, 0) == 0.1


def test_cosine_decays_over_epochs_and_restarts():
    schedule = Cosine(0.2, epochs=4)
    values = [schedule(123, e) for e in range(5)]
    expected = [0.2 * 0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(4)]
    assert values[:4] == pytest.approx(expected)
    assert values[2] == pytest.approx(0.1)
    assert values[4] == pytest.approx(0.2)  # a new cycle
    assert all(a > b for a, b in itertools.pairwise(values[:4]))


def test_adaptive_divides_by_five_until_the_floor():
    schedule = Adaptive(1.0, min_ratio=1e-2)
    assert schedule(0, 0) == 1.0
    assert schedule.reduce() is True
    assert schedule(10, 1) == pytest.approx(0.2)
    assert schedule.reduce() is True  # 0.04
    assert schedule.reduce() is False  # 0.008 would be below 0.01
    assert schedule(20, 2) == pytest.approx(0.04)


def test_make_schedule_names():
    kinds = {
        "constant": Constant,
        "invscaling": InvScaling,
        "cosine": Cosine,
        "adaptive": Adaptive,
    }
    for name, kind in kinds.items():
        assert type(make_schedule(name, 0.1, power_t=0.5, epochs=3)) is kind
