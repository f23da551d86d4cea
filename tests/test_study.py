"""The ``skgd study`` command: outputs, tables, tasks, progress and bad input."""

import _thread
import gc
import json
import os
import re
import subprocess
import sys
import threading

import numpy as np
import pytest

import skgd
import skgd.engine.session
from skgd._exceptions import StudyError
from skgd.study import report
from skgd.study import run as study_run
from skgd.study.cli import main
from skgd.study.data import drop_index_column
from skgd.study.task import choose_task, make_task

pytest.importorskip("matplotlib")
pytest.importorskip("pandas")

FAST = ["--cv", "2", "--param", "epochs=3", "--quiet"]

#: The columns of results.json for a regression, in order.
REGRESSION_KEYS = [
    "estimator", "params", "mean_train_r2", "std_train_r2", "mean_val_r2",
    "std_val_r2", "gap", "mean_fit_time", "failed_folds", "failed", "diverged",
    "error", "best",
]  # fmt: skip
#: The columns of results.json for a classification, in order.
CLASSIFICATION_KEYS = [
    "estimator", "params", "mean_train_accuracy", "std_train_accuracy",
    "mean_val_accuracy", "std_val_accuracy", "gap", "mean_val_log_loss",
    "mean_fit_time", "failed_folds", "failed", "diverged", "error", "best",
]  # fmt: skip


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


@pytest.fixture
def labels_path(tmp_path):
    """A CSV with string labels: 30 rows, features a and b, target kind."""
    rng = np.random.default_rng(0)
    kinds = np.repeat(["cat", "dog", "owl"], 10)
    centers = {"cat": (0.0, 0.0), "dog": (3.0, 0.0), "owl": (0.0, 3.0)}
    X = np.array([centers[k] for k in kinds]) + rng.normal(size=(30, 2))
    path = tmp_path / "labels.csv"
    rows = [f"{a},{b},{k}" for (a, b), k in zip(X, kinds)]
    path.write_text("a,b,kind\n" + "\n".join(rows) + "\n")
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
    assert {"results.csv", "results.json", "range_test.json", "report.html"} <= names
    assert {
        "gd_range_test.png",
        "mlp_range_test.png",
        "gd_validation_learning_rate.png",
        "mlp_validation_alpha.png",
        "gd_learning_curves.png",
        "mlp_learning_curves.png",
        "learning_rate_sweep.png",
    } <= names
    records = json.loads((out_dir / "results.json").read_text())
    assert len(records) == 8  # 2 estimators x 4 candidates
    assert {r["estimator"] for r in records} == {"GDRegressor", "MLPRegressor"}
    assert all(list(record) == REGRESSION_KEYS for record in records)
    csv_text = (out_dir / "results.csv").read_text()
    assert csv_text.count("\n") == 9
    assert "mean_val_r2" in csv_text.splitlines()[0]
    report = (out_dir / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 9  # 2 of them range tests
    assert 'src="http' not in report and "<link" not in report
    assert "R²" in report and "accuracy" not in report and "log-loss" not in report
    assert "<- best" in out and "valid R2" in out and "accuracy" not in out


def test_every_figure_says_what_it_shows_in_its_alt_text(csv_path, tmp_path, capsys):
    args = ["--data", str(csv_path), "--target", "y", "--estimator", "gd"]
    args += ["--param", "learning_rate=1e-2,1e-1"]
    status, _, err = _run(capsys, *args, *FAST, "--out", str(tmp_path / "o"))
    assert status == 0, err
    page = (tmp_path / "o" / "report.html").read_text()
    figures = re.findall(
        r'<figure><img alt="([^"]*)" src="data:image/png;base64,[^"]+">'
        r"<figcaption>([^<]*)</figcaption></figure>",
        page,
    )
    assert len(figures) == page.count("<figure>") >= 2
    for alt, caption in figures:
        assert alt.endswith(caption) and len(caption) > 30
    # A knob's figure says first what it shows: the knob's sentence.
    (alt,) = [alt for alt, caption in figures if "against learning_rate" in caption]
    assert alt.startswith("Validation R² ") or alt.startswith("learning_rate does")


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


def test_digits_classification(tmp_path, capsys):
    args = ["--dataset", "digits", "--param", "learning_rate=1e-2,1e-1"]
    status, out, err = _run(capsys, *args, *FAST, "--out", str(tmp_path))
    assert status == 0, err
    assert "GDClassifier" in out and "MLPClassifier" in out
    assert "valid accuracy" in out and "valid log-loss" in out and "R2" not in out
    names = {path.name for path in tmp_path.iterdir()}
    assert {"gd_learning_curves.png", "mlp_learning_curves.png"} <= names
    assert "learning_rate_sweep.png" in names
    records = json.loads((tmp_path / "results.json").read_text())
    assert all(list(record) == CLASSIFICATION_KEYS for record in records)
    assert {r["estimator"] for r in records} == {"GDClassifier", "MLPClassifier"}
    for record in records:
        assert 0.5 < record["mean_val_accuracy"] <= 1
        assert 0 < record["mean_val_log_loss"] < 2
        gap = record["mean_train_accuracy"] - record["mean_val_accuracy"]
        assert record["gap"] == pytest.approx(gap)
    assert "mean_val_log_loss" in (tmp_path / "results.csv").read_text()
    report = (tmp_path / "report.html").read_text()
    assert "digits data (1797 samples, 64 features)" in report
    assert "stratified" in report and "minus validation accuracy" in report
    assert "log-loss" in report and "R²" not in report


def test_string_labels_are_a_classification(labels_path, tmp_path, capsys):
    args = ["--data", str(labels_path), "--target", "kind", "--estimator", "mlp"]
    args += ["--param", "learning_rate=1e-2"]
    status, out, err = _run(capsys, *args, *FAST, "--out", str(tmp_path / "out"))
    assert status == 0, err
    assert "MLPClassifier" in out and "valid accuracy" in out
    (record,) = json.loads((tmp_path / "out" / "results.json").read_text())
    assert list(record) == CLASSIFICATION_KEYS
    assert "Baselines: the same 2 folds and preprocessing, mean accuracy" in out
    assert "valid log-loss" in out.split("Baselines: ")[1].splitlines()[1]
    baselines = json.loads((tmp_path / "out" / "baselines.json").read_text())
    assert [b["model"] for b in baselines] == [
        "LogisticRegression", "HistGradientBoostingClassifier", "DummyClassifier",
    ]  # fmt: skip
    assert baselines[0]["mean_val_accuracy"] > 0.8  # three well-apart clusters
    assert baselines[2]["mean_val_accuracy"] < 0.5  # the most frequent of three


def test_no_probabilities_no_log_loss(tmp_path, capsys):
    args = ["--dataset", "iris", "--estimator", "gd"]
    args += ["--param", "loss=log_loss,hinge"]
    status, out, err = _run(capsys, *args, *FAST, "--out", str(tmp_path))
    assert status == 0, err
    hinge = next(line for line in out.splitlines() if "hinge" in line)
    assert "n/a" in hinge and "failed" not in hinge
    records = json.loads((tmp_path / "results.json").read_text())
    assert [r["mean_val_log_loss"] is None for r in records] == [False, True]
    assert not any(r["failed"] for r in records)
    assert records[1]["mean_val_accuracy"] > 0.5


@pytest.mark.parametrize(
    ("source", "task", "estimator"),
    [
        ("binary", "auto", "GDClassifier"),
        ("binary", "regression", "GDRegressor"),
        ("binary", "classification", "GDClassifier"),
        ("continuous", "regression", "GDRegressor"),
        ("digits", "regression", "GDRegressor"),
    ],
)
def test_task_option(source, task, estimator, csv_path, tmp_path, capsys):
    """Whole numbers are labels unless --task regression says otherwise."""
    data = ["--dataset", "digits"]
    if source != "digits":
        text = csv_path.read_text()
        if source == "binary":  # y = 0 or 1, as numbers
            rows = [row.rsplit(",", 1) for row in text.splitlines()[1:]]
            text = "a,b,y\n" + "".join(f"{x},{int(float(t) > 0)}\n" for x, t in rows)
        (tmp_path / "data.csv").write_text(text)
        data = ["--data", str(tmp_path / "data.csv"), "--target", "y"]
    args = [*data, "--task", task, "--estimator", "gd", "--param", "learning_rate=0.1"]
    status, out, err = _run(capsys, *args, *FAST, "--out", str(tmp_path / "out"))
    assert status == 0, err
    (record,) = json.loads((tmp_path / "out" / "results.json").read_text())
    assert record["estimator"] == estimator and estimator in out
    regression = estimator == "GDRegressor"
    assert list(record) == (REGRESSION_KEYS if regression else CLASSIFICATION_KEYS)
    assert ("valid R2" if regression else "valid accuracy") in out


TASKS = [
    (["a", "b", "a"], "auto", None, "classification"),
    ([True, False, True], "auto", None, "classification"),
    ([0, 1, 2, 1], "auto", None, "classification"),
    ([1.0, 2.0, 3.0], "auto", None, "classification"),  # whole numbers
    ([0.5, 1.0, 2.0], "auto", None, "regression"),
    ([151.0, 75.0, 141.0], "auto", "regression", "regression"),  # diabetes
    ([0, 1, 2, 1], "regression", None, "regression"),
    ([0, 1, 2, 1], "regression", "classification", "regression"),
    ([1.0, 2.0, 3.0], "classification", "regression", "classification"),
]


@pytest.mark.parametrize(("y", "task", "default", "expected"), TASKS)
def test_make_task(y, task, default, expected):
    found = make_task(np.array(y), task, default=default)
    assert found.name == expected
    assert found.metric == {"regression": "r2", "classification": "accuracy"}[expected]
    if expected == "classification":
        assert found.classes == tuple(sorted(set(y)))


@pytest.mark.parametrize(
    ("y", "task", "message"),
    [
        (["a", "b"], "regression", "--task regression needs a numeric target"),
        ([0.5, 1.5], "classification", "the target is continuous"),
        ([[0.5, 1], [1, 2]], "auto", "cannot study a continuous-multioutput target"),
    ],
)
def test_make_task_refuses(y, task, message):
    with pytest.raises(StudyError, match=message):
        make_task(np.array(y), task)


def _doctor_visits():
    """A count of doctor visits: 485 rows, 17 distinct values, some rare."""
    counts = [150, 100, 70, 50, 35, 25, 15, 10, 8, 6, 5, 3, 3, 2, 1, 1, 1]
    visits = np.repeat(np.arange(17), counts).astype(float)
    return np.random.default_rng(0).permutation(visits)


def _synthetic_count():
    """a + 2b: 200 rows, 27 distinct whole numbers."""
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 9, 200), rng.integers(0, 10, 200)
    a[:9], b[:9] = np.arange(9), 9  # every sum from 0 to 26 is there
    a[9:19], b[9:19] = 0, np.arange(10)
    return (a + 2 * b).astype(float)


CHOICES = [
    (_doctor_visits(), "regression", "17 distinct whole numbers, and the rarest, "
     "14, is in 1 row, fewer than the 5 folds need"),
    (_synthetic_count(), "regression", "27 distinct whole numbers, too many for "
     "class labels (at most 20)"),
    (np.repeat([0.0, 1.0, 2.0], 50), "classification", "3 distinct whole "
     "numbers, each in 50 rows or more: class labels"),
    (np.repeat([3, 7], [5, 30]), "classification", "each in 5 rows or more"),
    (np.repeat([3, 7], [4, 31]), "regression", "the rarest, 3, is in 4 rows"),
    (np.repeat(np.arange(20), 5), "classification", "20 distinct whole numbers"),
    (np.repeat([0, 1, 2, 8], [4000, 800, 180, 10]), "regression",
     "the rarest, 8, is in 10 of the 4990 rows, less than 1%: a tail"),
    (np.repeat([0, 1, 2, 8], [4000, 800, 180, 60]), "classification",
     "each in 60 rows or more"),
    (np.repeat([0, 1], [4000, 10]), "classification", "each in 10 rows or more"),
    (np.repeat(np.arange(21), 5), "regression", "too many for class labels"),
    (np.array(["a", "b"] * 10), "classification", "labels (text)"),
    (np.array(["a"] * 19 + ["b"]), "classification", "labels (text)"),
    (np.array([True, False] * 10), "classification", "booleans"),
    (np.arange(20) / 4, "regression", "numbers, not all whole"),
]  # fmt: skip


@pytest.mark.parametrize(("y", "expected", "reason"), CHOICES)
def test_choose_task_as_a_person_would(y, expected, reason):
    task, why = choose_task(y, n_splits=5)
    assert task.name == expected
    assert reason in why


def test_the_rarest_value_is_weighed_only_with_folds():
    y = np.repeat([3, 7], [1, 30])
    assert make_task(y).name == "classification"
    assert make_task(y, n_splits=2).name == "regression"


def test_a_forced_or_bundled_task_says_so():
    y = _synthetic_count()
    task, why = choose_task(y, "classification", n_splits=2)
    assert task.name == "classification" and why == "--task classification"
    task, why = choose_task(y, "auto", "classification", n_splits=2)
    assert why == "the task of the bundled data set"


def _write_target(path, y):
    """A CSV of one feature that follows the target, and the target."""
    x = y + np.random.default_rng(1).normal(size=len(y))
    rows = "".join(f"{a:.4f},{t:g}\n" for a, t in zip(x, y))
    path.write_text("x,visits\n" + rows)
    return path


def test_a_count_is_a_regression_and_the_first_line_says_why(tmp_path, capsys):
    path = _write_target(tmp_path / "doctor.csv", _doctor_visits())
    args = ["--data", str(path), "--target", "visits", "--estimator", "gd"]
    status, out, err = _run(capsys, *args, *FAST, "--out", str(tmp_path / "o"))
    assert status == 0, err
    assert out.splitlines()[0] == (
        "task: regression (the target holds 17 distinct whole numbers, and the "
        "rarest, 14, is in 1 row, fewer than the 2 folds need); --task "
        "classification predicts classes instead"
    )
    assert "GDRegressor" in out
    page = (tmp_path / "o" / "report.html").read_text()
    assert "<p class='task'>task: regression (the target holds 17" in page


def test_a_forced_classification_with_a_rare_class_is_one_line(tmp_path, capsys):
    path = _write_target(tmp_path / "doctor.csv", _doctor_visits())
    args = ["--data", str(path), "--target", "visits", "--task", "classification"]
    status, out, err = _run(capsys, *args, "--out", str(tmp_path / "o"))
    assert status == 2 and out == ""
    assert err == (
        "skgd study: error: --cv 5: class 14 has only 1 row(s), and 5 stratified "
        "folds need at least 5 of each class; lower --cv, or pass --task "
        "regression if the target is a quantity, not a label\n"
    )
    assert not (tmp_path / "o").exists()


def test_tuple_values(tmp_path, capsys):
    args = ["--estimator", "mlp", "--param", "hidden_layer_sizes=(4,),(4,4)"]
    status, out, err = _run(capsys, *args, *FAST, "--out", str(tmp_path))
    assert status == 0, err
    assert "(4, 4)" in out


@pytest.mark.parametrize("quiet", [True, False])
def test_progress_on_a_terminal_unless_quiet(quiet, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("skgd.study.cli._stderr_is_terminal", lambda: True)
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
    (["--data", "{names}", "--target", "y"], "no feature column left in"),
    (["--data", "{dates}", "--target", "y"], "column 'when': dates or times"),
    (["--data", "{void}", "--target", "y"], "column 'a': no value at all"),
    (["--data", "{huge}", "--target", "y"], "squares overflow when standardized: b"),
    (["--data", "{text}", "--target", "b", "--task", "regression"], "numeric target"),
    (["--data", "{csv}", "--target", "y", "--task", "classification"], "continuous"),
    (["--data", "{rare}", "--target", "y", "--cv", "2"], "class 'q' has only 1"),
    (["--data", "{unlabeled}", "--target", "y"], "no value in the target column"),
    (["--data", "{infinite}", "--target", "y"], "infinite values in"),
    (["--data", "{infinite}", "--target", "a"], "infinite values in"),
    (["--data", "{empty}", "--target", "y"], "needs data rows"),
    (["--data", "{one_row}", "--target", "y"], "has a single data row"),
    (["--data", "{constant}", "--target", "y"], "holds a single value, 3, in all"),
    (
        ["--data", "{constant}", "--target", "y", "--task", "classification"],
        "there is nothing to predict",
    ),
    (["--data", "{one_label}", "--target", "y"], "single value, 'p', in all its 2"),
    (["--data", "{two_targets}", "--target", "y"], "2 columns of"),
    (
        ["--data", "{csv}", "--target", "y", "--encoding", "klingon"],
        "argument --encoding: unknown encoding 'klingon'",
    ),
    (
        ["--data", "{csv}", "--target", "y", "--encoding", "base64"],
        "unknown encoding 'base64'",
    ),
    (["--dataset", "iris", "--encoding", "latin-1"], "--encoding needs --data"),
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
    (["--task", "ranking"], "invalid choice"),
    (["--dataset", "mnist"], "invalid choice"),
    (["--dataset", "iris", "--data", "{csv}", "--target", "y"], "exclude each other"),
    (["--dataset", "iris", "--target", "y"], "--target needs --data"),
    (["--scheduler", "local:0"], "N of local:N must be a positive integer"),
    (["--scheduler", "local:-2"], "N of local:N must be a positive integer"),
    (["--scheduler", "local"], "N of local:N must be a positive integer"),
    (["--scheduler", "local:99999999999999999999"], "N of local:N is at most"),
    (["--scheduler", f"local:{4 * (os.cpu_count() or 1) + 1}"], "is at most"),
    (["--n-jobs", "0"], "argument --n-jobs: 0 fits at once"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_is_one_line(args, message, csv_path, tmp_path, capsys):
    files = {
        "text": "a,b,y\n1,x,3\n4,5,6\n",
        "names": "name,y\nann,3\nbob,6\n",
        "dates": "when,y\n2020-01-01,3\n2020-02-01,6\n",
        "void": "a,y\n,3\n,6\n",
        "infinite": "a,y\n1.5,2.5\ninf,3.5\n2.5,-inf\n",
        "huge": "a,b,y\n1,2,3.5\n4,1e300,6.5\n",
        "rare": "a,y\n1,p\n2,p\n3,q\n4,p\n",
        "unlabeled": "a,y\n1,\n2,\n3,\n",
        "empty": "a,b,y\n",
        "one_row": "a,b,y\n1,2,3\n",
        "constant": "a,y\n1,3\n2,3\n3,\n4,3\n",
        "one_label": "a,y\n1,p\n2,\n3,p\n",
        "two_targets": "a,y,y\n1,2,3\n2,3,4\n3,4,5\n",
        "blank": "",
    }
    for name, text in files.items():
        (tmp_path / f"{name}.csv").write_text(text)
    paths = {
        "csv": csv_path,
        "missing": tmp_path / "missing.csv",
        **{name: tmp_path / f"{name}.csv" for name in files},
    }
    args = [arg.format(**paths) for arg in args]
    status, _, err = _run(capsys, *args, "--out", str(tmp_path / "out"))
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("skgd study: error: ")
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_single_valued_target_is_refused_before_any_fitting(
    tmp_path, capsys, monkeypatch
):
    _refuse_work(monkeypatch)
    (tmp_path / "c.csv").write_text("a,b,y\n" + "1,2,7.5\n3,4,7.5\n" * 20)
    args = ["--data", str(tmp_path / "c.csv"), "--target", "y"]
    status, out, err = _run(capsys, *args, "--out", str(tmp_path / "out"))
    assert status == 2 and out == ""
    assert err == (
        f"skgd study: error: the target 'y' of {tmp_path / 'c.csv'} holds a "
        "single value, 7.5, in all its 40 rows: there is nothing to predict; "
        "choose another --target\n"
    )


def _latin_1(path, rows=40):
    """A CSV in latin-1: a feature named café, a category é or e, target y."""
    rng = np.random.default_rng(0)
    lines = ["café,kind,y"]
    for i in range(rows):
        x = rng.normal()
        lines.append(f"{x:.3f},{'é' if i % 2 else 'e'},{2 * x + i % 2:.3f}")
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return path


def test_a_latin_1_file_is_read_with_a_note(tmp_path, capsys):
    path = _latin_1(tmp_path / "latin.csv")
    args = ["--data", str(path), "--target", "y", "--estimator", "gd", *FAST]
    status, out, err = _run(capsys, *args, "--out", str(tmp_path / "o"))
    assert status == 0, err
    assert f"note: {path} is not UTF-8: reading it as latin-1; pass --encoding" in err
    assert "numeric [café]" in out and "categorical [kind]" in out
    page = (tmp_path / "o" / "report.html").read_text("utf-8")
    assert "is not UTF-8: reading it as latin-1" in page


def test_encoding_option(tmp_path, capsys):
    path = _latin_1(tmp_path / "latin.csv")
    args = ["--data", str(path), "--target", "y", "--estimator", "gd", *FAST]
    status, out, err = _run(
        capsys, *args, "--encoding", "cp1252", "--out", str(tmp_path / "o")
    )
    assert status == 0, err
    assert "UTF-8" not in err and "numeric [café]" in out
    status, out, err = _run(
        capsys, *args, "--encoding", "utf-8", "--out", str(tmp_path / "p")
    )
    assert status == 2 and out == ""
    assert err == (
        f"skgd study: error: cannot read {path} as utf-8: byte 0xe9 at position "
        "3 is not utf-8; pass the file's --encoding\n"
    )
    assert not (tmp_path / "p").exists()


def test_repeated_column_names_are_renamed_with_a_note(csv_path, tmp_path, capsys):
    rows = csv_path.read_text().splitlines()[1:]
    text = "a,b,a,y,b\n" + "".join(f"{r.rsplit(',', 1)[0]},{r},1\n" for r in rows)
    (tmp_path / "dup.csv").write_text(text)
    args = ["--data", str(tmp_path / "dup.csv"), "--target", "y", "--estimator", "gd"]
    status, out, err = _run(capsys, *args, *FAST, "--out", str(tmp_path / "o"))
    assert status == 0, err
    assert (
        f"note: column names repeated in {tmp_path / 'dup.csv'}: reading 'a' "
        "(column 3) as 'a.1', 'b' (column 5) as 'b.1'; rename the columns"
    ) in err
    assert "StandardScaler()" in out


def test_more_columns_than_rows_is_noted(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 60))
    y = X[:, 0] + 0.1 * rng.normal(size=30)
    header = ",".join(f"f{i}" for i in range(60)) + ",y\n"
    rows = "".join(",".join(f"{v:.3f}" for v in [*x, t]) + "\n" for x, t in zip(X, y))
    (tmp_path / "wide.csv").write_text(header + rows)
    args = ["--data", str(tmp_path / "wide.csv"), "--target", "y", *FAST]
    status, _, err = _run(capsys, *args, "--out", str(tmp_path / "o"))
    assert status == 0, err
    note = "60 feature columns for 30 rows: more features than rows"
    assert f"note: {note}" in err and "(--estimator gd leaves it out)" in err
    assert note in (tmp_path / "o" / "report.html").read_text()
    args += ["--estimator", "gd"]
    status, _, err = _run(capsys, *args, "--out", str(tmp_path / "o"))
    assert status == 0 and note in err and "--estimator gd" not in err


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
    assert "--task" in result.stdout and "digits" in result.stdout
    words = " ".join(result.stdout.split())
    assert "whole numbers are class labels only when they take at most 20" in words
    assert "the rarest is in at least --cv rows" in words


def test_importing_skgd_needs_no_matplotlib():
    code = (
        "import sys, skgd; "
        "modules = ('matplotlib', 'sklearn', 'skgd.study', 'skgd.study.cli', "
        "'skgd.study.run', 'skgd.study.data', 'skgd.study.cluster'); "
        "print(sorted(m for m in modules if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# ------------------------------------------------------- the --out folder


def _listing(folder):
    """The files of a folder and their contents."""
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def test_a_study_replaces_the_previous_one(tmp_path, capsys):
    out_dir = tmp_path / "out"
    args = ["--estimator", "gd", *FAST, "--out", str(out_dir)]
    assert _run(capsys, *args, "--param", "learning_rate=1e-2,1e-1")[0] == 0
    assert "gd_validation_learning_rate.png" in _listing(out_dir)
    status, out, err = _run(capsys, *args, "--param", "learning_rate=1e-2")
    assert status == 0, err
    assert set(_listing(out_dir)) == {
        "results.csv", "results.json", "range_test.json", "baselines.json",
        "gd_range_test.png", "gd_learning_curves.png", "report.html",
    }  # fmt: skip
    assert os.listdir(tmp_path) == ["out"]  # no folder of the run left beside
    assert f"see {out_dir / 'report.html'}" in out


def test_ctrl_c_while_writing_keeps_the_previous_study(tmp_path, capsys, monkeypatch):
    out_dir = tmp_path / "out"
    args = ["--estimator", "gd", *FAST, "--out", str(out_dir)]
    assert _run(capsys, *args, "--param", "learning_rate=1e-2,1e-1")[0] == 0
    before = _listing(out_dir)

    def interrupted(*args):  # after results.csv, results.json and the figures
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "report_html", interrupted)
    status, _, err = _run(capsys, *args, "--param", "learning_rate=1e-3")
    assert status == 130
    assert err == "skgd study: interrupted, nothing written\n"
    assert _listing(out_dir) == before
    assert os.listdir(tmp_path) == ["out"]


class _InterruptImport:
    """A meta path finder: Ctrl-C while importing the module ``name``."""

    def __init__(self, name):
        self.name = name

    def find_spec(self, name, path=None, target=None):
        if name == self.name:
            raise KeyboardInterrupt
        return None


@pytest.mark.parametrize("module", ["skgd.study.run", "skgd.study.report"])
def test_ctrl_c_while_importing_the_study_is_one_line(
    module, tmp_path, capsys, monkeypatch
):
    package, name = module.rsplit(".", 1)
    monkeypatch.delitem(sys.modules, module)
    monkeypatch.delattr(sys.modules[package], name)  # `from . import` sees it
    monkeypatch.setattr(sys, "meta_path", [_InterruptImport(module), *sys.meta_path])
    status, out, err = _run(capsys, "--estimator", "gd", *FAST, "--out", str(tmp_path))
    assert status == 130 and out == ""
    assert err == "skgd study: interrupted, nothing written\n"


@pytest.mark.parametrize("when", ["replaced", "returned"])
def test_ctrl_c_after_writing_says_the_study_was_written(
    when, tmp_path, capsys, monkeypatch
):
    """Ctrl-C once --out holds the new study: one line, which says so."""
    out_dir = tmp_path / "out"
    replace, write_report = report._replace, report.write_report

    def replaced(*args):
        replace(*args)
        raise KeyboardInterrupt  # as the handler is restored

    def returned(*args, **kwargs):
        write_report(*args, **kwargs)
        raise KeyboardInterrupt  # as the last line is printed

    patched = {
        "replaced": ("_replace", replaced),
        "returned": ("write_report", returned),
    }
    monkeypatch.setattr(report, *patched[when])
    args = ["--estimator", "gd", *FAST, "--out", str(out_dir)]
    status, _, err = _run(capsys, *args)
    assert status == 130
    assert err == f"skgd study: interrupted after writing the study to {out_dir}\n"
    assert (out_dir / "report.html").exists()
    assert os.listdir(tmp_path) == ["out"]


def test_the_command_line_loads_before_scikit_learn():
    """``python -m skgd`` reaches main, which handles Ctrl-C, before the
    seconds of importing scikit-learn (skgd's estimators load on first use)."""
    code = (
        "import sys, skgd.__main__\n"
        "print(sorted({'sklearn', 'scipy'} & set(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert result.stdout == "[]\n", result.stderr


def test_the_command_ignores_a_late_ctrl_c():
    """Run as the command, main leaves Ctrl-C ignored as the process ends."""
    code = (
        "import signal, sys\n"
        "from skgd.study.cli import main\n"
        "sys.argv = ['skgd', 'study', '--cv', 'x']\n"
        "status = main()\n"
        "print(status, signal.getsignal(signal.SIGINT) is signal.SIG_IGN)\n"
        "main(['study', '--cv', 'x'])\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "main(['study', '--cv', 'x'])\n"
        "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert result.stdout == "2 True\nTrue\n", result.stderr


def _refuse_work(monkeypatch):
    def run_study(*args, **kwargs):
        raise AssertionError("the study ran before --out was checked")

    monkeypatch.setattr("skgd.study.run.run_study", run_study)


BAD_OUT = [
    ("", "--out is empty"),
    ("file.txt", "file.txt is a file: choose a folder"),
    ("file.txt/out", "is under"),
    ("x" * 300, "is longer than the 255 bytes allowed"),
    ("mine", "holds notes.txt, which skgd study did not write"),
    ("mine/new/" + "y" * 256, "is longer than"),
]


@pytest.mark.parametrize(("out", "message"), BAD_OUT)
def test_bad_out_is_refused_before_any_work(
    out, message, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file.txt").write_text("mine")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    _refuse_work(monkeypatch)
    status, _, err = _run(capsys, "--out", out)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("skgd study: error: --out")
    assert message in err
    assert sorted(os.listdir(tmp_path)) == ["file.txt", "mine"]
    assert os.listdir(tmp_path / "mine") == ["notes.txt"]


def test_the_current_folder_is_no_out(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _refuse_work(monkeypatch)
    status, _, err = _run(capsys, "--out", ".")
    assert status == 2
    assert (
        err == "skgd study: error: --out . holds the current folder: choose another\n"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in any folder")
def test_an_unwritable_out_is_refused(tmp_path, capsys, monkeypatch):
    (tmp_path / "locked").mkdir(mode=0o500)
    _refuse_work(monkeypatch)
    status, _, err = _run(capsys, "--out", str(tmp_path / "locked" / "out"))
    assert status == 2
    assert "cannot write in" in err and err.count("\n") == 1


# ------------------------------------------------------------------ Ctrl-C


def _interrupt_training(monkeypatch, when=lambda: True):
    """Ctrl-C in the first epoch of each fit during which ``when()`` is true.

    The estimator catches it as it catches a real one, and ends its fit with
    an interrupted model and a FitInterruptedWarning.
    """
    train_part = skgd.engine.session._train_part

    def interrupted(*args):
        if when():
            raise KeyboardInterrupt
        return train_part(*args)

    monkeypatch.setattr(skgd.engine.session, "_train_part", interrupted)


def _assert_interrupted(status, out, err, tmp_path):
    assert status == 130
    assert err == "skgd study: interrupted, nothing written\n"
    assert "<- best" not in out
    assert os.listdir(tmp_path) == []  # neither --out nor a folder of the run


def test_ctrl_c_in_a_fold_stops_the_study(tmp_path, capsys, monkeypatch):
    _interrupt_training(monkeypatch)
    args = ["--estimator", "gd", *FAST, "--out", str(tmp_path / "out")]
    _assert_interrupted(*_run(capsys, *args), tmp_path)


def test_ctrl_c_in_the_refit_stops_the_study(tmp_path, capsys, monkeypatch):
    refitting = []
    refit_best = study_run.refit_best

    def refit(*args):
        refitting.append(True)
        return refit_best(*args)

    monkeypatch.setattr("skgd.study.run.refit_best", refit)
    _interrupt_training(monkeypatch, when=lambda: refitting)
    args = ["--estimator", "gd", *FAST, "--out", str(tmp_path / "out")]
    _assert_interrupted(*_run(capsys, *args), tmp_path)
    assert refitting


@pytest.fixture
def no_gc_callbacks():
    """No garbage-collector callbacks (hypothesis installs one once its tests
    ran): a KeyboardInterrupt raised inside one is printed and lost, which
    no program can see, so the test would fail by chance."""
    saved = gc.callbacks[:]
    gc.callbacks.clear()
    yield
    gc.callbacks.extend(saved)


def test_a_real_ctrl_c_stops_the_study(
    tmp_path, capsys, default_sigint, time_limit, no_gc_callbacks
):
    # SIGINT from a timer thread, while the first fit has far to go.
    args = ["--estimator", "gd", "--cv", "2", "--quiet", "--param", "tol=None"]
    args += ["--param", "epochs=20000", "--out", str(tmp_path / "out")]
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    try:
        with time_limit(120):
            result = _run(capsys, *args)
    finally:
        timer.cancel()
    _assert_interrupted(*result, tmp_path)


# --------------------------------------------------------- the index column


def test_the_index_column_of_pandas_is_dropped(csv_path, tmp_path, capsys):
    import pandas as pd

    pd.read_csv(csv_path).to_csv(tmp_path / "indexed.csv")  # index=True
    args = ["--data", str(tmp_path / "indexed.csv"), "--target", "y"]
    args += ["--estimator", "gd", "--out", str(tmp_path / "out"), *FAST]
    status, _, err = _run(capsys, *args)
    assert status == 0, err
    assert err == (
        f"skgd study: note: ignoring the first column of {tmp_path / 'indexed.csv'}"
        " ('Unnamed: 0', holding 0 to 39): it is the row index that pandas' "
        "to_csv() writes; pass index=False to to_csv() to leave it out\n"
    )
    report = (tmp_path / "out" / "report.html").read_text()
    assert "(40 samples, 2 features)" in report


@pytest.mark.parametrize(
    ("name", "values", "dropped"),
    [
        ("Unnamed: 0", [0, 1, 2], True),
        ("", [0, 1, 2], True),
        ("Unnamed: 0", [1, 2, 3], False),
        ("Unnamed: 0", [0, 2, 1], False),
        ("Unnamed: 0", [0.0, 1.0, 2.0], False),
        ("id", [0, 1, 2], False),
        ("y", [0, 1, 2], False),  # the target
    ],
)
def test_drop_index_column(name, values, dropped):
    import pandas as pd

    frame = pd.DataFrame({name: values, "a": [0.5, 1.5, 2.5]})
    if name != "y":
        frame["y"] = [1.0, 2.0, 3.0]
    kept, notes = drop_index_column(frame, "f.csv", "y")
    assert list(kept.columns) == list(frame.columns)[dropped:]
    assert len(notes) == dropped
