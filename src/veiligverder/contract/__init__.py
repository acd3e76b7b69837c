"""The data contract (``codebook.yml``): tables, columns, item blocks.

The codebook and the contract document ``CONTRACT.md`` (both in this folder) are verbatim copies
of the shared contract; tests keep them equal. "CONTRACT §n" in the code and the book refers to
section n of ``CONTRACT.md``. Everything else in the package asks this module for column names
instead of spelling them out.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml

from veiligverder.paths import CODEBOOK

TABLES = ("families", "parents", "children")


#: libyaml's parser where PyYAML was built with it (about ten times faster than the pure-Python
#: one: the package reads some 80 shipped YAML files in every process); same results either way.
FastSafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _ContractLoader(FastSafeLoader):
    """YAML 1.2 integers: PyYAML's YAML 1.1 rules read ``1500_3100`` (an income category) as the
    integer 15003100; here only plain digit strings are integers."""


_ContractLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:int"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ContractLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789")
)


def read_yaml(path) -> Any:
    """Read a project YAML file with the contract's YAML 1.2-style integers."""
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_ContractLoader)  # noqa: S506 - a SafeLoader subclass


@lru_cache(maxsize=1)
def load_codebook() -> dict[str, Any]:
    """Return the parsed codebook (cached; treat as read-only)."""
    return read_yaml(CODEBOOK)


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


def columns_table(table: str) -> "pd.DataFrame":
    """One row per contract column of a table: name, type, allowed values or range, note.

    Used by the book's contract appendix, so that the page is rendered from the codebook itself.
    """
    import pandas as pd

    spec = table_spec(table)
    rows = []
    for name, col in spec["columns"].items():
        if "values" in col:
            allowed = ", ".join(str(v) for v in col["values"])
        elif "min" in col or "max" in col:
            allowed = f"{col.get('min', '')} to {col.get('max', '')}"
        elif "references" in col:
            allowed = f"a {col['references']}"
        else:
            allowed = "any"
        rows.append({"column": name, "type": col["type"], "allowed": allowed,
                     "key": "yes" if name in spec["key"] else "",
                     "missing allowed": "yes" if col.get("nullable") or name not in spec["key"] else "no"})
    return pd.DataFrame(rows)


def items_table(table: str) -> "pd.DataFrame":
    """One row per item block of a table: prefix, number of items, columns, answer range, about."""
    import pandas as pd

    rows = []
    for prefix, spec in table_spec(table).get("items", {}).items():
        cols = item_columns(prefix)
        rows.append({"prefix": prefix, "items": spec["n"], "columns": f"{cols[0]} … {cols[-1]}",
                     "answers": f"{spec['min']} to {spec['max']}", "about": spec["about"]})
    return pd.DataFrame(rows)


def blocks_table(instrument: str) -> "pd.DataFrame":
    """The item blocks of a CTS instrument (block, items, severity) as the contract numbers them."""
    import pandas as pd

    blocks = load_codebook()["blocks"][instrument]
    return pd.DataFrame([{"block": name.replace("_", " "), "items": b["items"], "severity": b["severity"]}
                         for name, b in blocks.items()])


def frequency_table() -> "pd.DataFrame":
    """The CTS answer codes with their meaning and the incidents a year each stands for (CONTRACT §2)."""
    import pandas as pd

    meaning = load_codebook()["blocks"]["cts_frequency"]["meaning"]
    codes = sorted(meaning)
    incidents = cts_frequency()
    return pd.DataFrame({"answer code": codes, "meaning": [meaning[k] for k in codes],
                         "incidents a year": [incidents[k] for k in codes]})
