"""Reader checks: open the built book in headless Chromium as a reader would (issue 6).

For every page in ``book/_toc.yml``, read at a laptop's width (1366 px) and a phone's (390 px):
the title shown is the source's first heading, every image has loaded with real pixels, every
mermaid diagram is drawn (with labels big enough to read), and no raw MyST role or directive
text (``{glue}``, ``{numref}``, fences) reached the page. At 1366 px every table fits the text
column; at 390 px a table may scroll sideways inside its own box, and at neither width does the
page itself scroll sideways. The browser console logs no error. Every figure has alt text that
describes it (not a file name). The text shows no ``NaN``, no ``-0.00`` and, outside the pages
listed in :data:`CODE_NAME_PAGES`, no snake_case code name. The Mermaid library is loaded only by
pages that draw a diagram. Search must find the project's name and a word from a chapter body,
and nothing for a nonsense word. One browser session reads each page once per width, and a
full-page screenshot of each page at each width is kept under ``OUT/screenshots/`` as
``<page>-<width>.png`` for people to look at.

By default the pages come from the session's ``default_build``. To check any built book without
building, set ``VV_BOOK_OUT`` to a folder whose ``html/`` subfolder is the site::

    VV_BOOK_OUT=_build .venv/bin/pytest tests/test_browser.py -q
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from veiligverder import paths
from support.browser import (
    VIEWPORTS,
    LayoutFacts,
    PageFacts,
    console_errors,
    missing_browser,
    headless_chromium,
    open_page,
    read_layout,
    save_screenshot,
    search,
    serve_directory,
    set_viewport,
)

MISSING = missing_browser()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(MISSING is not None, reason=f"browser checks skipped: {MISSING}"),
]

TOC = paths.BOOK_DIR / "_toc.yml"
# MyST source text that must never reach a reader: an unresolved glue/role or an unparsed
# directive or fence shows up literally in the HTML.
RAW_MARKUP = ("{glue", "{glue:text}", "{numref}", "{cite", "{doc}", "{ref}", "```", ":::{")
# The page whose body supplies the word for the body-text search.
SEARCH_PAGE = "ch1_introduction"
#: The widths every page is read at (keys of ``support.browser.VIEWPORTS``): laptop, phone.
WIDTHS = ("1366", "390")
#: Where the sideways-scroll box of a table is acceptable: only on a phone.
SCROLL_BOX_WIDTHS = {"390"}
#: Pages whose subject is the code's own names, so snake_case words are the content there and the
#: code-name check skips them (NaN and -0.00 are still checked). Everywhere else a reader sees
#: labels from the labels table, never a column or parameter name.
CODE_NAME_PAGES = {
    "appendix_contract": "the data contract: its tables and columns are named as a dataset must name them",
    "appendix_mapping_format": "the mapping.yml format: keys and column names the user writes",
    "appendix_own_data": "running the build on your own data: folder, file, option and parameter names",
    "appendix_provenance": "the build's parameters and versions, listed under the names the pipeline takes",
}
# What a reader must never see. Text inside <pre> and inline <code> is not searched (see
# support.browser.LayoutFacts.reading_text): code literals are legitimate there.
NAN = re.compile(r"\bNaN\b")
NEGATIVE_ZERO = re.compile(r"(?<![\w.])[-\u2212]0(?:\.0+)?(?!\.?\d|\w)")  # -0, -0.00, with U+2212
# A snake_case code name: lower-case words joined by underscores (cts2_physical, follow_up_rule).
CODE_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
# Alt text that is a file name or a content hash rather than a description.
FILE_NAME_ALT = re.compile(r"(?:^|/)[\w.-]+\.(?:png|jpe?g|gif|svg|webp)$|^_images/|[0-9a-f]{16,}", re.I)
#: The smallest diagram label a reader can read, in CSS pixels.
MIN_DIAGRAM_TEXT_PX = 10.0


def toc_files(toc: dict) -> list[str]:
    """The page names of a jb-book table of contents in reading order: ``root``, then every ``file``."""
    found: list[str] = [toc["root"]]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({key: value for key, value in toc.items() if key != "root"})
    return found


PAGES = toc_files(yaml.safe_load(TOC.read_text(encoding="utf-8")))


def first_heading(text: str) -> str | None:
    """The first level-1 ATX heading (``# ...``) of a MyST file, skipping front matter and fences."""
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":
        end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), 0)
        lines = lines[end + 1:]
    fence = None
    for line in lines:
        stripped = line.strip()
        opener = re.match(r"(`{3,}|~{3,})", stripped)
        if fence:
            if opener and stripped.startswith(fence) and set(stripped) <= set(fence[0]):
                fence = None
        elif opener:
            fence = opener.group(1)
        elif line.startswith("# "):
            return line[2:].strip()
    return None


def source_of(page: str) -> Path:
    """The MyST source of a page: ``book/<page>.md`` or ``notebooks/<page>.md``."""
    for folder in (paths.BOOK_DIR, paths.NOTEBOOKS_DIR):
        if (folder / f"{page}.md").is_file():
            return folder / f"{page}.md"
    raise AssertionError(f"{page} is in {TOC} but has no source in book/ or notebooks/")


def reading_form(text: str) -> str:
    """Text as compared between source and page: Sphinx's smart quotes and dashes folded
    (``--``/``---`` become en/em dashes, curly quotes straight), inline emphasis and code marks
    dropped, whitespace collapsed."""
    text = text.replace("---", "\u2014").replace("--", "\u2013").replace("...", "\u2026")
    text = text.translate(str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}))
    text = re.sub(r"[*`]", "", text)
    return " ".join(text.split())


def text_problems(text: str, *, code_names: bool = True) -> list[str]:
    """Every ``NaN``, negative zero (``-0``, ``-0.00``, also with a minus sign) and, when
    ``code_names``, snake_case word in ``text``, each with a little context."""
    checks = [("NaN", NAN), ("negative zero", NEGATIVE_ZERO)]
    if code_names:
        checks.append(("code name", CODE_NAME))
    problems = []
    for what, pattern in checks:
        for hit in pattern.finditer(text):
            context = " ".join(text[max(0, hit.start() - 40):hit.end() + 40].split())
            problems.append(f"{what} {hit.group(0)!r}: ...{context}...")
    return problems


def alt_problem(src: str, alt: str) -> str | None:
    """Why an image's alt text does not describe it (missing, a file name or hash, one word), or None."""
    name = Path(src.split("?")[0]).name
    alt = " ".join(alt.split())
    if not alt:
        return f"image {name} has no alt text"
    if FILE_NAME_ALT.search(alt) or alt == name:
        return f"image {name} has a file name as alt text: {alt!r}"
    if len(alt.split()) < 3:
        return f"image {name} has alt text that does not describe it: {alt!r}"
    return None


def layout_problems(layout: LayoutFacts, *, scroll_box_allowed: bool) -> list[str]:
    """Tables wider than the text column, and a page that scrolls sideways.

    Without ``scroll_box_allowed`` (laptop) every table must lie inside the column and need no
    scrolling; with it (phone) a wider table must sit in a sideways-scrolling box that itself lies
    inside the column. The page must never be wider than the viewport.
    """
    problems = []
    if layout.scrolls_sideways:
        problems.append(f"the page scrolls sideways: {layout.page_width} px of content in a "
                        f"{layout.viewport_width} px viewport")
    for table in layout.tables:
        if table.fits:
            continue
        if scroll_box_allowed and table.scrolls_in_own_box:
            continue
        where = (f"reaches {table.overflow:.0f} px beyond" if table.overflow > 1
                 else "needs a scroll bar inside")
        problems.append(f"table {table.label!r} ({table.width:.0f} px) {where} the "
                        f"{layout.column_width:.0f} px text column")
    return problems


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def book_out(request) -> Path:
    """The build folder: ``$VV_BOOK_OUT`` when set, else the session's default build."""
    override = os.environ.get("VV_BOOK_OUT")
    out = Path(override) if override else request.getfixturevalue("default_build")
    assert (out / "html" / "index.html").is_file(), f"{out}/html/index.html missing: not a built book"
    return out


@pytest.fixture(scope="session")
def site(book_out) -> str:
    with serve_directory(book_out / "html") as url:
        yield url


@pytest.fixture(scope="session")
def driver():
    with headless_chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def screenshots(book_out, request) -> Path:
    """``OUT/screenshots``; at the end of the session its path is written to the terminal."""
    folder = book_out / "screenshots"
    folder.mkdir(exist_ok=True)
    yield folder
    message = f"reader checks: {len(list(folder.glob('*.png')))} page screenshots in {folder}"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n" + message)


@dataclass(frozen=True)
class PageView:
    """One page as read at one width: what it shows, how it lays out, what it logged, its screenshot."""

    facts: PageFacts
    layout: LayoutFacts
    console_errors: tuple[str, ...]
    screenshot: Path


#: Whole-page screenshots (``VV_SCREENSHOTS=full``) instead of the first screen of each page.
FULL_SCREENSHOTS = os.environ.get("VV_SCREENSHOTS", "") == "full"


@pytest.fixture(scope="session")
def views(book_out, site, driver, screenshots):
    """``view(page, width)``: the page read at that width, loaded once per session and width.

    Sets the viewport (``VIEWPORTS[width]``), empties the console log, opens the page (waiting for
    images and diagrams), measures the layout, reads the console errors and saves the screenshot
    ``<page>-<width>.png`` (the first screen; the whole page with ``VV_SCREENSHOTS=full``, which
    makes the suite about half a minute slower). Every test of a page at a width shares this one load.
    """
    cache: dict[tuple[str, str], PageView] = {}

    def view(page: str, width: str) -> PageView:
        if (page, width) not in cache:
            assert (book_out / "html" / f"{page}.html").is_file(), f"{page}.html was not built"
            css_width, css_height, mobile = VIEWPORTS[width]
            set_viewport(driver, css_width, css_height, mobile=mobile)
            console_errors(driver)  # what earlier pages left in the log is not this page's
            facts = open_page(driver, f"{site}{page}.html")
            layout = read_layout(driver)
            errors = tuple(console_errors(driver))
            shot = save_screenshot(driver, screenshots / f"{page}-{width}.png", viewport=VIEWPORTS[width],
                                   full_page=FULL_SCREENSHOTS)
            cache[(page, width)] = PageView(facts, layout, errors, shot)
        return cache[(page, width)]

    yield view
    set_viewport(driver, None)


# ---------------------------------------------------------------- the pages


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES)
def test_page_reads_well(page, width, views):
    seen = views(page, width)
    facts, shot = seen.facts, seen.screenshot
    problems: list[str] = []

    expected = first_heading(source_of(page).read_text(encoding="utf-8"))
    if not facts.title:
        problems.append("no <h1> title on the page")
    elif expected is None:
        problems.append(f"{source_of(page)} has no '# ' heading")
    elif reading_form(facts.title) != reading_form(expected):
        problems.append(f"title {facts.title!r} differs from the source heading {expected!r}")

    for src in facts.broken_images:
        problems.append(f"image did not load (naturalWidth 0): {src}")
    if facts.diagrams_rendered < facts.diagrams:
        problems.append(f"{facts.diagrams - facts.diagrams_rendered} of {facts.diagrams} mermaid "
                        "diagrams not drawn (is mermaid.js reachable offline?)")
    if seen.layout.diagram_text_px is not None and seen.layout.diagram_text_px < MIN_DIAGRAM_TEXT_PX:
        problems.append(f"mermaid diagram labels are {seen.layout.diagram_text_px:.1f} px high "
                        f"(at least {MIN_DIAGRAM_TEXT_PX:.0f} px to be read)")
    for raw in RAW_MARKUP:
        at = facts.body_text.find(raw)
        if at >= 0:
            problems.append(f"raw markup {raw!r} in the text: ...{facts.body_text[max(0, at - 60):at + 60]!r}...")

    assert not problems, f"{page}.html at {width} px (screenshot {shot}):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES)
def test_tables_fit_and_the_page_does_not_scroll_sideways(page, width, views):
    seen = views(page, width)
    problems = layout_problems(seen.layout, scroll_box_allowed=width in SCROLL_BOX_WIDTHS)
    assert not problems, f"{page}.html at {width} px (screenshot {seen.screenshot}):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES)
def test_no_javascript_errors(page, width, views):
    seen = views(page, width)
    assert not seen.console_errors, f"{page}.html at {width} px logged:\n  " + "\n  ".join(seen.console_errors)


@pytest.mark.parametrize("page", PAGES)
def test_text_shows_no_nan_negative_zero_or_code_names(page, views):
    seen = views(page, WIDTHS[0])
    problems = text_problems(seen.layout.reading_text, code_names=page not in CODE_NAME_PAGES)
    assert not problems, f"{page}.html:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_every_figure_has_alt_text(page, views):
    seen = views(page, WIDTHS[0])
    problems = [p for p in (alt_problem(src, alt) for src, alt in seen.layout.figures) if p]
    assert not problems, f"{page}.html:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_mermaid_loads_only_with_a_diagram(page, views):
    seen = views(page, WIDTHS[0])
    if seen.facts.diagrams:
        assert seen.layout.mermaid_scripts, f"{page}.html draws {seen.facts.diagrams} diagram(s) but loads no Mermaid"
    else:
        assert not seen.layout.mermaid_scripts, (
            f"{page}.html has no diagram but loads Mermaid: {list(seen.layout.mermaid_scripts)}")


# ---------------------------------------------------------------- search


def test_search_finds_the_project_name(site, driver):
    outcome = search(driver, site, "Veilig")
    assert outcome.finished, "search for 'Veilig' did not finish within 20 s"
    assert len(outcome.links) >= 1, "search for 'Veilig' found no page"


def test_search_finds_a_word_from_a_chapter_body(site, driver):
    facts = open_page(driver, f"{site}{SEARCH_PAGE}.html")
    # The longest plain word of the chapter's paragraphs (ties: alphabetical), so the choice
    # follows the text and the word is specific enough to be in few pages.
    words = {w for p in facts.paragraphs for w in re.findall(r"\b[^\W\d_]{6,}\b", p)}
    assert words, f"{SEARCH_PAGE}.html has no paragraph text to search for"
    word = min(words, key=lambda w: (-len(w), w.lower()))
    outcome = search(driver, site, word)
    assert outcome.finished, f"search for {word!r} did not finish within 20 s"
    pages = [link.split("?")[0].split("#")[0] for link in outcome.links]
    assert f"{SEARCH_PAGE}.html" in pages, f"search for {word!r} found {pages}, not {SEARCH_PAGE}.html"


def test_search_finds_nothing_for_a_nonsense_word(site, driver):
    outcome = search(driver, site, "qzxjvwkq")
    assert outcome.finished, "search did not finish within 20 s"
    assert outcome.links == ()


# ---------------------------------------------------------------- the checks themselves


def _png(width: int, height: int) -> bytes:
    """A grey RGB PNG written by hand (PNG spec: signature, IHDR, IDAT, IEND chunks)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_page_facts_catch_what_the_page_checks_look_for(tmp_path, driver):
    """On a hand-made page: the anchor is cut from the title, a good image loads with its size, a
    missing one and a lazy one below the fold are told apart, raw glue text and an undrawn mermaid
    block are seen (so the page test above can fail)."""
    (tmp_path / "fig.png").write_bytes(_png(7, 5))
    (tmp_path / "index.html").write_text(
        '<html><body><article class="bd-article"><section>'
        '<h1>3 Methods: design<a class="headerlink" href="#m">#</a></h1>'
        '<p>Alpha was <code>{glue:text}`alpha`</code> here.</p>'
        '<img src="fig.png"><img src="missing.png">'
        '<div style="height:5000px"></div><img loading="lazy" src="fig.png?lazy">'
        '<details><summary>more</summary><p>see {numref}`fig-x`</p></details>'
        '<pre class="mermaid">graph LR; A-->B</pre>'
        "</section></article></body></html>", encoding="utf-8")
    with serve_directory(tmp_path) as url:
        facts = open_page(driver, f"{url}index.html", settle_timeout=2)
        shot = save_screenshot(driver, tmp_path / "shots" / "index.png")
    assert facts.title == "3 Methods: design"
    loaded = {Path(i.src.split("?")[0]).name + ("?lazy" if "lazy" in i.src else ""): i for i in facts.images}
    assert (loaded["fig.png"].natural_width, loaded["fig.png"].natural_height) == (7, 5)
    assert loaded["fig.png?lazy"].loaded
    assert facts.broken_images == [f"{url}missing.png"]
    assert "{glue:text}`alpha`" in facts.body_text
    assert "{numref}`fig-x`" in facts.body_text  # inside a closed <details>
    assert (facts.diagrams, facts.diagrams_rendered) == (1, 0)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", shot.read_bytes()[16:24])
    assert height > 5000  # the whole page, not only the window


def test_layout_facts_catch_what_the_layout_checks_look_for(tmp_path, driver):
    """On a hand-made page at phone width: a wide table loose in the column and one in its own
    scroll box, an element that widens the page, a console error, a file-name alt text, a Mermaid
    script, and NaN/-0.00/a code name in the text but not in <code> are all seen."""
    (tmp_path / "fig.png").write_bytes(_png(7, 5))
    (tmp_path / "mermaid.min.js").write_text("window.fakeMermaid = true;", encoding="utf-8")
    wide = "<table><tr>" + "<td>verywideunbreakablecell</td>" * 8 + "</tr></table>"
    (tmp_path / "index.html").write_text(
        '<html><head><meta name="viewport" content="width=device-width, initial-scale=1">'
        '<script src="mermaid.min.js"></script></head><body>'
        '<article class="bd-article" style="width:300px;padding:0 10px"><section><h1>T</h1>'
        f'<div id="loose">{wide}</div>'
        f'<div id="boxed" style="overflow-x:auto">{wide}</div>'
        '<img src="fig.png" alt="_images/0123456789abcdef0123456789abcdef.png">'
        '<p>Mean NaN, change -0.00 and follow_up_rule here; <code>keys_dir</code> is fine.</p>'
        '<pre>seed_value = 1</pre>'
        '</section></article><div style="width:900px">wide</div>'
        '<script>throw new Error("boom")</script></body></html>', encoding="utf-8")
    with serve_directory(tmp_path) as url:
        set_viewport(driver, *VIEWPORTS["390"][:2], mobile=VIEWPORTS["390"][2])
        try:
            console_errors(driver)
            open_page(driver, f"{url}index.html", settle_timeout=2)
            layout = read_layout(driver)
            errors = console_errors(driver)
        finally:
            set_viewport(driver, None)
    assert layout.scrolls_sideways and layout.page_width >= 900
    loose, boxed = layout.tables
    assert not loose.fits and not loose.scrolls_in_own_box and loose.overflow > 100
    assert not boxed.fits and boxed.scrolls_in_own_box and boxed.box_scrolls
    problems = layout_problems(layout, scroll_box_allowed=True)
    assert len(problems) == 2 and "scrolls sideways" in problems[0] and "beyond" in problems[1]
    assert len(layout_problems(layout, scroll_box_allowed=False)) == 3
    assert any("boom" in error for error in errors)
    assert layout.mermaid_scripts and "mermaid.min.js" in layout.mermaid_scripts[0]
    assert [alt_problem(src, alt) is not None for src, alt in layout.figures] == [True]
    found = text_problems(layout.reading_text)
    assert [p.split(" '")[0] for p in found] == ["NaN", "negative zero", "code name"]
    assert "follow_up_rule" in found[2] and "keys_dir" not in layout.reading_text
    assert "seed_value" not in layout.reading_text


def test_text_and_alt_checks_on_examples():
    assert text_problems("p = 0.043, d = -0.20, 10-0 and T0-T1 and x-0.5") == []
    assert [p.split(" '")[0] for p in text_problems("a \u22120.00 b -0 c NaN d")] == [
        "NaN", "negative zero", "negative zero"]
    assert text_problems("see cts2_physical and follow_up_rule", code_names=False) == []
    assert len(text_problems("see cts2_physical and follow_up_rule")) == 2
    assert text_problems("Veilig-Verder, CTS2 and snake-case") == []
    assert alt_problem("_images/ab.png", "") == "image ab.png has no alt text"
    assert alt_problem("_images/ab.png", "_images/ab.png") is not None
    assert alt_problem("x.png", "6755973183db5a8421168c7e4f0db8dcf2e0ed37c9c29e6f9d26effede0095bc") is not None
    assert alt_problem("x.png", "Line chart") is not None
    assert alt_problem("x.png", "Line chart of violence per group") is None


def test_first_heading_skips_front_matter_labels_and_code():
    text = ("---\njupytext: {}\n---\n\n(ch3)=\n````{code-cell} ipython3\n# a comment, not a title\n"
            "```\nstill code\n```\n````\n\n# 3 Methods: design\n\n## 3.1 Waves\n")
    assert first_heading(text) == "3 Methods: design"
    assert first_heading("## only a subsection\n") is None


def test_reading_form_folds_sphinx_smartquotes():
    assert reading_form("Waves -- and 'trust'") == reading_form("Waves \u2013 and \u2018trust\u2019")
    assert reading_form("*Veilig* `Verder`") == "Veilig Verder"
    assert reading_form("Waves 1") != reading_form("Waves 2")
