"""Sphinx extension of the Veilig Verder book: what the HTML pages load, and how references read.

Loaded through ``sphinx.local_extensions`` in ``_config.yml`` (the staged book root is on
``sys.path`` as ``_ext``). Three things:

1. **Mermaid only where a diagram is.** Jupyter Book 1.x adds every ``*.js`` file under
   ``_static`` to every page (``jupyter_book/config.py``: ``path.rglob("*.js")``), so the vendored
   2.6 MB ``mermaid/mermaid.min.js`` was loaded by every page. It is taken out of
   ``html_js_files`` here; ``mermaid/mermaid-local.mjs``, which sphinxcontrib-mermaid imports on
   pages with a diagram, loads it itself when ``window.mermaid`` is not there. sphinxcontrib-mermaid
   (2.x, ``install_js``) already skips pages whose doctree has no diagram, but adds its module to
   pages without a doctree (search); :func:`drop_mermaid_without_diagram` removes it there.
2. **Author-year labels in the bibliography.** sphinxcontrib-bibtex's default ``alpha`` style
   labels entries "[Roseeal16]", "[WorldHOrganization01]". The ``authoryear`` style registered
   here (``bibtex_default_style: authoryear``) labels them as the text cites them, "Rose et al.,
   2016", "Turnell and Edwards, 1999", "World Health Organization, 2001", and sorts by surname
   (without prefixes such as "de"), year and title; equal labels get a, b, ... after the year.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle

#: The vendored UMD build of Mermaid that Jupyter Book would add to every page.
MERMAID_UMD = "mermaid/mermaid.min.js"


# ---------------------------------------------------------------- mermaid


def drop_mermaid_umd(app, config) -> None:
    """Take the vendored Mermaid build out of the scripts every page loads."""
    config.html_js_files = [entry for entry in config.html_js_files
                            if (entry[0] if isinstance(entry, tuple) else entry) != MERMAID_UMD]


def _loads_mermaid(script) -> bool:
    filename = str(getattr(script, "filename", "") or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "mermaid" in filename.lower() or ("import mermaid" in body)


def drop_mermaid_without_diagram(app, pagename, templatename, context, doctree) -> None:
    """After sphinxcontrib-mermaid (priority 500): no Mermaid script on a page without a diagram."""
    from sphinxcontrib.mermaid import mermaid as mermaid_node

    if doctree is not None and doctree.next_node(mermaid_node) is not None:
        return
    scripts = context.get("script_files")
    if scripts:
        scripts[:] = [script for script in scripts if not _loads_mermaid(script)]


# ---------------------------------------------------------------- bibliography labels


def _plain(latex: str) -> str:
    """``{World Health Organization}`` -> ``World Health Organization`` (braces and LaTeX undone)."""
    return Text.from_latex(latex).render_as("text")


def _surname(person, *, prefix: bool = True) -> str:
    parts = (*person.prelast_names, *person.last_names) if prefix else person.last_names
    return " ".join(_plain(part) for part in parts)


def _who(entry, *, prefix: bool = True) -> str:
    """The authors as the text cites them: "Briere", "Turnell and Edwards", "Straus et al."."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(person, prefix=prefix) for person in people]
    if not names:
        return _plain(entry.fields.get("key", entry.fields.get("title", entry.key)))
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels as the text cites: "Briere, 1995", "Turnell and Edwards, 1999", "Straus et al., 1996"."""

    def format_labels(self, sorted_entries: Iterable) -> Iterator[str]:
        labels = [f"{_who(entry)}, {entry.fields.get('year', 'n.d.')}" for entry in sorted_entries]
        counts = Counter(labels)
        seen: Counter[str] = Counter()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class AuthorSurnameYearSorting(BaseSortingStyle):
    """Alphabetical by the label's authors without surname prefixes ("de Brock" under B, as Dutch
    reference lists do; a corporate author by its name), then year and title."""

    def sorting_key(self, entry):
        return (_who(entry, prefix=False).lower(), entry.fields.get("year", ""),
                _plain(entry.fields.get("title", "")).lower())


class AuthorYearStyle(UnsrtStyle):
    """The ``unsrt`` entry format with author-year labels, sorted by author, year and title."""

    default_label_style = AuthorYearLabelStyle
    default_sorting_style = AuthorSurnameYearSorting


def setup(app):
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    app.connect("config-inited", drop_mermaid_umd)
    app.connect("html-page-context", drop_mermaid_without_diagram, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
