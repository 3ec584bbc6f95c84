"""The Snakemake report opened the way a reader opens it: in a real browser (Debian's
headless Chromium driven by Selenium through Debian's chromedriver; nothing is downloaded).

`report_problems(html)` is the check, a plain function of the report's path: every result of
the report that is an image loads (decoded, non-zero natural size), every result has a
caption, clicking through the navigation (each category, each subcategory, each result's view
and info buttons) shows the image and its caption, and the console logs no error. It returns
one line per problem, so a test asserts it is empty and another that it is not for a broken
copy. With `screenshot=`, it also saves the start page as a PNG (docs/report.png is made so:
`python tests/test_report_browser.py report.html docs/report.png`).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# What a reader's laptop window shows: the figures at the size a reader sees them.
WINDOW = (1400, 900)
# Only a guard against a hung browser (a report that never renders fails with a message):
# nothing is timed, every wait returns as soon as its condition holds.
HANG_GUARD_S = 120

NAV_ITEMS = "nav li > a"  # category and subcategory entries of the report's sidebar
ROW_BUTTONS = "table tbody tr td div[role=group] a[type=button]"  # per result: view, info
TOGGLES = "fieldset label"  # the two values of a label the report flips between (x axis)


def _missing_browser() -> str | None:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        return f"no {CHROMIUM} and {CHROMEDRIVER} (bash .ci/install_chromium.sh installs them)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (the lock's test extra has it)"
    return None


def _chromium(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 f"--window-size={WINDOW[0]},{WINDOW[1]}"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The Service names Debian's chromedriver, so Selenium Manager never looks for (or
    # downloads) a driver or a browser.
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


def _wait(driver, condition, what: str):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, HANG_GUARD_S).until(condition)
    except TimeoutException:
        raise AssertionError(f"report never {what}") from None


# The image types the report's viewer shows inline (snakemake's AbstractViewManager); any
# other image (e.g. a GIF) is offered as a download only, so a reader never sees it in the page.
INLINE_IMAGES = ("image/png", "image/jpeg", "image/svg+xml")

# Loads each image result's data into a fresh <img>, as the report's own view does, and
# reports its natural size (0 x 0 when the browser cannot decode it).
_LOAD_IMAGES = """
const done = arguments[arguments.length - 1];
const paths = Object.keys(results).filter(p => (results[p].mime_type || "").startsWith("image/"));
Promise.all(paths.map(p => new Promise(resolve => {
    const img = new Image();
    img.onload = () => resolve([p, img.naturalWidth, img.naturalHeight]);
    img.onerror = () => resolve([p, 0, 0]);
    img.src = results[p].data_uri;
}))).then(done);
"""


def _settled(driver) -> bool:
    """No CSS transition or animation running (the sidebar slides in): what a screenshot
    should wait for, so it shows the page at rest."""
    return driver.execute_script("return document.getAnimations().length === 0")


def _screenshot(driver, path) -> None:
    _wait(driver, _settled, "came to rest")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))


def _click_text(driver, selector: str, text: str) -> bool:
    for element in driver.find_elements("css selector", selector):
        if element.text.strip() == text:
            element.click()
            return True
    return False


def _shown_image(driver):
    """(natural width, height) of the image in the content pane once it has loaded, or None
    when the pane shows no image."""
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const img = document.querySelector("#app img:not(nav img)");
        if (!img) { done(null); return; }
        const report = () => done([img.naturalWidth, img.naturalHeight]);
        if (img.complete) report(); else { img.onload = report; img.onerror = report; }
    """)


def report_problems(html: str | Path, screenshot: str | Path | None = None,
                    figure_screenshot: str | Path | None = None) -> list[str]:
    """Everything a reader of the report at `html` would find broken, one line each (empty
    when the report is whole). Saves the start page to `screenshot` and the first figure as
    the report shows it to `figure_screenshot` when given."""
    html = Path(html).resolve()
    problems: list[str] = []
    profile = Path(tempfile.mkdtemp(prefix="report-browser-"))  # fresh profile every time
    driver = _chromium(profile)
    try:
        driver.set_script_timeout(HANG_GUARD_S)
        driver.get(html.as_uri())  # returns after the page's load event
        _wait(driver, lambda d: d.find_elements("css selector", NAV_ITEMS), "showed its navigation")
        if screenshot is not None:
            _screenshot(driver, screenshot)
        results = driver.execute_script("return results")
        categories = driver.execute_script("return categories")
        if not results:
            problems.append("the report holds no results")
        for path, width, height in driver.execute_async_script(_LOAD_IMAGES):
            if not (width and height):
                problems.append(f"{path}: image does not load ({width}x{height})")
        for path, result in results.items():
            if not (result.get("caption") or "").strip():
                problems.append(f"{path}: no caption")
            mime = result.get("mime_type") or ""
            if mime.startswith("image/") and mime not in INLINE_IMAGES:
                problems.append(f"{path}: the report's viewer cannot show {mime} (it offers a download)")
        problems += _navigate(driver, categories, results, figure_screenshot)
        problems += [f"console {entry['level']}: {entry['message'][:200]}"
                     for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]  # fmt: skip
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return problems


def _open(driver, start: str, category: str, subcategory: str, single: bool) -> str | None:
    """From the start page, click the category and then the subcategory in the sidebar;
    the problem when either is missing."""
    driver.get(start)
    _wait(driver, lambda d: d.find_elements("css selector", NAV_ITEMS), "showed its navigation")
    if not _click_text(driver, NAV_ITEMS, category):
        return f"category {category!r}: no menu entry"
    if single:  # the report lists a lone subcategory's results at once, without an entry
        return None
    if not _click_text(driver, NAV_ITEMS, subcategory):
        return f"category {category!r}: no entry for subcategory {subcategory!r}"
    return None


def _navigate(driver, categories: dict, results: dict, figure_screenshot=None) -> list[str]:
    """Click each category, each subcategory, each value of its toggle (the learning curves'
    x axis: the report lists one row per env and flips between a row's two figures) and each
    listed result's view and info buttons, from the start page each time, checking that what
    is clicked shows up."""
    problems = []
    start = driver.current_url
    for category, subcategories in categories.items():
        single = len(subcategories) == 1
        for subcategory, paths in subcategories.items():
            where = f"{category} / {subcategory}"
            problem = _open(driver, start, category, subcategory, single)
            if problem:
                problems.append(problem)
                continue
            n_rows = len(driver.find_elements("css selector", "table tbody tr"))
            if not n_rows:
                problems.append(f"{where}: no results listed")
            n_toggles = len(driver.find_elements("css selector", TOGGLES))
            images = any((results[p].get("mime_type") or "").startswith("image/") for p in paths)
            for toggle in range(max(n_toggles, 1)):
                for i in range(n_rows):
                    _open(driver, start, category, subcategory, single)
                    if n_toggles:
                        driver.find_elements("css selector", TOGGLES)[toggle].click()
                    found, shot = _check_row(driver, i, where, paths, results, images, figure_screenshot)
                    problems += found
                    if shot:
                        figure_screenshot = None  # one screenshot: the first figure shown
    return problems


def _check_row(driver, i: int, where: str, paths, results, images: bool, figure_screenshot):
    """Row i of the listed results: its view button shows its image, its info its caption.
    Returns the problems and whether it saved `figure_screenshot`."""
    problems, shot = [], False
    row = driver.find_elements("css selector", "table tbody tr")[i]
    label = row.find_element("css selector", "td").text.strip()
    toggled = [t.text.strip() for t in driver.find_elements("css selector", TOGGLES)
               if t.find_element("css selector", "input").is_selected()]  # fmt: skip
    name = " / ".join([label, *toggled])
    view, info = driver.find_elements("css selector", ROW_BUTTONS)[2 * i : 2 * i + 2]
    # A row's result, by its first label (what the table's first column shows); an image
    # the viewer cannot show inline is reported once, from the data.
    mimes = {results[p].get("mime_type") for p in paths
             if label in map(str, (results[p].get("labels") or {}).values()) or label == p}  # fmt: skip
    inline = images and not (mimes and mimes.isdisjoint(INLINE_IMAGES))
    view.click()
    shown = _shown_image(driver)
    if inline and not (shown and shown[0] and shown[1]):
        problems.append(f"{where}: {name!r} shows no image ({shown})")
    elif shown and figure_screenshot is not None:
        _screenshot(driver, figure_screenshot)
        shot = True
    info.click()
    if not any(d.text.strip() for d in driver.find_elements("css selector", "nav .prose")):
        problems.append(f"{where}: {name!r} info shows no caption")
    return problems, shot


# ---------------------------------------------------------------------------------------
# Tests: the tiny config's report (built as tests/test_pipeline_e2e.py builds its pipeline),
# then broken copies of it.

MISSING = _missing_browser()
needs_browser = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    from pipeline_helpers import TINY, copy_workflow, snakemake

    wd = copy_workflow(tmp_path_factory.mktemp("report"))
    run = snakemake(wd, "--cores", "2", "--configfile", *TINY)
    assert run.returncode == 0, run.stderr[-3000:]
    report = snakemake(wd, "--configfile", *TINY, "--report", "report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    return wd / "report.html"


def _results_json(html: str) -> tuple[int, int, dict]:
    """Where the report's `var results = {...};` JSON sits in the page, and the JSON."""
    import json

    # The results' own script element (the bundled libraries also say "var results").
    start = html.index("var results = ", html.index('<script id="results">')) + len("var results = ")
    end = html.index(";\n", start)
    return start, end, json.loads(html[start:end])


def _broken_copy(report: Path, dest: Path, break_result) -> Path:
    import json

    html = report.read_text()
    start, end, results = _results_json(html)
    break_result(results)
    dest.write_text(html[:start] + json.dumps(results) + html[end:])
    return dest


@needs_browser
def test_tiny_report_renders_every_figure_with_its_caption(tiny_report):
    problems = report_problems(tiny_report)
    assert not problems, f"{problems[0]} (and {len(problems) - 1} more)"


@needs_browser
def test_tiny_report_problems_are_only_the_gif(tiny_report):
    """Until the rollouts animation is reported as a PNG, its GIF is the one problem."""
    problems = report_problems(tiny_report)
    others = [p for p in problems if "collapse_rollouts.gif" not in p]
    assert not others, f"{others[0]} (and {len(others) - 1} more)"


@needs_browser
def test_check_fails_on_an_image_without_data(tiny_report, tmp_path):
    # A learning curve by episodes: the row shows it only once the x-axis toggle is flipped.
    def strip_first_png(results):
        path = next(p for p in results if p.endswith("learning_curves_CartPole-v1.png"))
        results[path]["data_uri"] = "data:image/png;base64,"

    problems = report_problems(_broken_copy(tiny_report, tmp_path / "broken.html", strip_first_png))
    assert any("image does not load" in p for p in problems), problems
    assert any("shows no image" in p for p in problems), problems


@needs_browser
def test_check_fails_on_a_missing_caption(tiny_report, tmp_path):
    def drop_first_caption(results):
        results[next(iter(results))]["caption"] = ""

    problems = report_problems(_broken_copy(tiny_report, tmp_path / "uncaptioned.html", drop_first_caption))
    assert any("no caption" in p for p in problems), problems


if __name__ == "__main__":
    # python tests/test_report_browser.py REPORT.html START.png [FIGURE.png]: the check, with
    # screenshots (docs/report.png is made this way from the committed results' report).
    found = report_problems(sys.argv[1], *sys.argv[2:4])
    print("\n".join(found) or "report OK")
    sys.exit(1 if found else 0)
