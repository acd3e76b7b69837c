"""The data contract (``codebook.yml``): tables, columns, item blocks.

The codebook is a verbatim copy of the shared contract; a test keeps the two equal. Everything
else in the package asks this module for column names instead of spelling them out.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from veiligverder.paths import CODEBOOK

TABLES = ("families", "parents", "children")


@lru_cache(maxsize=1)
def load_codebook() -> dict[str, Any]:
    """Return the parsed codebook (cached; treat as read-only)."""
    with CODEBOOK.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def waves() -> list[str]:
    """Wave labels in time order (``T0``, ``T1``, ``T2``)."""
    return list(load_codebook()["waves"])


def table_spec(table: str) -> dict[str, Any]:
    """The codebook entry of one table (``key``, ``columns``, optional ``items``)."""
    try:
        return load_codebook()["tables"][table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; the contract has {', '.join(TABLES)}") from None


def item_prefixes(table: str) -> list[str]:
    """Item-block prefixes of a table, in codebook order."""
    return list(table_spec(table).get("items", {}))


def item_columns(prefix: str, numbers: list[int] | None = None) -> list[str]:
    """Column names ``PREFIX_NN`` of an item block (zero-padded to the block's ``width``).

    Parameters
    ----------
    prefix : str
        Item prefix, e.g. ``"cts2s"``.
    numbers : list of int, optional
        1-based item numbers; all items of the block when omitted.
    """
    for table in TABLES:
        items = table_spec(table).get("items", {})
        if prefix in items:
            spec = items[prefix]
            numbers = list(range(1, spec["n"] + 1)) if numbers is None else numbers
            bad = [n for n in numbers if not 1 <= n <= spec["n"]]
            if bad:
                raise ValueError(f"item numbers {bad} outside 1..{spec['n']} for prefix {prefix!r}")
            return [f"{prefix}_{n:0{spec['width']}d}" for n in numbers]
    raise KeyError(f"unknown item prefix {prefix!r}; see codebook.yml 'items'")


def table_of_prefix(prefix: str) -> str:
    """The table ('parents' or 'children') that holds an item prefix."""
    for table in TABLES:
        if prefix in table_spec(table).get("items", {}):
            return table
    raise KeyError(f"unknown item prefix {prefix!r}")


def parse_range(text: str) -> list[int]:
    """``"05-09"`` -> ``[5, 6, 7, 8, 9]`` (item ranges as written in ``blocks``)."""
    lo, _, hi = str(text).partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def block_items(instrument: str, *, severity: str | None = None, block: str | None = None) -> list[int]:
    """Item numbers of a CTS block set (``blocks.cts2`` / ``ctspc`` / ``ctspcc``).

    Filter by ``severity`` (``none``, ``mild``, ``severe``, ``witnessed``) or by block name.
    """
    blocks = load_codebook()["blocks"][instrument]
    out: list[int] = []
    for name, spec in blocks.items():
        if severity is not None and spec["severity"] != severity:
            continue
        if block is not None and name != block:
            continue
        out.extend(parse_range(spec["items"]))
    return out


def cts_frequency() -> dict[int, float]:
    """CTS answer code -> incidents in the past year (``blocks.cts_frequency.codes``)."""
    return {int(k): float(v) for k, v in load_codebook()["blocks"]["cts_frequency"]["codes"].items()}


def auditc_midpoints() -> tuple[dict[int, float], dict[int, float]]:
    """AUDIT-C category midpoints: (q1 occasions per week, q2 drinks per occasion)."""
    b = load_codebook()["blocks"]["auditc"]
    q1 = {int(k): float(v) for k, v in b["q1_occasions_per_week"].items()}
    q2 = {int(k): float(v) for k, v in b["q2_drinks_per_occasion"].items()}
    return q1, q2
