"""Small frames for the statistics tests."""

from __future__ import annotations

import pandas as pd


def long_from_wide(wide: list[tuple], *, first="baseline", second="follow_up") -> pd.DataFrame:
    """``(subject, group, y_first, y_second)`` tuples -> long frame (None = row missing)."""
    rows = []
    for subject, group, y1, y2 in wide:
        if y1 is not None:
            rows.append((subject, group, first, y1))
        if y2 is not None:
            rows.append((subject, group, second, y2))
    return pd.DataFrame(rows, columns=["sid", "grp", "time", "score"])
