"""The study's ``report.html``, rendered in a real browser.

Headless Chromium, the system's (Debian's ``chromium`` package, which
``.ci/run`` installs), driven by Playwright, which never downloads a browser
of its own here. A report must load every image, make no network request and
fit the width of a laptop's window; the hand-made pages at the end prove that
each check fails on the defect it looks for.
"""

import shutil
import subprocess
import sys

import pytest

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright drives Chromium: pip install '.[test]'"
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium to render the report: apt-get install chromium "
    "(.ci/run installs it)",
)

#: Quiet and offline: no first-run, sync, update or background connections,
#: and every http(s) request, to loopback too, goes to a proxy that is not
#: there, so that it fails (and is recorded) instead of reaching out.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
]
#: A laptop's window.
VIEWPORT = {"width": 1024, "height": 768}
#: URL schemes that stay on this machine.
LOCAL_SCHEMES = ("data:", "file:", "about:", "blob:")
#: A small study with a report of every part: two folds, few epochs, and two
#: or three values of a few knobs (a --param replaces the whole default grid).
SMALL = ["--cv", "2", "--param", "epochs=5", "--param", "learning_rate=1e-3,1e-2,0.1"]
SMALL += ["--param", "alpha=0,0.1", "--param", "hidden_layer_sizes=8,32", "--quiet"]

#: What the page shows of itself once loaded: its width, its images, and the
#: elements that hide part of their content, behind a scrollbar or a clip.
INSPECT = """() => {
  const root = document.documentElement;
  const name = e => e.tagName.toLowerCase()
    + (e.className ? "." + String(e.className).trim().split(/\\s+/).join(".") : "");
  const hiding = [...document.querySelectorAll("*")].filter(e =>
    !["visible", ""].includes(getComputedStyle(e).overflowX)
    && e.scrollWidth > e.clientWidth + 1);
  return {
    scrollWidth: root.scrollWidth,
    clientWidth: root.clientWidth,
    images: [...document.images].map(img => ({
      src: (img.getAttribute("src") || "").slice(0, 60),
      alt: img.alt,
      loaded: img.complete && img.naturalWidth > 0,
    })),
    hiding: hiding.map(e => `${name(e)} shows ${e.clientWidth} of its `
      + `${e.scrollWidth} px: ${e.textContent.trim().slice(0, 50)}`),
  };
}"""


def run_study(out, *options):
    """Run ``skgd study`` as a user would, writing to ``out``; its stdout."""
    command = [sys.executable, "-m", "skgd", "study", "--out", str(out), *options]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS
        )
        yield chromium
        chromium.close()


def render(browser, html, screenshot=None):
    """Open the file ``html``; what it requested and what it shows."""
    page = browser.new_page(viewport=VIEWPORT)
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(html.as_uri(), wait_until="load", timeout=60_000)
    page.wait_for_load_state("networkidle")  # every request made is recorded
    seen = page.evaluate(INSPECT)
    if screenshot is not None:
        page.screenshot(path=screenshot, full_page=True)
    page.close()
    seen["requests"] = requests
    return seen


def leaks(seen):
    """Network requests and images not loaded, one line each."""
    found = [
        f"request to {url}"
        for url in seen["requests"]
        if not url.startswith(LOCAL_SCHEMES)
    ]
    found += [
        f"image not loaded: {img['src']!r} ({img['alt'][:40]})"
        for img in seen["images"]
        if not img["loaded"]
    ]
    return found


def overflows(seen):
    """Content wider than the window, or hidden behind a scrollbar or a clip."""
    found = [f"overflow: {line}" for line in seen["hiding"]]
    if seen["scrollWidth"] > seen["clientWidth"]:
        found.append(
            f"the page is {seen['scrollWidth']} px wide in a "
            f"{seen['clientWidth']} px window"
        )
    return found


@pytest.fixture(
    scope="module",
    params=[("diabetes", "regression"), ("iris", "classification")],
    ids=lambda param: param[1],
)
def report(request, browser, tmp_path_factory):
    """A small study's report, rendered once: task, what it showed, screenshot."""
    dataset, task = request.param
    out = tmp_path_factory.mktemp(task)
    stdout = run_study(out / "study", "--dataset", dataset, *SMALL)
    assert stdout.startswith(f"task: {task}")
    screenshot = out / "report.png"
    return task, render(browser, out / "study" / "report.html", screenshot), screenshot


def test_report_loads_every_image_and_nothing_from_the_network(report):
    _, seen, screenshot = report
    assert leaks(seen) == []
    assert len(seen["images"]) >= 4  # each estimator's figures, at least
    assert all(img["src"].startswith("data:image/png") for img in seen["images"])
    assert all(img["alt"] for img in seen["images"])
    assert seen["requests"][0].startswith("file:")  # the page itself, seen
    assert screenshot.read_bytes().startswith(b"\x89PNG")


def test_report_fits_the_window(report):
    _, seen, _ = report
    assert overflows(seen) == []


# Hand-made pages, each with one defect, and one without: the checks above
# must see each defect and nothing on the sound page.

#: A 2 x 2 PNG.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR42mM8ISfHwMDAxMDAwMDA"
    "AAANBAEIf62CUQAAAABJRU5ErkJggg=="
)
SOUND = f'<p>Fine.</p><img alt="a dot" src="data:image/png;base64,{PNG}">'
WIDE_ROW = "<tr>" + "<td>a&nbsp;long&nbsp;cell&nbsp;of&nbsp;notes</td>" * 40 + "</tr>"
DEFECTS = {
    "table in a scroll box": (
        f'<div style="overflow-x:auto"><table>{WIDE_ROW}</table></div>',
        "overflow: div",
    ),
    "table wider than the page": (f"<table>{WIDE_ROW}</table>", "the page is"),
    "broken image": (
        '<img alt="broken" src="data:image/png;base64,bm90IGEgcG5n">',
        "image not loaded: 'data:image/png;base64,bm90IGEgcG5n' (broken)",
    ),
    "image from the web": (
        '<img alt="remote" src="http://example.com/x.png">',
        "request to http://example.com/x.png",
    ),
    "script fetching from the web": (
        "<script>fetch('https://example.org/data.json').catch(() => {})</script>",
        "request to https://example.org/data.json",
    ),
}


def _page(path, body):
    path.write_text(f"<!DOCTYPE html><html><body>{body}</body></html>")
    return path


def test_a_sound_page_has_no_problem(browser, tmp_path):
    seen = render(browser, _page(tmp_path / "sound.html", SOUND))
    assert leaks(seen) + overflows(seen) == []
    assert seen["images"] == [
        {"src": f"data:image/png;base64,{PNG}"[:60], "alt": "a dot", "loaded": True}
    ]


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_defect_is_seen(browser, tmp_path, defect):
    body, expected = DEFECTS[defect]
    seen = render(browser, _page(tmp_path / "page.html", SOUND + body))
    found = leaks(seen) + overflows(seen)
    assert any(line.startswith(expected) for line in found), found
