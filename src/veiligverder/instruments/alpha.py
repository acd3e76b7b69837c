"""Cronbach's alpha per scale, as a tidy table."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from veiligverder.instruments.files import available_instruments
from veiligverder.instruments.scoring import _item_matrix, _values_inplace
from veiligverder.instruments.spec import OPS, load_spec

ALPHA_COLUMNS = ["scale", "n", "items", "alpha"]


def cronbach_alpha(data: pd.DataFrame | np.ndarray) -> float:
    """Cronbach's alpha of the columns of ``data`` over its complete rows (listwise deletion).

    ``alpha = k / (k - 1) * (1 - sum of item variances / variance of the row sums)``, variances
    with ``ddof = 1`` (Cronbach 1951). Equals ``pingouin.cronbach_alpha(data,
    nan_policy='listwise')[0]``. NaN with fewer than 2 items or 2 complete rows, or when the row
    sums do not vary.
    """
    a = np.asarray(data, dtype=np.float64)
    a = a[~np.isnan(a).any(axis=1)]
    n, k = a.shape
    if k < 2 or n < 2:
        return float("nan")
    total_var = a.sum(axis=1).var(ddof=1)
    if total_var == 0:
        return float("nan")
    return float(k / (k - 1) * (1.0 - a.var(axis=0, ddof=1).sum() / total_var))


def _tables(dataset_or_tables: object) -> dict[str, pd.DataFrame]:
    if isinstance(dataset_or_tables, Mapping):
        return {k: v for k, v in dataset_or_tables.items() if k in ("parents", "children")}
    tables = {k: getattr(dataset_or_tables, k, None) for k in ("parents", "children")}
    if all(v is None for v in tables.values()):
        raise TypeError("cronbach_alpha_table needs a Dataset or a mapping {'parents': df, 'children': df}")
    return {k: v for k, v in tables.items() if v is not None}


def cronbach_alpha_table(dataset_or_tables: object, keys_dir: str | Path | None = None) -> pd.DataFrame:
    """Cronbach's alpha of every item scale of every instrument, listwise complete cases.

    Parameters
    ----------
    dataset_or_tables : Dataset or mapping
        A :class:`~veiligverder.data.dataset.Dataset`, or ``{"parents": df, "children": df}``
        (either may be left out). Filter rows (e.g. one wave) before calling to get alpha there.
    keys_dir : path, optional
        Key folder for the licensed instruments (default: illustrative keys).

    Returns
    -------
    DataFrame
        Columns ``scale`` (the score column name, ``<instrument>_<scale>``), ``n`` (complete
        rows), ``items`` (number of items) and ``alpha``. One row per ``sum``, ``mean`` and
        ``count`` scale with at least two items; alpha is computed on the item values the scale
        adds up (after recoding and reverse-keying; 0/1 hits for count scales), so for the CTS
        it is the alpha of the incident counts.
    """
    rows = []
    for table_name, table in _tables(dataset_or_tables).items():
        for name in available_instruments(table_name):
            spec = load_spec(name, keys_dir=keys_dir)
            x = _item_matrix(table, spec)
            values = _values_inplace(x.copy(), spec)
            for s in spec.scales.values():
                if s.score not in ("sum", "mean", "count") or len(s.items) < 2:
                    continue
                idx = np.asarray(s.items) - 1
                if s.score == "count":
                    block = np.where(np.isnan(x[idx]), np.nan, OPS[s.count_op](x[idx], s.count_value)).T
                else:
                    block = values[idx].T
                complete = int((~np.isnan(block).any(axis=1)).sum())
                rows.append({"scale": spec.column(s.name), "n": complete, "items": len(idx),
                             "alpha": cronbach_alpha(block)})
    return pd.DataFrame(rows, columns=ALPHA_COLUMNS).astype({"n": "int64", "items": "int64", "alpha": "float64"})
