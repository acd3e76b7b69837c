"""Open the built book in headless Chromium and collect what a reader would see.

Used by the reader checks (``tests/test_browser.py``) and usable by hand::

    from support.browser import headless_chromium, serve_directory, open_page, save_screenshot
    with serve_directory(out / "html") as site, headless_chromium() as driver:
        facts = open_page(driver, site + "index.html")
        save_screenshot(driver, out / "screenshots" / "index.png")

The browser is the Debian ``chromium`` package driven by the Debian ``chromium-driver``
(``make browser-deps`` installs both) through selenium, with the driver path given explicitly so
that selenium-manager never tries to download a browser. The site is served over http on
127.0.0.1 because Sphinx's search loads its index with a request that ``file://`` pages may not make.

Layout is checked at the widths in :data:`VIEWPORTS` (a laptop and a phone), set with
:func:`set_viewport`; :func:`read_layout` measures tables against the text column, the page's
sideways scroll, the figures' alt text, the mermaid scripts and the reading text, and
:func:`console_errors` returns what the page logged as errors (the browser keeps its console log
because :func:`headless_chromium` turns on ``goog:loggingPrefs``).
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
        # Keep the browser console (errors, failed loads) readable through driver.get_log("browser").
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
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


def save_screenshot(driver: WebDriver, path: Path, *, full_page: bool = True, max_height: int = 12000,
                    viewport: tuple[int, int, bool] | None = None) -> Path:
    """Save a PNG of the current page to ``path`` (written whole: temp file, then ``os.replace``).

    ``full_page`` captures the whole document height (capped at ``max_height`` CSS pixels) with
    the Chrome DevTools command ``Page.captureScreenshot`` (``captureBeyondViewport``); otherwise
    only the window. With ``viewport`` (``(width, height, mobile)`` as set by :func:`set_viewport`)
    the full page is captured by making the emulated viewport as tall as the page for the moment
    of the capture and then restoring it: under a device-metrics override ``captureBeyondViewport``
    draws the page shifted sideways (Chromium 13x/14x), and leaves the override changed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if full_page:
        width, height = driver.execute_script(
            "const e = document.documentElement;"
            "return [e.clientWidth, Math.max(e.scrollHeight, document.body.scrollHeight)];")
        if viewport is not None:
            view_width, view_height, mobile = viewport
            set_viewport(driver, view_width, max(view_height, min(height, max_height)), mobile=mobile)
            try:
                shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
            finally:
                set_viewport(driver, view_width, view_height, mobile=mobile)
        else:
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


# ---------------------------------------------------------------- layout at a given width

#: The widths the book is read at: a laptop (1366 x 900 CSS px) and a phone (390 x 844, a mobile
#: viewport: ``<meta name="viewport">`` applies and scrollbars overlay the page).
VIEWPORTS: dict[str, tuple[int, int, bool]] = {"1366": (1366, 900, False), "390": (390, 844, True)}


@dataclass(frozen=True)
class TableFact:
    """One ``<table>`` of the article, measured in CSS pixels against the text column.

    ``overflow`` is how far the table reaches beyond the column (0 when it fits). ``box_width`` and
    ``box_overflow`` describe the nearest ancestor inside the article that scrolls sideways
    (``overflow-x: auto|scroll``): its width and how far *it* reaches beyond the column; both are
    None when there is no such box. ``box_scrolls`` is True when that box's content is wider than
    the box, i.e. the reader has to scroll inside it to see every column.
    """

    label: str
    width: float
    overflow: float
    box_width: float | None
    box_overflow: float | None
    box_scrolls: bool

    @property
    def fits(self) -> bool:
        """The whole table lies inside the text column (1 px tolerance for sub-pixel rounding)."""
        return self.overflow <= 1 and not self.box_scrolls

    @property
    def scrolls_in_own_box(self) -> bool:
        """Wider than the column, but inside a sideways-scrolling box that itself fits the column."""
        return self.box_width is not None and (self.box_overflow or 0) <= 1


@dataclass(frozen=True)
class LayoutFacts:
    """How a page lays out at the current viewport.

    ``page_width`` is ``document.documentElement.scrollWidth`` and ``viewport_width`` its
    ``clientWidth``: the page scrolls sideways when the first exceeds the second. ``column_width``
    is the content width of ``article.bd-article`` (the text column). ``figures`` holds
    ``(src, alt)`` of every ``<img>`` in the article. ``mermaid_scripts`` lists the page's scripts
    that load Mermaid (a ``src`` naming mermaid, or an inline module importing it).
    ``reading_text`` is the article's rendered text (``innerText``, so what a reader sees, open
    dropdowns or not) without code: ``<pre>`` blocks, inline ``<code>``/``<kbd>``/``<samp>``
    literals and the hidden source of code cells are left out, because code names are legitimate
    there. ``diagram_text_px`` is the height in CSS pixels of the smallest label font of the drawn
    mermaid diagrams as shown (font size times the scale of the SVG), None without a diagram.
    """

    viewport_width: int
    page_width: int
    column_width: float
    tables: tuple[TableFact, ...]
    figures: tuple[tuple[str, str], ...]
    mermaid_scripts: tuple[str, ...]
    reading_text: str
    diagram_text_px: float | None = None

    @property
    def scrolls_sideways(self) -> bool:
        return self.page_width > self.viewport_width


def set_viewport(driver: WebDriver, width: int | None, height: int = 900, *, mobile: bool = False) -> None:
    """Give the page a ``width`` x ``height`` CSS-pixel viewport (Chrome DevTools
    ``Emulation.setDeviceMetricsOverride``; ``mobile`` emulates a phone's viewport); ``width=None``
    returns to the window's own size. Applies to the pages loaded afterwards and to the current one.
    """
    if width is None:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": int(width), "height": int(height), "deviceScaleFactor": 1, "mobile": bool(mobile)})


def console_errors(driver: WebDriver) -> list[str]:
    """The ``SEVERE`` entries of the browser console since the last call (JavaScript errors,
    failed resource loads), each as its message. Reading the log empties it."""
    return [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


_LAYOUT_JS = """
const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
const box = article.getBoundingClientRect();
const style = getComputedStyle(article);
const left = box.left + parseFloat(style.paddingLeft) + parseFloat(style.borderLeftWidth);
const right = box.right - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth);
const beyond = (r) => Math.max(0, r.right - right, left - r.left);
const tables = Array.from(article.querySelectorAll('table')).map((table) => {
  const r = table.getBoundingClientRect();
  let scroller = null;
  for (let p = table.parentElement; p && p !== article; p = p.parentElement) {
    if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) { scroller = p; break; }
  }
  const figure = table.closest('figure, .output, .cell_output');
  const caption = table.querySelector('caption') || (figure && figure.querySelector('figcaption'));
  const heads = Array.from(table.querySelectorAll('thead th')).map((th) => th.innerText.trim())
    .filter((t) => t).slice(0, 3).join(' | ');
  const label = (caption ? caption.innerText : (table.closest('[id]') || {}).id || heads || 'table')
    .trim().replace(/\\s+/g, ' ').slice(0, 70);
  const sr = scroller && scroller.getBoundingClientRect();
  return [label, r.width, beyond(r), sr ? sr.width : null, sr ? beyond(sr) : null,
          scroller ? scroller.scrollWidth > scroller.clientWidth + 1 : false];
});
const figures = Array.from(article.querySelectorAll('img')).map((img) => [
  img.getAttribute('src') || '', img.hasAttribute('alt') ? img.getAttribute('alt') : '']);
const mermaid = Array.from(document.scripts).filter((s) => /mermaid/i.test(s.src || '')
    || (s.type === 'module' && /import[^;]*mermaid/i.test(s.textContent)))
  .map((s) => s.src || 'inline module: ' + s.textContent.trim().split('\\n')[0].slice(0, 80));
// Reading text: the rendered text with code left out. innerText only exists for rendered
// elements, so the code is hidden on the live page for a moment and shown again.
const code = Array.from(article.querySelectorAll('pre, code, kbd, samp, .cell_input, .highlight'));
const saved = code.map((el) => el.style.display);
code.forEach((el) => { el.style.display = 'none'; });
const closed = Array.from(article.querySelectorAll('details:not([open])'));
closed.forEach((d) => { d.open = true; });
const reading = article.innerText;
closed.forEach((d) => { d.open = false; });
code.forEach((el, i) => { el.style.display = saved[i]; });
const labels = [];
document.querySelectorAll('.mermaid svg').forEach((svg) => {
  const vb = svg.viewBox && svg.viewBox.baseVal;
  const scale = vb && vb.width ? svg.getBoundingClientRect().width / vb.width : 1;
  svg.querySelectorAll('.nodeLabel, .edgeLabel, text').forEach((t) => {
    if (t.textContent.trim()) labels.push(parseFloat(getComputedStyle(t).fontSize) * scale);
  });
});
const root = document.documentElement;
return {viewport: root.clientWidth, page: root.scrollWidth, column: right - left, tables: tables,
        figures: figures, mermaid: mermaid, reading: reading,
        diagram_text: labels.length ? Math.min(...labels) : null};
"""


def read_layout(driver: WebDriver) -> LayoutFacts:
    """Measure the current page at the current viewport: see :class:`LayoutFacts`."""
    raw = driver.execute_script(_LAYOUT_JS)
    return LayoutFacts(
        viewport_width=int(raw["viewport"]),
        page_width=int(raw["page"]),
        column_width=float(raw["column"]),
        tables=tuple(TableFact(str(label), float(width), float(over),
                               None if bw is None else float(bw), None if bo is None else float(bo),
                               bool(scrolls))
                     for label, width, over, bw, bo, scrolls in raw["tables"]),
        figures=tuple((str(src), str(alt)) for src, alt in raw["figures"]),
        mermaid_scripts=tuple(raw["mermaid"]),
        reading_text=raw["reading"],
        diagram_text_px=None if raw["diagram_text"] is None else float(raw["diagram_text"]),
    )
