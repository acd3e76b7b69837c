"""Open the built book in headless Chromium and collect what a reader would see.

Used by the reader checks (``tests/test_browser.py``) and usable by hand::

    from veiligverder.browser import headless_chromium, serve_directory, open_page, save_screenshot
    with serve_directory(out / "html") as site, headless_chromium() as driver:
        facts = open_page(driver, site + "index.html")
        save_screenshot(driver, out / "screenshots" / "index.png")

The browser is the Debian ``chromium`` package driven by the Debian ``chromium-driver``
(``make browser-deps`` installs both) through selenium, with the driver path given explicitly so
that selenium-manager never tries to download a browser. The site is served over http on
127.0.0.1 because Sphinx's search loads its index with a request that ``file://`` pages may not make.
"""

from __future__ import annotations

import base64
import functools
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# Headless, no sandbox (CI runs as root), and no traffic of Chromium's own (updates, sync, QUIC).
CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class BrowserUnavailableError(ValueError):
    """Chromium or its driver is missing or would not start; the message names the path and the fix."""


@dataclass(frozen=True)
class ImageFact:
    """One ``<img>`` as the browser loaded it."""

    src: str
    complete: bool
    natural_width: int
    natural_height: int

    @property
    def loaded(self) -> bool:
        """True when the image finished loading with real pixels (a broken image has width 0)."""
        return self.complete and self.natural_width > 0


@dataclass(frozen=True)
class PageFacts:
    """What a reader sees on one page.

    ``title`` is the text of the article's first ``<h1>`` without its permalink anchor;
    ``body_text`` is every text node of the article (also inside closed dropdowns) without
    scripts and styles; ``paragraphs`` is the rendered text of the article's ``<p>`` elements;
    ``diagrams``/``diagrams_rendered`` count the mermaid blocks and those drawn as SVG.
    """

    url: str
    title: str
    images: tuple[ImageFact, ...]
    body_text: str
    paragraphs: tuple[str, ...]
    diagrams: int
    diagrams_rendered: int

    @property
    def broken_images(self) -> list[str]:
        return [image.src for image in self.images if not image.loaded]


@dataclass(frozen=True)
class SearchOutcome:
    """The result list of Sphinx's search page: ``finished`` is False when it timed out."""

    query: str
    finished: bool
    links: tuple[str, ...]


def missing_browser(*, chromium: Path = CHROMIUM, chromedriver: Path = CHROMEDRIVER) -> str | None:
    """Say why the browser checks cannot run, or return None when Chromium and its driver are there."""
    missing = [str(path) for path in (chromium, chromedriver) if not Path(path).is_file()]
    if missing:
        return (f"{' and '.join(missing)} not found: install the Debian packages chromium and "
                "chromium-driver (make browser-deps)")
    return None


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base
        pass


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve ``root`` over http on 127.0.0.1 at a free port; yield the base URL (ending in ``/``).

    The server runs in a daemon thread and is shut down when the ``with`` block ends.
    """
    root = Path(root)
    if not (root / "index.html").is_file():
        raise BrowserUnavailableError(f"{root} has no index.html: point at the html/ folder of a "
                                      "built book (veiligverder build --out OUT serves OUT/html)")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="book-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def headless_chromium(*, chromium: Path = CHROMIUM, chromedriver: Path = CHROMEDRIVER,
                      window_size: tuple[int, int] = (1280, 1600),
                      page_load_timeout: float = 30.0) -> Iterator[WebDriver]:
    """Start headless Chromium with a fresh temporary profile; yield the selenium driver.

    The driver is given by path (``Service(executable_path=...)``), so selenium-manager is never
    used. The profile folder is removed and the browser quit when the ``with`` block ends.

    Raises
    ------
    BrowserUnavailableError
        When Chromium or chromedriver is missing or the session does not start.
    """
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    reason = missing_browser(chromium=chromium, chromedriver=chromedriver)
    if reason:
        raise BrowserUnavailableError(reason)
    with tempfile.TemporaryDirectory(prefix="vv-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(chromium)
        for arg in (*CHROMIUM_ARGS, f"--window-size={window_size[0]},{window_size[1]}",
                    f"--user-data-dir={profile}"):
            options.add_argument(arg)
        try:
            driver = webdriver.Chrome(service=Service(executable_path=str(chromedriver)),
                                      options=options)
        except WebDriverException as error:
            raise BrowserUnavailableError(
                f"{chromium} did not start through {chromedriver}: {error.msg}; check that the "
                "chromium and chromium-driver packages have the same version") from error
        try:
            driver.set_page_load_timeout(page_load_timeout)
            yield driver
        finally:
            driver.quit()


# Collect all facts in one round trip. Text nodes are joined without separators so that markup
# split over inline elements (e.g. "{glue:text}" in a <code>) still reads as one string.
_FACTS_JS = """
const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
let title = '';
const h1 = article.querySelector('h1');
if (h1) {
  const copy = h1.cloneNode(true);
  copy.querySelectorAll('.headerlink').forEach((a) => a.remove());
  title = copy.textContent.trim();
}
const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, {
  acceptNode: (node) => node.parentElement.closest('script, style')
    ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
const parts = [];
while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
const diagrams = Array.from(document.querySelectorAll('.mermaid'));
return {
  title: title,
  images: Array.from(document.images).map((img) => [img.currentSrc || img.src, img.complete,
                                                     img.naturalWidth, img.naturalHeight]),
  body_text: parts.join(''),
  paragraphs: Array.from(article.querySelectorAll('p')).map((p) => p.innerText),
  diagrams: diagrams.length,
  diagrams_rendered: diagrams.filter((d) => d.querySelector('svg')).length,
};
"""

_SETTLED_JS = """
const diagrams = Array.from(document.querySelectorAll('.mermaid'));
return Array.from(document.images).every((img) => img.complete)
  && diagrams.every((d) => d.querySelector('svg'));
"""


def open_page(driver: WebDriver, url: str, *, settle_timeout: float = 5.0) -> PageFacts:
    """Load ``url`` and return its :class:`PageFacts`.

    After the load event, lazy images are switched to eager loading and the page is given up to
    ``settle_timeout`` seconds for every image to complete and every mermaid diagram to be drawn;
    what is still missing then shows in the facts (a check, not an exception).
    """
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    driver.execute_script("document.querySelectorAll('img[loading=lazy]')"
                          ".forEach((img) => { img.loading = 'eager'; });")
    try:
        WebDriverWait(driver, settle_timeout, poll_frequency=0.1).until(
            lambda d: d.execute_script(_SETTLED_JS))
    except TimeoutException:
        pass
    raw = driver.execute_script(_FACTS_JS)
    title = raw["title"].rstrip()
    if title[-1:] in ("¶", "#"):  # a permalink anchor not marked with class headerlink
        title = title[:-1].rstrip()
    return PageFacts(
        url=url,
        title=title,
        images=tuple(ImageFact(str(src), bool(done), int(w), int(h)) for src, done, w, h in raw["images"]),
        body_text=raw["body_text"],
        paragraphs=tuple(raw["paragraphs"]),
        diagrams=int(raw["diagrams"]),
        diagrams_rendered=int(raw["diagrams_rendered"]),
    )


def save_screenshot(driver: WebDriver, path: Path, *, full_page: bool = True, max_height: int = 12000) -> Path:
    """Save a PNG of the current page to ``path`` (written whole: temp file, then ``os.replace``).

    ``full_page`` captures the whole document height (capped at ``max_height`` CSS pixels) with
    the Chrome DevTools command ``Page.captureScreenshot`` (``captureBeyondViewport``); otherwise
    only the window.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if full_page:
        width, height = driver.execute_script(
            "const e = document.documentElement;"
            "return [e.clientWidth, Math.max(e.scrollHeight, document.body.scrollHeight)];")
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": min(height, max_height), "scale": 1}})
        png = base64.b64decode(shot["data"])
    else:
        png = driver.get_screenshot_as_png()
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(png)
    os.replace(tmp, path)
    return path


def search(driver: WebDriver, base_url: str, query: str, *, timeout: float = 20.0) -> SearchOutcome:
    """Run ``query`` on the book's search page and return the links of the results.

    Opens ``search.html?q=<query>`` and waits up to ``timeout`` seconds until Sphinx's
    searchtools has finished, which it shows by filling ``#search-results p.search-summary``; the
    results are the ``#search-results ul.search li`` items (Sphinx 7.4 ``searchtools.js``).
    """
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base_url}search.html?q={quote(query)}")
    finished = True
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: d.execute_script(
            "const s = document.querySelector('#search-results p.search-summary');"
            "return s !== null && s.innerText.trim().length > 0;"))
    except TimeoutException:
        finished = False
    links = driver.execute_script(
        "return Array.from(document.querySelectorAll('#search-results ul.search li'))"
        ".map((li) => { const a = li.querySelector('a'); return a ? a.getAttribute('href') : ''; });")
    return SearchOutcome(query=query, finished=finished, links=tuple(links))
