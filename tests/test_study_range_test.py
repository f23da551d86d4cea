"""The learning-rate range test of ``skgd study``, and the grid it centres."""

import base64
import json
import re

import numpy as np
import pytest

from skgd import GDRegressor, LearningRateRangeDisplay
from skgd._range_test import DEFAULT_RATES, suggest
from skgd.study import rangetest
from skgd.study.cli import main
from skgd.study.grid import DEFAULT_GRIDS

pytest.importorskip("matplotlib")

#: A cheap study of GDRegressor: two folds, few epochs.
GD = ["--estimator", "gd", "--cv", "2", "--quiet"]


@pytest.fixture
def csv_path(tmp_path):
    """A small numeric CSV: 40 rows, features a and b, target y."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = X @ [1.0, -2.0] + 0.1 * rng.normal(size=40)
    path = tmp_path / "data.csv"
    rows = [f"{a},{b},{t}" for (a, b), t in zip(X, y)]
    path.write_text("a,b,y\n" + "\n".join(rows) + "\n")
    return path


def _study(capsys, csv_path, out, *args):
    data = ["--data", str(csv_path), "--target", "y", "--out", str(out)]
    status = main(["study", *data, *args])
    stdout, err = capsys.readouterr()
    assert status == 0, err
    return stdout


def _fake_test(monkeypatch, val_loss, diverged):
    """Make the range test give these losses over the default 30 rates."""
    seen = {}

    def from_estimator(cls, estimator, X, y, *, epochs, cv, ax):
        seen.update(estimator=estimator, epochs=epochs, rows=len(y))
        return cls(DEFAULT_RATES, val_loss * 0.9, val_loss, diverged, "GDRegressor")

    monkeypatch.setattr(
        LearningRateRangeDisplay, "from_estimator", classmethod(from_estimator)
    )
    return seen


#: Validation losses whose suggestion is the 20th rate, about 0.0853: lowest
#: there, 10 times higher around, and diverged from the 25th rate up.
VAL_LOSS = np.where(np.arange(30) == 19, 1.0, 10.0)
DIVERGED = np.arange(30) >= 24
SUGGESTED = DEFAULT_RATES[19]


def _learning_rates(out):
    records = json.loads((out / "results.json").read_text())
    return sorted({record["params"]["learning_rate"] for record in records})


def test_the_fake_suggestion_is_the_twentieth_rate():
    assert suggest(DEFAULT_RATES, VAL_LOSS, DIVERGED) == SUGGESTED
    assert round(SUGGESTED, 4) == 0.0853


def test_the_default_grid_is_centred_on_the_suggestion(
    csv_path, tmp_path, capsys, monkeypatch
):
    seen = _fake_test(monkeypatch, VAL_LOSS, DIVERGED)
    out = tmp_path / "out"
    stdout = _study(capsys, csv_path, out, *GD)
    # 0.085 times the default grid's spread, 1e-2 to 1e2 around its middle
    centred = [0.00085, 0.0085, 0.085, 0.85, 8.5]
    assert centred == rangetest.centre_rates(
        SUGGESTED, DEFAULT_GRIDS["gd"]["learning_rate"]
    )
    assert _learning_rates(out) == centred
    assert seen["epochs"] == 50 and seen["rows"] == 40  # as many as the grid's
    assert type(seen["estimator"][-1]).__name__ == "GDRegressor"
    assert seen["estimator"][-1].epochs == 50  # the study's fixed parameters
    line = next(line for line in stdout.splitlines() if line.startswith("range"))
    assert line == (
        "range test: GDRegressor suggests learning_rate=0.085 (30 rates from "
        "1e-05 to 10, 50 epochs, 6 diverged); grid centred on it: 0.00085, "
        "0.0085, 0.085, 0.85, 8.5"
    )
    assert stdout.index("range test:") < stdout.index("pipeline:")
    (record,) = json.loads((out / "range_test.json").read_text())
    assert record["suggested_learning_rate"] == SUGGESTED
    assert record["grid"] == "centred"
    assert record["grid_learning_rates"] == centred
    assert record["val_loss"] == VAL_LOSS.tolist()
    assert record["diverged"] == DIVERGED.tolist()
    page = (out / "report.html").read_text()
    assert "It suggests learning_rate = 0.085" in page
    assert "from 0.01 to 100 times the suggestion" in page


def test_a_grid_without_the_rate_takes_the_suggestion(
    csv_path, tmp_path, capsys, monkeypatch
):
    seen = _fake_test(monkeypatch, VAL_LOSS, DIVERGED)
    out = tmp_path / "out"
    stdout = _study(capsys, csv_path, out, *GD, "--param", "alpha=0,0.1")
    assert _learning_rates(out) == [0.085]
    assert "learning_rate set to it: 0.085" in stdout
    assert "learning_rate=0.085" in stdout.split("pipeline:")[1]
    assert seen["estimator"][-1].learning_rate == "auto"  # tested as it was


def test_a_given_learning_rate_grid_is_kept(csv_path, tmp_path, capsys, monkeypatch):
    _fake_test(monkeypatch, VAL_LOSS, DIVERGED)
    out = tmp_path / "out"
    stdout = _study(capsys, csv_path, out, *GD, "--param", "learning_rate=1e-3,0.5")
    assert _learning_rates(out) == [1e-3, 0.5]
    assert "--param learning_rate kept: 0.001, 0.5" in stdout
    (record,) = json.loads((out / "range_test.json").read_text())
    assert record["grid"] == "given"
    assert record["suggested_learning_rate"] == SUGGESTED
    page = (out / "report.html").read_text()
    assert "The learning rates given by --param are kept: 0.001, 0.5." in page


def test_every_rate_diverged_keeps_the_default_grid(
    csv_path, tmp_path, capsys, monkeypatch
):
    _fake_test(monkeypatch, np.full(30, np.nan), np.ones(30, bool))
    out = tmp_path / "out"
    stdout = _study(capsys, csv_path, out, *GD)
    assert _learning_rates(out) == DEFAULT_GRIDS["gd"]["learning_rate"]
    assert (
        "range test: GDRegressor: every rate diverged (30 rates from 1e-05 to 10, "
        "50 epochs, 30 diverged); default grid kept: 0.001, 0.01, 0.1, 1, 10"
    ) in stdout
    (record,) = json.loads((out / "range_test.json").read_text())
    assert record["suggested_learning_rate"] is None and record["grid"] == "default"
    assert record["val_loss"] == [None] * 30  # NaN as null
    page = (out / "report.html").read_text()
    assert "Every rate diverged, so nothing is suggested" in page
    assert 'alt="Every learning rate diverged; nothing is suggested.' in page


def test_a_range_test_that_cannot_run_keeps_the_grid(
    csv_path, tmp_path, capsys, monkeypatch
):
    def refuse(cls, *args, **kwargs):
        raise ValueError("this stack is refused")

    monkeypatch.setattr(LearningRateRangeDisplay, "from_estimator", classmethod(refuse))
    out = tmp_path / "out"
    stdout = _study(capsys, csv_path, out, *GD, "--param", "alpha=0,0.1")
    assert "range test: GDRegressor could not run it (this stack is refused)" in stdout
    records = json.loads((out / "results.json").read_text())
    assert all("learning_rate" not in record["params"] for record in records)
    assert "gd_range_test.png" not in {path.name for path in out.iterdir()}
    assert "could not run (this stack is refused)" in (out / "report.html").read_text()


def test_ctrl_c_in_the_range_test_stops_the_study(
    csv_path, tmp_path, capsys, monkeypatch
):
    def interrupt(cls, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(
        LearningRateRangeDisplay, "from_estimator", classmethod(interrupt)
    )
    data = ["--data", str(csv_path), "--target", "y", "--out", str(tmp_path / "out")]
    assert main(["study", *data, *GD]) == 130
    stdout, err = capsys.readouterr()
    assert err == "skgd study: interrupted, nothing written\n"
    assert "range test" not in stdout and "pipeline:" not in stdout
    assert not (tmp_path / "out").exists()


def test_no_range_test(csv_path, tmp_path, capsys):
    out = tmp_path / "out"
    stdout = _study(capsys, csv_path, out, *GD, "--no-range-test")
    assert "range test" not in stdout
    assert _learning_rates(out) == DEFAULT_GRIDS["gd"]["learning_rate"]
    names = {path.name for path in out.iterdir()}
    assert "range_test.json" not in names and "gd_range_test.png" not in names
    assert "Learning-rate range test" not in (out / "report.html").read_text()


def test_the_report_shows_the_real_range_test_first(csv_path, tmp_path, capsys):
    """Both estimators, a real range test each: its section comes first."""
    out = tmp_path / "out"
    args = ["--cv", "2", "--param", "epochs=3", "--param", "alpha=0,0.1", "--quiet"]
    stdout = _study(capsys, csv_path, out, *args)
    page = (out / "report.html").read_text()
    assert "(range test, search and refit)" in stdout  # timed with the rest
    for key, name in (("gd", "GDRegressor"), ("mlp", "MLPRegressor")):
        record = next(
            r
            for r in json.loads((out / "range_test.json").read_text())
            if r["estimator"] == name
        )
        val = np.array(record["val_loss"], dtype=float)
        assert record["epochs"] == 3  # the grid's
        assert record["learning_rates"] == DEFAULT_RATES.tolist()
        suggested = suggest(DEFAULT_RATES, val, np.array(record["diverged"]))
        assert record["suggested_learning_rate"] == suggested is not None
        assert record["grid"] == "fixed"
        assert record["grid_learning_rates"] == [float(f"{suggested:.2g}")]
        assert f"{name} suggests learning_rate={suggested:.2g}" in stdout
        section = page[page.index(f"<h2 id='{key}'>") :]
        section = section[: section.index("<h2", 5)]
        headings = re.findall(r"<h3 id='([^']+)'>", section)
        assert headings[0] == f"{key}-range-test"
        figure = section[section.index(f"<h3 id='{key}-range-test'>") :]
        alt, data = re.search(
            r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)">', figure
        ).groups()
        assert base64.b64decode(data) == (out / f"{key}_range_test.png").read_bytes()
        assert base64.b64decode(data).startswith(b"\x89PNG")
        assert alt.startswith("Validation loss is lowest near ")
        assert f"suggested {suggested:.2g}." in alt
        assert "learning-rate range test: training and validation loss" in alt


def test_range_epochs_are_the_grids():
    """The test trains as many epochs as the grid's fits (its largest)."""
    pipeline = [GDRegressor(epochs=50)]
    assert rangetest.range_epochs(pipeline, {"alpha": [0.0]}) == 50
    assert rangetest.range_epochs(pipeline, {"epochs": [7]}) == 7  # adapted
    assert rangetest.range_epochs(pipeline, {"epochs": [3, 20]}) == 20
