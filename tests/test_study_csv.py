"""``skgd study`` on real CSV files: categories, missing cells, dates, IDs.

Also the defaults that adapt to the data (epochs, --n-jobs, the task of
whole numbers) and the estimate of the time left.
"""

import html
import json
import os
import re
from contextlib import nullcontext

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid, cross_validate
from sklearn.pipeline import Pipeline

import skgd.engine.session
from skgd.study import cluster
from skgd.study.baselines import baseline_models, dense_bytes, run_baselines
from skgd.study.cli import main
from skgd.study.columns import is_id_like, sort_columns
from skgd.study.data import Features, load_data
from skgd.study.grid import (
    DEFAULT_GRIDS,
    EPOCH_ROWS,
    MIN_EPOCHS,
    adapt_epochs,
    build_grids,
)
from skgd.study.options import default_n_jobs
from skgd.study.pipeline import make_pipeline, make_preprocessor, prefixed
from skgd.study.progress import format_seconds, make_progress
from skgd.study.run import cross_validate_grid
from skgd.study.task import REGRESSION, make_task

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

FAST = ["--cv", "2", "--param", "epochs=3", "--quiet"]


def _frame(n=60, seed=0):
    """A frame as a real CSV has them: categories, missing cells, an ID, dates.

    ``price`` depends on the numbers and, strongly, on the ``cut``; one
    target is missing, and so are some numbers and some cuts.
    """
    rng = np.random.default_rng(seed)
    cut = rng.choice(["fair", "good", "ideal"], size=n)
    carat = rng.uniform(0.2, 2.0, size=n)
    depth = rng.normal(60, 2, size=n)
    price = 3 * carat + np.array([{"fair": 0, "good": 2, "ideal": 4}[c] for c in cut])
    frame = pd.DataFrame(
        {
            "id": rng.permutation(n) + 1000,  # 1000 to 1000 + n - 1
            "sold": pd.date_range("2020-01-01", periods=n, freq="D").astype(str),
            "carat": carat,
            "depth": depth,
            "cut": cut,
            "price": price + 0.1 * rng.normal(size=n),
        }
    )
    frame.loc[[3, 17], "carat"] = np.nan
    frame.loc[[5, 40], "cut"] = np.nan
    frame.loc[9, "price"] = np.nan
    return frame


@pytest.fixture
def real_csv(tmp_path):
    path = tmp_path / "diamonds.csv"
    _frame().to_csv(path, index=False)
    return path


def _run(capsys, *args):
    status = main(["study", *args])
    out, err = capsys.readouterr()
    return status, out, err


PIPELINE = (
    "ColumnTransformer(numeric [carat, depth]: SimpleImputer(strategy='median') "
    "-> StandardScaler(); categorical [cut]: SimpleImputer(fill_value='missing', "
    "strategy='constant') -> OneHotEncoder(handle_unknown='ignore')) -> "
)


def test_a_real_csv_end_to_end(real_csv, tmp_path, capsys):
    out_dir = tmp_path / "out"
    args = ["--data", str(real_csv), "--target", "price", "--out", str(out_dir)]
    args += ["--param", "learning_rate=1e-2,1e-1", "--cv", "3", "--quiet"]
    args += ["--param", "epochs=20"]
    status, out, err = _run(capsys, *args)
    assert status == 0, err
    notes = err.splitlines()
    assert all(line.startswith("skgd study: note: ") for line in notes)
    assert (
        f"dropping 1 of the 60 rows of {real_csv}: their target 'price' is missing"
        in err
    )
    assert f"leaving out column 'sold' of {real_csv}: dates or times" in err
    assert f"leaving out column 'id' of {real_csv}: every value is distinct" in err
    assert "imputing the missing cells" in err and "'carat' (2), 'cut' (2)" in err
    gd = f"pipeline: {PIPELINE}GDRegressor(epochs=20, random_state=0), searching "
    assert gd + "learning_rate (2 candidates)" in out
    assert f"pipeline: {PIPELINE}MLPRegressor(" in out
    records = json.loads((out_dir / "results.json").read_text())
    assert len(records) == 4 and not any(r["failed"] for r in records)
    best = max(r["mean_val_r2"] for r in records if r["estimator"] == "GDRegressor")
    assert best > 0.8  # the cut is used: without it, R² would be about 0.5
    report = (out_dir / "report.html").read_text()
    assert "59 samples, 3 features: 2 numeric, 1 categorical" in report
    assert html.escape(PIPELINE + "GDRegressor(epochs=20, random_state=0)") in report
    assert html.escape("note: dropping 1 of the 60 rows") in report


def test_a_classification_with_categories_and_missing_cells(tmp_path, capsys):
    frame = _frame(80)
    frame["band"] = np.where(frame["price"] > frame["price"].median(), "high", "low")
    frame = frame.drop(columns=["price"])
    frame.loc[9, "band"] = None
    frame.to_csv(tmp_path / "bands.csv", index=False)
    args = ["--data", str(tmp_path / "bands.csv"), "--target", "band"]
    args += ["--estimator", "mlp", "--param", "learning_rate=1e-2", *FAST]
    status, out, err = _run(capsys, *args, "--out", str(tmp_path / "out"))
    assert status == 0, err
    assert "dropping 1 of the 80 rows" in err
    assert "-> MLPClassifier(" in out and "valid accuracy" in out
    (record,) = json.loads((tmp_path / "out" / "results.json").read_text())
    assert 0.5 < record["mean_val_accuracy"] <= 1


def test_numbers_alone_keep_the_plain_scaler(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=30), "y": rng.normal(size=30)})
    frame.to_csv(tmp_path / "plain.csv", index=False)
    args = ["--data", str(tmp_path / "plain.csv"), "--target", "y", "--estimator"]
    status, out, err = _run(capsys, *args, "gd", *FAST, "--out", str(tmp_path / "o"))
    assert status == 0, err
    # The learning rate is the range test's suggestion: the grid fixes it.
    assert "pipeline: StandardScaler() -> GDRegressor(epochs=3, learning_rate=" in out
    assert err == ""


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_stacked_results_are_found_and_match_scikit_learn(monkeypatch):
    """A fold's candidates train stacked; each fit after takes its result.

    The preprocessing is fitted on each fold's training rows (as
    scikit-learn's cross_validate fits the whole pipeline), so the scores
    are scikit-learn's, and no fold sees another's medians or categories.
    """
    frame = _frame(60).dropna(subset=["price"])
    X, y = frame.drop(columns=["price", "id", "sold"]), frame["price"].to_numpy()
    features = Features(("carat", "depth"), ("cut",), True, True)
    grid = {"learning_rate": [1e-2, 1e-1], "alpha": [0.0, 1.0], "epochs": [5]}
    pipeline = make_pipeline("gd", 0, features=features, grid=grid)
    cv = REGRESSION.splitter(3, 0)
    trained = []
    train_part = skgd.engine.session._train_part

    def counted(*args):
        trained.append(True)
        return train_part(*args)

    monkeypatch.setattr(skgd.engine.session, "_train_part", counted)
    rows = cross_validate_grid(pipeline, grid, X, y, cv)
    assert trained == []  # every fit took its stacked result
    monkeypatch.setattr(skgd.engine.session, "_train_part", train_part)
    for row, params in zip(rows, ParameterGrid(grid)):
        model = clone(pipeline).set_params(**prefixed(params))
        scores = cross_validate(model, X, y, cv=cv, return_train_score=True)
        assert row["mean_val_score"] == pytest.approx(scores["test_score"].mean())
        assert row["mean_train_score"] == pytest.approx(scores["train_score"].mean())


# ---------------------------------------------------------- sorting columns


@pytest.mark.parametrize(
    ("values", "name", "expected"),
    [
        (["ann", "bob", "cy", "dee"], "name", True),
        (["ann", "bob", "ann", "dee"], "name", False),
        (["ann", "bob", None, "dee"], "name", True),  # distinct where present
        ([*range(19, 0, -1), 20], "n", True),  # counts 1 to 20
        (list(range(105, 125)), "n", True),
        ([4, 2, 3, 1], "n", False),  # too few rows to tell
        ([7, 1, 2, 40], "n", False),  # could be a measurement
        ([7, 1, 2, 40], "user_id", True),
        ([7, 1, 2, 40], "userId", True),
        ([7, 1, 2, 40], "PID", True),
        ([7, 1, 2, 40], "paid", False),
        ([7, 1, 2, 40], "valid", False),
        ([0.5, 1.5, 2.5, 3.5], "id", False),  # floats measure
        ([1.0, 2.0, 3.0, 4.0], "id", False),
        ([True, False], "flag", False),
        (["x"], "name", False),
    ],
)
def test_is_id_like(values, name, expected):
    assert is_id_like(pd.Series(values, name=name)) is expected


def test_many_distinct_whole_numbers_are_an_id():
    rng = np.random.default_rng(0)
    values = rng.choice(10**9, size=1000, replace=False)
    assert is_id_like(pd.Series(values, name="n"))
    assert not is_id_like(pd.Series(values[:999], name="n"))


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["2020-01-31", "2021-02-01"], "date"),
        (["31/1/2020", "1/2/2021"], "date"),
        (["10:30", "11:45"], "date"),
        (["Jan 5, 2020", "Feb 3, 2021"], "date"),
        (["2020-01-31 10:00", None], "date"),
        (["Jan", "Feb", "Jan"], "categorical"),  # months are categories
        (["1st", "2nd", "1st"], "categorical"),
        (["10-20", "20-30", "10-20"], "categorical"),  # bands, not dates
        (["now", "today", "now"], "categorical"),
        (["fair", "good", "fair"], "categorical"),
        ([True, False, True], "categorical"),
        ([1.5, 2.5, 1.5], "numeric"),
        ([1, 2, 1], "numeric"),
        ([None, None, None], "empty"),
    ],
)
def test_sort_columns(values, kind):
    frame = pd.DataFrame({"c": values, "other": [1.5, 2.5, 3.5][: len(values)]})
    kinds, notes = sort_columns(frame, "f.csv")
    assert kinds["numeric"][-1] == "other"
    found = [k for k, names in kinds.items() if "c" in names]
    if kind in ("numeric", "categorical"):
        assert found == [kind] and notes == ()
    else:
        assert found == []
        (note,) = notes
        assert note.startswith("leaving out column 'c' of f.csv: ")
        assert ("dates or times" if kind == "date" else "no value") in note


def test_categories_are_text_and_missing_cells_nan(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("a,flag,kind,y\n1.5,True,p,1\n,False,,2\n2.5,,q,3\n3.5,True,p,\n")
    data = load_data(str(path), "y")
    assert data.features == Features(("a",), ("flag", "kind"), True, True)
    assert list(data.X.columns) == ["a", "flag", "kind"]
    assert data.X["flag"].tolist()[:2] == ["True", "False"]
    assert data.X["flag"].isna().tolist() == [False, False, True]
    np.testing.assert_array_equal(data.y, [1.0, 2.0, 3.0])
    assert data.description == (
        f"{path} (3 samples, 3 features: 1 numeric, 2 categorical), target 'y'"
    )


# ----------------------------------------------------- defaults that adapt


def test_epochs_adapt_to_a_large_data_set():
    grids = build_grids(["gd", "mlp"], {})
    same, note = adapt_epochs(["gd", "mlp"], grids, EPOCH_ROWS)
    assert same == grids and note is None
    fewer, note = adapt_epochs(["gd", "mlp"], grids, 43152)
    assert fewer["gd"]["epochs"] == [6] and fewer["mlp"]["epochs"] == [12]
    assert "GDRegressor 6 epochs instead of 50" in note
    assert "MLPRegressor 12 epochs instead of 100" in note
    assert "for the 43152 training rows of a fold" in note
    assert "epochs" not in grids["gd"]  # not changed in place
    huge, _ = adapt_epochs(["gd"], grids, 10**7)
    assert huge["gd"]["epochs"] == [MIN_EPOCHS]
    given = {"gd": {"epochs": [3]}}
    assert adapt_epochs(["gd"], given, 10**6) == (given, None)


def test_the_default_grid_shows_every_knob():
    grids = DEFAULT_GRIDS
    assert len(list(ParameterGrid(grids["gd"]))) == 25
    assert len(list(ParameterGrid(grids["mlp"]))) == 135
    for grid in grids.values():
        alphas = [a for a in grid["alpha"] if a > 0]
        assert 0.0 in grid["alpha"] and max(alphas) / min(alphas) >= 1e3
    assert len(grids["mlp"]["dropout"]) == 3
    assert len(grids["mlp"]["hidden_layer_sizes"]) == 3


def test_many_whole_numbers_are_a_regression(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 120
    a = rng.normal(size=n)
    price = np.round(1000 + 300 * a + rng.normal(size=n) * 10).astype(int)
    pd.DataFrame({"a": a, "price": price}).to_csv(tmp_path / "p.csv", index=False)
    args = ["--data", str(tmp_path / "p.csv"), "--target", "price"]
    status, out, err = _run(
        capsys, *args, "--estimator", "gd", *FAST, "--out", str(tmp_path / "o")
    )
    assert status == 0, err
    first = out.splitlines()[0]
    assert first.startswith("task: regression (the target holds ")
    assert "too many for class labels (at most 20)" in first
    assert "GDRegressor" in out and "valid R2" in out
    assert make_task(price).name == "regression"
    assert make_task(price, "classification").name == "classification"
    assert make_task(price % 20).name == "classification"
    assert make_task(price % 21).name == "regression"


@pytest.mark.parametrize("scheduler", [False, True])
def test_n_jobs_defaults_to_the_usable_cores(scheduler, tmp_path, capsys, monkeypatch):
    seen = []

    def run_study(*args, n_jobs, **kwargs):
        seen.append(n_jobs)
        raise KeyboardInterrupt

    monkeypatch.setattr("skgd.study.run.run_study", run_study)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5}, raising=False)
    args = ["--estimator", "gd", *FAST, "--out", str(tmp_path / "out")]
    if scheduler:  # no cluster started: run_study is refused before
        monkeypatch.setattr(cluster, "parallel_backend", lambda address: nullcontext())
        args += ["--scheduler", "local:1"]
    status, _, _ = _run(capsys, *args)
    assert status == 130
    assert seen == [-1 if scheduler else 3]


def test_default_n_jobs_without_affinity(monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 7)
    assert default_n_jobs() == 7
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert default_n_jobs() == 1


def test_n_jobs_names_its_default_in_the_help(capsys):
    assert main(["study", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"the CPUs this process may use, here {default_n_jobs()}" in out


# ------------------------------------------------------------ time left


def test_progress_shows_the_time_left(capsys):
    now = [0.0]
    progress = make_progress(True, clock=lambda: now[0])
    progress("mlp", 0, 50)
    now[0] = 1.0
    progress("mlp", 5, 50)  # too early to tell
    now[0] = 1.2
    progress("mlp", 6, 50)  # redrawn at most twice a second
    now[0] = 8.0
    progress("mlp", 20, 50)
    now[0] = 20.0
    progress("mlp", 50, 50)
    err = capsys.readouterr().err
    lines = err.split("\r")[1:]
    assert len(lines) == 4
    assert lines[0].startswith("[mlp] " + "-" * 30 + " 0/50 fits 0%, 0 s elapsed")
    assert lines[1].rstrip() == (
        "[mlp] " + "#" * 3 + "-" * 27 + " 5/50 fits 10%, 1 s elapsed"
    )
    assert lines[2].rstrip().endswith("20/50 fits 40%, 8 s elapsed, 12 s left")
    assert lines[3].endswith("\n")
    assert lines[3].rstrip() == "[mlp] " + "#" * 30 + " 50/50 fits 100% in 20 s"
    assert len(lines[3]) - 1 >= len(lines[2])  # erases the time left


def test_progress_counts_the_candidates_with_the_folds(capsys):
    now = [0.0]
    progress = make_progress(True, clock=lambda: now[0])
    progress("mlp", 0, 675, work=0.0, folds=5)
    now[0] = 8.0
    progress("mlp", 270, 675, work=0.4, folds=5)
    now[0] = 21.0
    progress("mlp", 675, 675, work=1.0, folds=5)
    lines = capsys.readouterr().err.split("\r")[1:]
    assert lines[0].rstrip() == (
        "[mlp] " + "-" * 30 + " 0/135 candidates, 0/675 fits 0%, 0 s elapsed"
    )
    assert lines[1].rstrip() == (
        "[mlp] " + "#" * 12 + "-" * 18 + " 54/135 candidates, 270/675 fits 40%, "
        "8 s elapsed, 12 s left"
    )
    assert lines[2].rstrip() == (
        "[mlp] " + "#" * 30 + " 135/135 candidates, 675/675 fits 100% in 21 s"
    )
    assert lines[2].endswith("\n") and len(lines[2]) - 1 >= len(lines[1])


def test_progress_weighs_the_work_the_search_reports(capsys):
    now = [0.0]
    progress = make_progress(True, clock=lambda: now[0])
    progress("mlp", 0, 100, work=0.0)
    now[0] = 10.0
    progress("mlp", 20, 100, work=0.5)  # the wide networks' fits came first
    err = capsys.readouterr().err
    assert err.endswith(
        "[mlp] " + "#" * 15 + "-" * 15 + " 20/100 fits 50%, 10 s elapsed, 10 s left"
    )


def test_cross_validate_grid_reports_the_work_done():
    calls = []
    grid = {"hidden_layer_sizes": [(2,), (30,)], "epochs": [1]}
    pipeline = make_pipeline("mlp", 0, grid=grid)
    X, y = np.random.default_rng(0).normal(size=(40, 2)), np.arange(40.0)
    cv = REGRESSION.splitter(2, 0)

    def progress(done, total, work, folds):
        calls.append((done, total, work))
        assert folds == 2

    stats = {}
    cross_validate_grid(pipeline, grid, X, y, cv, progress=progress, stats=stats)
    assert stats == {"fits": 4, "stacked": 4}
    assert calls[0] == (0, 4, 0.0) and calls[-1][:2] == (4, 4)
    # The 30 units first: two fits of cost 4 against two of cost 1.2.
    assert [work for _, _, work in calls] == pytest.approx(
        [0, 4 / 10.4, 8 / 10.4, 9.2 / 10.4, 1]
    )


def test_progress_restarts_for_each_estimator(capsys):
    now = [0.0]
    progress = make_progress(True, clock=lambda: now[0])
    progress("gd", 0, 4)
    now[0] = 100.0
    progress("gd", 4, 4)
    progress("mlp", 0, 10)
    now[0] = 104.0
    progress("mlp", 5, 10)
    err = capsys.readouterr().err
    assert err.endswith("5/10 fits 50%, 4 s elapsed, 4 s left")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (0.2, "1 s"),
        (59.5, "1 min 0 s"),
        (61, "1 min 1 s"),
        (7322, "2 h 2 min"),
    ],
)
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_the_baselines_match_scikit_learn_on_the_same_folds(task):
    """Each baseline scores as scikit-learn's cross_validate of the same
    preprocessing and model, on the study's folds."""
    frame = _frame(n=80).dropna(subset=["price"])
    y = frame["price"].to_numpy()
    if task == "classification":
        y = np.where(y > np.median(y), "high", "low")
    data_kinds, _ = sort_columns(frame.drop(columns=["price"]), "f.csv")
    X = frame[[*data_kinds["numeric"], *data_kinds["categorical"]]]
    features = Features(tuple(data_kinds["numeric"]), ("cut",), True, True)
    study_task = make_task(y, task)
    cv = study_task.splitter(3, 0)
    baselines = run_baselines(X, y, cv, task=study_task, features=features)
    names = [b.name for b in baselines]
    expected = {
        "regression": ["RidgeCV", "HistGradientBoostingRegressor", "DummyRegressor"],
        "classification": [
            "LogisticRegression", "HistGradientBoostingClassifier", "DummyClassifier",
        ],
    }  # fmt: skip
    assert names == expected[task]
    assert [b.kind for b in baselines] == ["linear", "boosting", "dummy"]
    models = baseline_models(study_task, 0)
    for baseline, (*_, model) in zip(baselines, models):
        pipeline = Pipeline([make_preprocessor(features), ("model", model)])
        scores = cross_validate(pipeline, X, y, cv=cv, return_train_score=True)
        row = baseline.row
        assert row["mean_val_score"] == pytest.approx(np.mean(scores["test_score"]))
        assert row["mean_train_score"] == pytest.approx(np.mean(scores["train_score"]))
        assert not row["failed"]
    dummy = baselines[-1].row["mean_val_score"]
    assert dummy < 0.01 if task == "regression" else dummy <= 0.6
    assert baselines[0].row["mean_val_score"] > 0.8  # price follows the cut


def test_the_study_prints_and_writes_its_baselines(real_csv, tmp_path, capsys):
    args = ["--data", str(real_csv), "--target", "price", "--estimator", "gd"]
    status, out, err = _run(capsys, *args, *FAST, "--out", str(tmp_path / "o"))
    assert status == 0, err
    assert "Baselines: the same 2 folds and preprocessing, mean R2" in out
    table = out.split("Baselines: ")[1].splitlines()
    assert table[1].split() == [
        "model", "train", "R2", "valid", "R2", "+/-", "std", "gap", "fit", "s",
    ]  # fmt: skip
    assert [line.split()[0] for line in table[2:5]] == [
        "RidgeCV", "HistGradientBoostingRegressor", "DummyRegressor",
    ]  # fmt: skip
    assert "DummyRegressor (the mean)" in table[4]
    standing = [line for line in out.splitlines() if "best skgd candidate" in line]
    assert len(standing) == 1 and "RidgeCV (" in standing[0]
    assert "the dummy model (the mean: " in standing[0]
    records = json.loads((tmp_path / "o" / "baselines.json").read_text())
    assert [r["model"] for r in records] == [line.split()[0] for line in table[2:5]]
    assert {"mean_val_r2", "std_val_r2", "mean_train_r2", "gap"} <= set(records[0])
    page = (tmp_path / "o" / "report.html").read_text()
    assert page.index("class='standing'") < page.index("id='baselines'")
    assert "<th>train R²</th><th>valid R² ± std</th>" in page
    assert html.escape(standing[0].replace("R2", "R²").replace("+/-", "±")) in page


def test_the_study_says_its_time_and_the_fits_it_stacked(tmp_path, capsys):
    args = ["--estimator", "both", "--param", "learning_rate=1e-2,1e-1", *FAST]
    status, out, err = _run(capsys, *args, "--out", str(tmp_path / "o"))
    assert status == 0, err
    (line,) = [line for line in out.splitlines() if line.startswith("The study took")]
    assert re.fullmatch(
        r"The study took \d+ s: GDRegressor \d+ s and MLPRegressor \d+ s \(range "
        r"test, search and refit\), the baselines \d+ s; 8 of its 8 fits were "
        r"stacked, trained in runs of many candidates at once\.",
        line,
    )
    page = (tmp_path / "o" / "report.html").read_text()
    assert f"<p class='time'>{line}</p>" in page
    assert page.index("class='time'") < page.index("<h2 id='gd'>")


def test_boosting_takes_the_one_hot_code_dense(tmp_path, monkeypatch, capsys):
    """A categorical column of many categories makes the one-hot code sparse,
    which HistGradientBoosting refuses: its baseline takes it dense, unless
    that would take too much memory."""
    rng = np.random.default_rng(0)
    cat = rng.choice([f"c{i}" for i in range(40)], 200)
    x = rng.normal(size=200)
    y = x + np.array([int(c[1:]) for c in cat]) / 10 + 0.1 * rng.normal(size=200)
    pd.DataFrame({"x": x, "cat": cat, "y": y}).to_csv(tmp_path / "s.csv", index=False)
    data = load_data(str(tmp_path / "s.csv"), "y")
    task = make_task(data.y)
    cv = task.splitter(3, 0)
    baselines = run_baselines(data.X, data.y, cv, task=task, features=data.features)
    assert [b.row["failed"] for b in baselines] == [False, False, False]
    assert baselines[1].row["mean_val_score"] > 0.2  # scored, dense
    n_bytes = 200 * (1 + data.X["cat"].nunique()) * 8  # x, and one per category
    assert dense_bytes(data.X, data.features) == n_bytes
    monkeypatch.setattr("skgd.study.baselines.DENSE_BYTES", n_bytes - 1)
    baselines = run_baselines(data.X, data.y, cv, task=task, features=data.features)
    assert [b.kind for b in baselines] == ["linear", "dummy"]
    args = ["--data", str(tmp_path / "s.csv"), "--target", "y", "--estimator", "gd"]
    status, _, err = _run(capsys, *args, *FAST, "--out", str(tmp_path / "o"))
    assert status == 0, err
    assert "note: gradient boosting is left out of the baselines: its dense " in err
    records = json.loads((tmp_path / "o" / "baselines.json").read_text())
    assert [r["model"] for r in records] == ["RidgeCV", "DummyRegressor"]
