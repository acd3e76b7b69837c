"""Column conversions shared by the readers and the mapping: canonical text, numbers, lookups.

Source files store the same value in different ways (``1`` in a CSV, ``1.0`` in SPSS, ``1`` as int64
in Parquet). Everything that compares values (missing codes, recodes, value labels) compares their
canonical text, so the three formats behave alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    out = pd.Series(np.nan, index=series.index, dtype=object)
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
    return out.mask(out == "")


def to_numbers(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Float64 frame and a boolean frame marking the cells that hold something that is not a number.

    Numeric columns pass as they are; other columns are parsed from their canonical text in one
    go (a decimal comma, ``nan`` or ``seven`` is *not* a number).
    """
    numbers = pd.DataFrame(index=frame.index, columns=frame.columns, dtype="float64")
    bad = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    stored = [c for c in frame if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]
    if stored:
        numbers[stored] = frame[stored].to_numpy(dtype="float64", na_value=np.nan)
    rest = [c for c in frame if c not in set(stored)]
    if rest:
        shape = (len(frame), len(rest))
        text = to_text(pd.Series(frame[rest].to_numpy(dtype=object).ravel(), dtype=object))
        parsed = pd.to_numeric(text, errors="coerce").astype("float64")
        numbers[rest] = parsed.to_numpy().reshape(shape)
        bad[rest] = (text.notna() & parsed.isna()).to_numpy().reshape(shape)
    return numbers, bad


def to_number(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """:func:`to_numbers` for one series: float64 values and the mask of cells that are not numbers."""
    numbers, bad = to_numbers(series.to_frame())
    return numbers.iloc[:, 0], bad.iloc[:, 0]


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
