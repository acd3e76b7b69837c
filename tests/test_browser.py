"""Reader checks: open the built book in headless Chromium as a reader would (issue 6).

For every page in ``book/_toc.yml``: the title shown is the source's first heading, every image
has loaded with real pixels, every mermaid diagram is drawn, and no raw MyST role or directive
text (``{glue}``, ``{numref}``, fences) reached the page. Search must find the project's name and
a word from a chapter body, and nothing for a nonsense word. A full-page screenshot of each page
is kept under ``OUT/screenshots/`` for people to look at.

By default the pages come from the session's ``default_build``. To check any built book without
building, set ``VV_BOOK_OUT`` to a folder whose ``html/`` subfolder is the site::

    VV_BOOK_OUT=_build .venv/bin/pytest tests/test_browser.py -q
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from pathlib import Path

import pytest
import yaml

from veiligverder import paths
from veiligverder.browser import (
    missing_browser,
    headless_chromium,
    open_page,
    save_screenshot,
    search,
    serve_directory,
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


# ---------------------------------------------------------------- the pages


@pytest.mark.parametrize("page", PAGES)
def test_page_reads_well(page, book_out, site, driver, screenshots):
    assert (book_out / "html" / f"{page}.html").is_file(), f"{page}.html was not built"
    facts = open_page(driver, f"{site}{page}.html")
    shot = save_screenshot(driver, screenshots / f"{page}.png")
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
    for raw in RAW_MARKUP:
        at = facts.body_text.find(raw)
        if at >= 0:
            problems.append(f"raw markup {raw!r} in the text: ...{facts.body_text[max(0, at - 60):at + 60]!r}...")

    assert not problems, f"{page}.html (screenshot {shot}):\n  " + "\n  ".join(problems)


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


def test_first_heading_skips_front_matter_labels_and_code():
    text = ("---\njupytext: {}\n---\n\n(ch3)=\n````{code-cell} ipython3\n# a comment, not a title\n"
            "```\nstill code\n```\n````\n\n# 3 Methods: design\n\n## 3.1 Waves\n")
    assert first_heading(text) == "3 Methods: design"
    assert first_heading("## only a subsection\n") is None


def test_reading_form_folds_sphinx_smartquotes():
    assert reading_form("Waves -- and 'trust'") == reading_form("Waves \u2013 and \u2018trust\u2019")
    assert reading_form("*Veilig* `Verder`") == "Veilig Verder"
    assert reading_form("Waves 1") != reading_form("Waves 2")
