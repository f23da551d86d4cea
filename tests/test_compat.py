"""The same skgd on every supported scikit-learn (1.6 to the newest)."""

import importlib.util

import numpy as np
import pytest

from skgd import GDRegressor, MLPRegressor
from skgd._compat import _check_sample_weight


@pytest.mark.parametrize("Est", [GDRegressor, MLPRegressor])
def test_set_callbacks_exists_exactly_where_sklearn_has_callbacks(Est):
    has_callbacks = importlib.util.find_spec("sklearn.callback") is not None
    assert hasattr(Est(), "set_callbacks") == has_callbacks


def test_all_zero_sample_weights_are_refused_unless_allowed():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="at least one non-zero"):
        _check_sample_weight(np.zeros(3), X)
    allowed = _check_sample_weight(np.zeros(3), X, allow_all_zero_weights=True)
    np.testing.assert_array_equal(allowed, np.zeros(3))
