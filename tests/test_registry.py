"""The registries build every part from an estimator's own parameters."""

import pytest

from skgd import GDRegressor, MLPRegressor
from skgd._losses import LOSSES
from skgd._optimizers import OPTIMIZERS
from skgd._registry import build
from skgd._schedules import SCHEDULES


@pytest.mark.parametrize("estimator", [GDRegressor(), MLPRegressor()])
@pytest.mark.parametrize(
    ("registry", "parameter"),
    [(LOSSES, "loss"), (OPTIMIZERS, "optimizer"), (SCHEDULES, "lr_schedule")],
)
def test_every_registered_name_is_valid_and_builds_from_the_parameters(
    estimator, registry, parameter
):
    params = estimator.get_params()
    args = (0.1,) if registry is SCHEDULES else ()
    for name in registry:
        estimator.set_params(**{parameter: name})._validate_params()
        part = build(registry, name, params, *args)
        assert type(part) is registry[name]
        for setting in registry[name].settings:
            assert setting in params  # a setting is an estimator parameter


def test_build_passes_the_named_settings():
    sgd = build(OPTIMIZERS, "sgd", {"momentum": 0.7, "nesterov": True, "x": 1})
    assert (sgd.momentum, sgd.nesterov) == (0.7, True)
    huber = build(LOSSES, "huber", {"huber_delta": 2.5})
    assert huber.delta == 2.5
    schedule = build(SCHEDULES, "invscaling", {"power_t": 0.25, "epochs": 3}, 0.4)
    assert (schedule.lr0, schedule.power_t) == (0.4, 0.25)
