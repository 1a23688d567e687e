"""The built site as a reader sees it, in a real browser (the OS's headless Chromium).

The book test builds the site into ``_build/test-site``; this test serves it on 127.0.0.1,
opens every page and fails when a page requests anything outside the site, shows math made
from text that is not a formula (a price), shows raw TeX delimiters, lacks a figure its lab
drew, has an image without alt text, links to a page that does not exist, or logs a browser
console error. A few full-page screenshots are kept in ``_build/site-screenshots`` for a
person to look at.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from labkit.notebooks import source_digest
from labkit.paths import REPO_ROOT

SITE = REPO_ROOT / "_build" / "test-site"
SCREENSHOTS = REPO_ROOT / "_build" / "site-screenshots"
EXECUTED = REPO_ROOT / "_build" / "executed"
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ("intro.html", "labs/00-getting-started/00-check-environment.html",
         "chapters/03-responsible-and-generative-ai/16-clarify.html",
         "chapters/reference/mock-exam.html")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

# Prose inside a formula: three words in a row, or a price at the start ("0.03 — one job").
PROSE_IN_MATH = re.compile(r"(?<!\\)\b[A-Za-z]{3,}\s+[A-Za-z]{3,}\s+[A-Za-z]{3,}\b|^\s*\d+\.\d\d\b")
TEXT_COMMANDS = re.compile(r"\\(?:text|mathrm|textrm|operatorname|mbox)\{[^}]*\}")

# What the page's visible text may not contain: TeX that MathJax did not typeset.
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$")

VISIBLE_TEXT = """() => {
  const root = document.querySelector('main') || document.body;
  const clone = root.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .highlight')
       .forEach(n => n.remove());
  return clone.innerText;
}"""


def _pages() -> list[str]:
    if not SITE.exists():
        return []
    return sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
                  if not p.relative_to(SITE).parts[0].startswith(("_", "genindex", "search")))


@pytest.fixture(scope="module")
def site_url(request: pytest.FixtureRequest) -> Iterator[str]:
    book_ran = any(item.get_closest_marker("book") and "test_book" in item.nodeid
                   for item in request.session.items)
    if not SITE.exists():
        if book_ran:
            pytest.fail("the book test ran but left no site in _build/test-site")
        pytest.skip("no built site: run the book test (tests/test_book.py) first")
    if not CHROMIUM.exists():
        pytest.fail("no Chromium at /usr/bin/chromium: apt-get install chromium (.ci/run does)")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def browser(site_url: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def figures_drawn(page: str) -> int:
    """How many images the lab behind ``page`` drew, when the site shows that very run."""
    notebook = EXECUTED / page.replace(".html", ".ipynb")
    source = REPO_ROOT / page.replace(".html", ".ipynb")
    if not notebook.exists() or not source.exists():
        return 0
    executed = json.loads(notebook.read_text(encoding="utf-8"))
    stored = json.loads(source.read_text(encoding="utf-8"))
    if executed["metadata"].get("labkit", {}).get("source_sha256") != source_digest(stored):
        return 0  # the book executed this lab itself
    return sum("image/png" in out.get("data", {})
               for cell in executed["cells"] if cell["cell_type"] == "code"
               for out in cell["outputs"])


def test_the_checks_catch_what_they_look_for():
    # The detectors themselves, on the defects the site once had.
    assert PROSE_IN_MATH.search("0.03 — one Clarify processing job … locally ")
    assert not PROSE_IN_MATH.search(TEXT_COMMANDS.sub("", r"q_a - q_d = \text{one two three}"))
    assert not PROSE_IN_MATH.search(r"\mathrm{DPL} = q_a - q_d")
    assert RAW_TEX.search(r"the formula \(q_a - q_d\) shown raw")
    assert not RAW_TEX.search("costs US$5 to $10")


class Reader:
    """One browser tab that visits pages and notes what a reader would notice."""

    def __init__(self, browser, site_url: str) -> None:
        self.site_url = site_url
        self.context = browser.new_context()
        self.tab = self.context.new_page()
        self.problems: list[str] = []
        self.tab.on("request", self._request)
        self.tab.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                    if m.type == "error" else None)
        self.tab.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def _request(self, request) -> None:
        if not request.url.startswith((self.site_url, "data:", "blob:")):
            self.problems.append(f"requested outside the site: {request.url}")

    def visit(self, page: str) -> list[str]:
        # Chromium aborts loads when the machine's network interfaces change (Docker adding
        # a bridge for a container): such a visit is repeated, up to twice.
        for _ in range(3):
            self.problems = []
            self.tab.goto(urljoin(self.site_url, page), wait_until="load")
            self.tab.wait_for_function(
                "() => !window.MathJax || !MathJax.startup || !MathJax.startup.promise || "
                "MathJax.startup.promise.then(() => true)", timeout=20000)
            if not any("ERR_NETWORK_CHANGED" in p for p in self.problems):
                break
        return self.problems + self.inspect(page)

    def inspect(self, page: str) -> list[str]:
        problems = []
        tab = self.tab
        html = (SITE / page).read_text(encoding="utf-8")
        for formula in re.findall(
                r'<span class="math notranslate nohighlight">\\\((.*?)\\\)</span>', html, re.S):
            if PROSE_IN_MATH.search(TEXT_COMMANDS.sub("", formula)):
                problems.append(f"text rendered as math: {formula[:80]!r}")
        raw = RAW_TEX.search(tab.evaluate(VISIBLE_TEXT))
        if raw:
            problems.append(f"raw TeX delimiters visible: {raw.group(0)!r}")
        images = tab.eval_on_selector_all(
            "main img", "els => els.map(e => [e.getAttribute('src'), e.getAttribute('alt'), "
            "e.naturalWidth])")
        for src, alt, width in images:
            name = Path(urlparse(src or "").path).name
            if not alt or not alt.strip() or alt.strip() in (src, name) or "_images/" in alt:
                problems.append(f"image without alt text: {src}")
            if not width:
                problems.append(f"image that does not load: {src}")
        drawn = figures_drawn(page)
        if drawn and len(images) < drawn:
            problems.append(f"the lab drew {drawn} figures, the page shows {len(images)}")
        root = urlparse(self.site_url).path
        for link in tab.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            if link.startswith(self.site_url):
                target = urlparse(link).path[len(root):] or "index.html"
                if not (SITE / target).exists() and not (SITE / target / "index.html").exists():
                    problems.append(f"broken link to {target}")
        if page in SHOTS:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(SCREENSHOTS / (page.replace("/", "__") + ".png")),
                           full_page=True)
        return problems


@pytest.mark.book
def test_every_page_as_a_reader_sees_it(browser, site_url: str) -> None:
    pages = _pages()
    assert "intro.html" in pages and any(p.startswith("labs/") for p in pages), pages
    reader = Reader(browser, site_url)
    # index.html is Jupyter Book's redirect to the first page, not a page of its own
    redirects = {p for p in pages if 'http-equiv="Refresh"' in (SITE / p).read_text()}
    assert redirects <= {"index.html"}, redirects
    to_visit = [page for page in pages if page not in redirects]
    # Two readers, each its own browser in its own thread (Playwright's sync API is per
    # thread): the machine's second core would otherwise idle while one tab loads.
    found: dict[str, list[str]] = {}
    failures: list[BaseException] = []

    def second_reader(share: list[str]) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as play:
                other = play.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS)
                try:
                    helper = Reader(other, site_url)
                    found.update({page: helper.visit(page) for page in share})
                finally:
                    other.close()
        except BaseException as error:  # noqa: BLE001  re-raised in the test's thread
            failures.append(error)

    thread = threading.Thread(target=second_reader, args=(to_visit[1::2],))
    thread.start()
    try:
        found.update({page: reader.visit(page) for page in to_visit[0::2]})
    finally:
        thread.join()
        reader.context.close()
    if failures:
        raise failures[0]
    assert sorted(found) == sorted(to_visit), "a page was not visited"
    report = [f"{page}: {problem}" for page, problems in found.items() for problem in problems]
    print(f"checked {len(pages)} pages")
    assert not report, "\n".join(report)


@pytest.mark.book
def test_mock_exam_scores_a_known_set_of_answers(browser, site_url: str) -> None:
    tab = browser.new_context().new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(urljoin(site_url, "chapters/reference/mock-exam.html?seed=7"), wait_until="load")
    exam = tab.evaluate("() => window.mockExam")
    questions = exam["questions"]
    assert exam["seed"] == 7 and len(questions) == 65
    assert len({q["label"] for q in questions}) == 65, "a question was drawn twice"
    expected = {"1": 0, "2": 0, "3": 0, "4": 0}
    for q in questions:
        n, key, right = q["n"], q["key"], q["n"] % 3 != 0  # answer two in three correctly
        if q["kind"] == "single":
            choice = key[0] if right else next(k for k in q["shown"] if k != key[0])
            tab.check(f'input[name="q{n}"][value="{choice}"]')
        elif q["kind"] == "multiple":
            for letter in key if right else key[:1]:
                tab.check(f'input[name="q{n}"][value="{letter}"]')
        elif q["kind"] == "order":
            ranks = key if right else list(reversed(key))
            for position, letter in enumerate(ranks, start=1):
                tab.select_option(f'select[name="q{n}-{letter}"]', index=position)
        elif right:  # match; a wrong one is left unanswered
            for item, letter in enumerate(key):
                # by index: Playwright matches a value against option labels too
                tab.select_option(f'select[name="q{n}-item{item}"]',
                                  index=q["shown"].index(letter) + 1)
        expected[q["domain"]] += right
    tab.click("#mock-submit")
    result = tab.evaluate("() => window.mockExam.result")
    assert result["right"] == sum(expected.values()) == 43
    assert {p["d"]: p["right"] for p in result["perDomain"]} == expected
    assert f"{result['right']} of 65" in tab.inner_text("#mock-score")
    assert tab.locator("#mock-result ol > li > a[href*='#']").count() == 65 - 43, (
        "a review link per miss")
    # The same seed draws the same exam; another seed another order.
    tab.goto(urljoin(site_url, "chapters/reference/mock-exam.html?seed=7"), wait_until="load")
    assert [q["label"] for q in tab.evaluate("() => window.mockExam.questions")] == [
        q["label"] for q in questions]
    tab.goto(urljoin(site_url, "chapters/reference/mock-exam.html?seed=8"), wait_until="load")
    assert [q["label"] for q in tab.evaluate("() => window.mockExam.questions")] != [
        q["label"] for q in questions]
    assert not errors, errors
