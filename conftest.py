"""Test-session settings shared by the tests and the docstring examples."""

import os
import sys

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")  # draw off-screen


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
