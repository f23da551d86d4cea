"""Every example of the gallery runs to the end and draws (or prints) its result."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path, capsys):
    plt = pytest.importorskip("matplotlib.pyplot")
    runpy.run_path(str(path), run_name="__main__")
    assert plt.get_fignums() or capsys.readouterr().out.strip()
