"""Column conversions shared by the readers and the mapping: canonical text, numbers, lookups.

Source files store the same value in different ways (``1`` in a CSV, ``1.0`` in SPSS, ``1`` as int64
in Parquet). Everything that compares values (missing codes, recodes, value labels) compares their
canonical text, so the three formats behave alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd


def text_of(value: Any) -> str:
    """Canonical text of one scalar: whole numbers without ``.0``, strings stripped."""
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value).strip()


def to_text(series: pd.Series) -> pd.Series:
    """Object series of canonical text (see :func:`text_of`), NaN for missing and empty cells."""
    out = np.full(len(series), np.nan, dtype=object)  # assembled in numpy: called per column and batch
    present = series.notna().to_numpy()
    values = series[present]
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype="float64")
        whole = np.isfinite(numbers) & (numbers % 1 == 0) & (np.abs(numbers) < 1e15)
        text = np.where(whole, np.where(whole, numbers, 0).astype("int64").astype(str), numbers.astype(str))
    elif pd.api.types.infer_dtype(values, skipna=True) == "string":  # fast path: CSV cells
        text = values.astype(object).str.strip().to_numpy(dtype=object)
    else:
        text = values.astype(object).map(text_of).to_numpy(dtype=object)
    out[present] = text
    out[out == ""] = np.nan
    return pd.Series(out, index=series.index, dtype=object)


def parse_numbers(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Float64 values of one column and the mask of its cells that hold something that is not a number.

    Numeric columns pass as they are. Other columns are parsed from their canonical text: a cell is a
    number when ``pd.to_numeric`` accepts it (a decimal comma, ``nan`` or ``seven`` is *not* a
    number), and its value is Python's correctly rounded ``float`` of the text, the same value the
    Arrow CSV reader gives, so every format and reading path yields the same number.
    """
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype="float64", na_value=np.nan), np.zeros(len(series), dtype=bool)
    text = to_text(series).to_numpy(dtype=object)
    ok = pd.notna(pd.to_numeric(text, errors="coerce"))
    values = np.full(len(series), np.nan)
    if ok.any():
        good = text[ok]
        try:
            values[ok] = good.astype("float64")
        except ValueError:  # a spelling pandas accepts and float() does not: pandas' value
            values[ok] = pd.to_numeric(pd.Series(good, dtype=object)).to_numpy(dtype="float64")
    return values, pd.notna(text) & ~ok


def to_number(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """:func:`parse_numbers` as two series: float64 values and the mask of cells that are not numbers."""
    values, bad = parse_numbers(series)
    return pd.Series(values, index=series.index), pd.Series(bad, index=series.index)


def per_value(series: pd.Series, convert: Callable[[pd.Series], tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """``convert`` (an element-wise conversion returning arrays aligned with its input) applied once
    per distinct value of a text or categorical column, then spread over the rows.

    Millions of rows hold a few hundred distinct codes or a few thousand ids: converting those and
    indexing the results is fast and keeps one shared object per distinct text, instead of one per
    cell. Other dtypes are converted whole. Values that compare equal (``1``, ``1.0``, ``True``)
    share one conversion; their canonical text (:func:`text_of`) is the same, so the result is too.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        uniques = pd.Series(series.cat.categories.to_numpy(dtype=object), dtype=object)
    elif series.dtype == object:
        codes, found = pd.factorize(series, use_na_sentinel=True)
        uniques = pd.Series(found, dtype=object)
    else:
        return convert(series)
    return spread(codes, uniques, convert)


def spread(codes: np.ndarray, uniques: pd.Series, convert: Callable[[pd.Series], tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """Convert the distinct values ``uniques`` and index the results by ``codes``; a missing cell's
    code is -1 or ``len(uniques)``, both the slot after the distinct values. One call of ``convert``
    (element-wise) converts the distinct values and, last, a missing cell (NaN)."""
    both = pd.Series([*uniques.to_numpy(dtype=object), np.nan], dtype=object)
    return tuple(np.asarray(d)[codes] for d in convert(both))


def matches(series: pd.Series, codes: Iterable[Any]) -> pd.Series:
    """Boolean mask of the cells equal to one of ``codes`` (compared as canonical text)."""
    wanted = {text_of(code) for code in codes}
    return to_text(series).isin(wanted) if wanted else pd.Series(False, index=series.index)


def lookup(series: pd.Series, table: Mapping[Any, Any]) -> pd.Series:
    """Replace the cells whose canonical text is a key of ``table``; other cells stay as they are."""
    keyed = {text_of(key): value for key, value in table.items()}
    text = to_text(series)
    hit = text.isin(keyed.keys())
    out = series.astype(object).copy()
    out[hit] = text[hit].map(keyed)
    return out
