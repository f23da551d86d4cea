"""skgd: scikit-learn regressors trained by mini-batch gradient descent."""

from ._exceptions import DivergenceError
from ._linear import GDRegressor
from ._mlp import MLPRegressor

__version__ = "0.1.0.dev0"

__all__ = ["DivergenceError", "GDRegressor", "MLPRegressor", "__version__"]
