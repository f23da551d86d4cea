"""The ``skgd study`` command: outputs, tables, progress and bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest

from skgd import _cli
from skgd._cli import main

pytest.importorskip("matplotlib")
pytest.importorskip("pandas")

FAST = ["--cv", "2", "--param", "epochs=3", "--quiet"]


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


def _run(capsys, *args):
    status = main(["study", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_writes_every_output(csv_path, tmp_path, capsys):
    out_dir = tmp_path / "out"
    args = ["--data", str(csv_path), "--target", "y", "--out", str(out_dir)]
    grid = ["--param", "learning_rate=1e-3,1e-2", "--param", "alpha=0,0.1"]
    status, out, err = _run(capsys, *args, *grid, *FAST)
    assert status == 0, err
    names = {path.name for path in out_dir.iterdir()}
    assert {"results.csv", "results.json", "report.html"} <= names
    assert {
        "gd_validation_learning_rate.png",
        "mlp_validation_alpha.png",
        "gd_training_curve.png",
        "mlp_training_curve.png",
        "learning_rate_sweep.png",
    } <= names
    records = json.loads((out_dir / "results.json").read_text())
    assert len(records) == 8  # 2 estimators x 4 candidates
    assert {r["estimator"] for r in records} == {"GDRegressor", "MLPRegressor"}
    assert set(records[0]) >= {"params", "mean_val_r2", "std_train_r2", "gap"}
    assert (out_dir / "results.csv").read_text().count("\n") == 9
    report = (out_dir / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 7
    assert 'src="http' not in report and "<link" not in report
    assert "<- best" in out and "valid R2" in out


def test_default_data_restricted_grid(tmp_path, capsys):
    args = ["--estimator", "gd", "--param", "learning_rate=1e-2,1e-1"]
    status, out, err = _run(capsys, *args, *FAST, "--out", str(tmp_path))
    assert status == 0, err
    assert out.count("<- best") == 1
    assert "learning_rate" in out and "MLPRegressor" not in out


def test_diverged_candidate_is_reported(tmp_path, capsys):
    args = ["--estimator", "gd", "--param", "learning_rate=1e-2,1e6"]
    status, out, err = _run(capsys, *args, *FAST, "--out", str(tmp_path))
    assert status == 0, err
    line = next(line for line in out.splitlines() if "1e+06" in line)
    assert "diverged" in line
    records = json.loads((tmp_path / "results.json").read_text())
    assert [r["diverged"] for r in records] == [False, True]
    assert records[1]["mean_val_r2"] is None
    assert "Traceback" not in err


def test_tuple_values(tmp_path, capsys):
    args = ["--estimator", "mlp", "--param", "hidden_layer_sizes=(4,),(4,4)"]
    status, out, err = _run(capsys, *args, *FAST, "--out", str(tmp_path))
    assert status == 0, err
    assert "(4, 4)" in out


@pytest.mark.parametrize("quiet", [True, False])
def test_progress_on_a_terminal_unless_quiet(quiet, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_cli, "_stderr_is_terminal", lambda: True)
    args = ["--estimator", "gd", "--param", "learning_rate=1e-2", "--cv", "2"]
    args += ["--param", "epochs=2", "--out", str(tmp_path)]
    status, _, err = _run(capsys, *args, *(["--quiet"] if quiet else []))
    assert status == 0
    assert ("2/2 fits" in err and "[gd] ####" in err) is not quiet
    assert ("fits" in err) is not quiet


def test_no_progress_when_not_a_terminal(tmp_path, capsys):
    args = ["--estimator", "gd", "--cv", "2", "--param", "epochs=2"]
    status, _, err = _run(capsys, *args, "--out", str(tmp_path))
    assert status == 0 and err == ""


BAD = [
    (["--data", "{missing}", "--target", "y"], "no such file"),
    (["--data", "{csv}", "--target", "nope"], "no column 'nope'"),
    (["--data", "{text}", "--target", "y"], "non-numeric"),
    (["--data", "{text}", "--target", "b"], "non-numeric target"),
    (["--data", "{empty}", "--target", "y"], "needs data rows"),
    (["--data", "{blank}", "--target", "y"], "no data"),
    (["--data", "{csv}"], "--data needs --target"),
    (["--param", "no_such_knob=1"], "unknown parameter 'no_such_knob'"),
    (["--estimator", "gd", "--param", "hidden_layer_sizes=(4,)"], "unknown param"),
    (["--param", "learning_rate=1e-2x"], "cannot parse value"),
    (["--param", "learning_rate=(1,2"], "unbalanced brackets"),
    (["--param", "learning_rate"], "expected NAME=V1,V2"),
    (["--param", "learning_rate=fast"], "'learning_rate' parameter"),
    (["--cv", "1"], "at least 2"),
    (["--cv", "x"], "invalid int value"),
    (["--data", "{csv}", "--target", "y", "--cv", "41"], "more than the 40"),
    (["--estimator", "svm"], "invalid choice"),
    (["--scheduler", "local:0"], "N of local:N must be a positive integer"),
    (["--scheduler", "local:-2"], "N of local:N must be a positive integer"),
    (["--scheduler", "local"], "N of local:N must be a positive integer"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_is_one_line(args, message, csv_path, tmp_path, capsys):
    (tmp_path / "text.csv").write_text("a,b,y\n1,x,3\n4,5,6\n")
    (tmp_path / "empty.csv").write_text("a,b,y\n")
    (tmp_path / "blank.csv").write_text("")
    paths = {
        "csv": csv_path,
        "missing": tmp_path / "missing.csv",
        **{name: tmp_path / f"{name}.csv" for name in ("text", "empty", "blank")},
    }
    args = [arg.format(**paths) for arg in args]
    status, _, err = _run(capsys, *args, "--out", str(tmp_path / "out"))
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("skgd study: error: ")
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_malformed_local_scheduler_is_one_line(tmp_path, capsys):
    args = ["--scheduler", "local:zero", "--estimator", "gd", *FAST]
    status, _, err = _run(capsys, *args, "--out", str(tmp_path / "out"))
    assert status == 2
    assert err == (
        "skgd study: error: --scheduler local:zero: N of local:N must be a "
        "positive integer (the number of worker processes), e.g. local:4\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("scheduler", ["tcp://127.0.0.1:8786", "local:2"])
def test_missing_dask_is_one_line(scheduler, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    args = ["--scheduler", scheduler, "--estimator", "gd", *FAST]
    status, _, err = _run(capsys, *args, "--out", str(tmp_path))
    assert status == 2
    assert err == (
        "skgd study: error: --scheduler needs dask.distributed: "
        'pip install "dask[distributed]"\n'
    )


def test_help_in_a_subprocess():
    result = subprocess.run(
        [sys.executable, "-m", "skgd", "study", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--param" in result.stdout and "--scheduler" in result.stdout


def test_importing_skgd_needs_no_matplotlib():
    code = (
        "import sys, skgd; "
        "modules = ('matplotlib', 'skgd._cli', 'skgd._study', 'skgd._study_data', "
        "'skgd._cluster'); "
        "print(sorted(m for m in modules if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
