"""What a reader sees: the one labels table of the book, its number formats and its table rendering.

Every table and sentence of the book that would otherwise print a code name (a codebook category
such as ``mavo_lbo``, a derived variable such as ``children_over3_pct``, a test method such as
``fisher-freeman-halton``) prints the label of ``labels.yml`` (this folder) instead. Categories come
in the codebook's order, not alphabetically. The module lives beside the codebook because every
layer that builds a table (instruments, analysis, reproduction, report) may import it.

Three rules for numbers, the same everywhere:

- a value that rounds to zero shows without a sign (``0.00``, never ``-0.00``): :func:`fmt_num`;
- a missing or non-finite value shows as an en dash (``–``): :data:`MISSING`;
- a table is shown whole: no pandas truncation with ``…``, no extra header row of index or column
  names (:class:`ReaderTable`, :func:`reader_table`).

Examples
--------
>>> category_label("education", "mavo_lbo")
'lower secondary (mavo / lbo)'
>>> list(categories("income"))
['lt1500', '1500_3100', 'gt3100']
>>> fmt_num(-0.001, 2), fmt_num(float("nan"))
('0.00', '–')
>>> fmt_p(0.95), fmt_p(0.0004)
('p = .950', 'p < .001')
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from veiligverder.contract import load_codebook, read_yaml

LABELS_FILE = Path(__file__).with_name("labels.yml")
#: How the book shows a value that is missing or cannot be computed.
MISSING = "–"
#: The codebook columns whose category list in ``labels.yml`` has another name than the column.
CODEBOOK_LISTS: dict[tuple[str, str], str] = {("children", "sex"): "child_sex"}

ERR_NO_LABEL = "no label for {code!r} in section {section!r} of labels.yml; add it there"


class LabelError(KeyError):
    """A code name that has no label in ``labels.yml`` (it would reach a reader as code)."""

    def __str__(self) -> str:  # KeyError quotes its message; this one is a sentence
        return str(self.args[0])


@lru_cache(maxsize=1)
def load_labels() -> dict[str, Any]:
    """The parsed ``labels.yml`` (cached; treat as read-only), keys of every mapping as strings."""
    raw = read_yaml(LABELS_FILE)
    return {section: _as_strings(value) for section, value in raw.items()}


def _as_strings(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _as_strings(v) for k, v in value.items()}
    return value


def label(section: str, code: Any) -> str:
    """The reader's label of ``code`` in ``section`` of ``labels.yml``; :class:`LabelError` if none.

    >>> label("sources", "interaction")
    'group × time'
    """
    entries = load_labels().get(section)
    if entries is None:
        raise LabelError(f"labels.yml has no section {section!r}")
    try:
        value = entries[str(code)]
    except KeyError:
        raise LabelError(ERR_NO_LABEL.format(code=code, section=section)) from None
    return value["label"] if isinstance(value, dict) else value


def categories(name: str) -> dict[str, str]:
    """A category list of ``labels.yml`` (``education``, ``age_band``, ...): code -> label, in the
    order tables show them (for a codebook column: the codebook's order)."""
    lists = load_labels()["categories"]
    if name not in lists:
        raise LabelError(ERR_NO_LABEL.format(code=name, section="categories"))
    return dict(lists[name])


def category_label(name: str, code: Any) -> str:
    """The label of one category of the list ``name``."""
    return label_in(categories(name), code, f"categories.{name}")


def label_in(mapping: dict[str, str], code: Any, section: str) -> str:
    try:
        return mapping[str(code)]
    except KeyError:
        raise LabelError(ERR_NO_LABEL.format(code=code, section=section)) from None


def codebook_categories(table: str, column: str) -> list[str]:
    """The allowed values of a codebook category column, in the codebook's order."""
    return [str(v) for v in load_codebook()["tables"][table]["columns"][column]["values"]]


def codebook_list(table: str, column: str) -> str:
    """The name of the category list in ``labels.yml`` that labels a codebook column."""
    return CODEBOOK_LISTS.get((table, column), column)


def variable_label(variable: str) -> str:
    """The row label of a Tabel 3 variable (``children_over3_pct`` -> 'children older than 3 ...')."""
    return label("variables", variable)


def variable_categories(variable: str) -> dict[str, str]:
    """The categories of a Tabel 3 variable (code -> label, in table order); {} for a number."""
    entry = load_labels()["variables"].get(variable)
    if entry is None:
        raise LabelError(ERR_NO_LABEL.format(code=variable, section="variables"))
    return categories(entry["categories"]) if entry.get("categories") else {}


def ordered(codes, variable: str) -> list:
    """``codes`` sorted in the table order of ``variable``'s categories; codes without a place keep
    their order at the end (a dataset may hold a category the table list does not, e.g. mapped)."""
    place = {code: i for i, code in enumerate(variable_categories(variable))}
    codes = list(codes)
    return sorted(codes, key=lambda c: (place.get(str(c), len(place)), codes.index(c)))


def test_label(method: str) -> str:
    """A test as readers see it: 'chi2' -> 'chi-square test', 'fisher-freeman-halton' -> 'Fisher-...'."""
    return label("tests", method)


def significance(p: float | None, alpha: float = 0.05) -> str:
    """'significant' or 'not significant' at ``alpha`` (the report's 'Ns', spelled out); '' for no p."""
    if p is None or not math.isfinite(p):
        return ""
    return label("significance", "significant" if p < alpha else "not_significant")


# --------------------------------------------------------------------------------------------
# numbers

_ZERO = re.compile(r"^-(0+(\.0*)?)$")


def fmt_num(x: Any, digits: int = 1) -> str:
    """A number with ``digits`` decimals; no minus sign on a value that rounds to zero; missing,
    None or non-finite values read :data:`MISSING`."""
    if x is None or x is pd.NA:
        return MISSING
    try:
        value = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(value):
        return MISSING
    text = f"{value:.{digits}f}"
    return _ZERO.sub(r"\1", text)


def fmt_p(p: float | None) -> str:
    """APA-style p value: 'p < .001' or 'p = .034'; 'p not computable' without a finite p."""
    if p is None or not math.isfinite(p):
        return "p not computable"
    return "p < .001" if p < 0.001 else f"p = {p:.3f}".replace("0.", ".", 1)


def fmt_test(method: str, p: float | None) -> str:
    """'Fisher-Freeman-Halton test, p = .412', or 'not computable' (a group without units)."""
    if p is None or not math.isfinite(p):
        return label("tests", "not computable")
    return f"{test_label(method)}, {fmt_p(p)}"


# --------------------------------------------------------------------------------------------
# tables


def _decimals(x: float) -> int:
    text = f"{round(x, 6):.6f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as text cells for readers: floats with the column's decimals (at most 6, no
    ``-0.00``), missing cells :data:`MISSING`; a single row index's name moves into the corner
    cell and other index and column names are dropped, so the header is one row."""
    out = pd.DataFrame(frame).astype(object)
    out.attrs = {}
    for column in range(out.shape[1]):
        values = out.iloc[:, column]
        floats = [v for v in values if isinstance(v, float) and math.isfinite(v)]
        digits = max((_decimals(v) for v in floats), default=0)

        def cell(v, digits=digits):
            if v is None or v is pd.NA or (isinstance(v, float) and not math.isfinite(v)):
                return MISSING
            if isinstance(v, float):
                return fmt_num(v, digits)
            return str(v)

        out.iloc[:, column] = [cell(v) for v in values] if len(values) else values
    corner = out.index.name if out.index.nlevels == 1 else None
    out = out.rename_axis(index=[None] * out.index.nlevels)
    out.columns = out.columns.set_names([None] * out.columns.nlevels)
    if corner is not None and out.columns.nlevels == 1:
        out.columns.name = str(corner)
    return out


def to_html(frame: pd.DataFrame) -> str:
    """The HTML of a table as the book shows it: whole, one header row, readers' cells."""
    shown = display_frame(frame)
    with pd.option_context("display.max_colwidth", None, "display.max_rows", None,
                           "display.max_columns", None):
        return shown.to_html(notebook=True, na_rep=MISSING, escape=True)


class ReaderTable(pd.DataFrame):
    """A DataFrame that renders for readers (:func:`to_html`) in a notebook or a glued output.

    It is an ordinary DataFrame for code (select, rename, set_index: the result is again a
    ReaderTable); only its HTML differs from pandas' default.
    """

    @property
    def _constructor(self):
        return ReaderTable

    def _repr_html_(self) -> str:
        return to_html(self)


def reader_table(frame: pd.DataFrame) -> ReaderTable:
    """``frame`` as a :class:`ReaderTable` (same data, index, columns and attrs)."""
    out = ReaderTable(frame)
    out.attrs = dict(frame.attrs)
    return out
