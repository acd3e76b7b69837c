"""Statistical disclosure control for tables computed from real (non-synthetic) data.

A table cell, share or mean that rests on fewer than ``threshold`` units could reveal something
about a single family. Following the threshold rule of the CBS / Eurostat guidelines for tabular
output (Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, ch. 4), such cells are
blanked and marked; the threshold is a run parameter (default 5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MARK = "<{threshold}"


def suppress(table: pd.DataFrame, counts: pd.DataFrame | pd.Series | None = None, *,
             threshold: int = 5) -> pd.DataFrame:
    """Blank the cells of ``table`` that rest on fewer than ``threshold`` units.

    Parameters
    ----------
    table : DataFrame
        The table to publish.
    counts : DataFrame or Series, optional
        Unit counts behind the cells: a frame with ``table``'s rows and some or all of its columns
        (columns it lacks, such as a test column, are left as they are), or a Series indexed like
        ``table``'s rows (one count per row, for every column). When omitted, ``table.attrs['counts']``
        is used if present, else ``table`` itself holds the counts.
    threshold : int
        Smallest publishable count.

    Returns
    -------
    DataFrame
        A copy of ``table`` of dtype object where suppressed cells read ``"<threshold"``. Counts of
        zero are not suppressed (an empty cell reveals nothing about a unit).
    """
    if threshold < 1:
        raise ValueError(f"suppress: threshold must be at least 1, got {threshold}")
    if counts is None:
        counts = table.attrs.get("counts", table)
    if isinstance(counts, pd.Series):
        c = pd.DataFrame(np.repeat(counts.to_numpy()[:, None], table.shape[1], axis=1),
                         index=counts.index, columns=table.columns)
    else:
        c = counts
    unknown = [col for col in c.columns if col not in table.columns]
    if unknown:
        raise ValueError(f"suppress: count columns {unknown} are not columns of the table {list(table.columns)}")
    c = c.reindex(index=table.index)
    if c.isna().to_numpy().any():
        raise ValueError("suppress: counts do not cover every row of the table; rows without a count: "
                         f"{list(c.index[c.isna().any(axis=1)])[:5]}")
    n = c.reindex(columns=table.columns).to_numpy(float)  # columns without counts: NaN, never suppressed
    small = (n > 0) & (n < threshold)
    out = table.astype(object)
    out.attrs = {}
    return out.mask(small, MARK.format(threshold=threshold))
