"""``mapping.yml``: how a source export becomes the contract (format in book/appendix_mapping_format.md).

A mapping is read and checked as a whole before any table is converted; a bad mapping is reported
on its own, since every table problem after it would only be a consequence. The YAML is read with
:func:`veiligverder.params.load_yaml` (alias expansion bounded), item ``source`` patterns may hold
only the ``{n}`` placeholder, and each quoted entry is cut to a few hundred characters, so that a
problem report stays small whatever the file holds.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import yaml

from veiligverder.contract import TABLES, item_columns, item_prefixes, table_spec
from veiligverder.data.convert import lookup, matches
from veiligverder.data.problems import Problem
from veiligverder.data.schema import column_specs, is_text
from veiligverder.params import load_yaml

MAPPING_FILE = "mapping.yml"
TOP_KEYS = ("version", "missing", "tables")
TABLE_KEYS = ("drop", "columns", "items", "missing", "recode")
ITEM_KEYS = ("source", "targets", "order")
FIX = "correct mapping.yml; its format is described in the book's appendix 'Mapping format'"
MAX_DETAIL = 300  # characters of an offending entry quoted in a problem


@dataclass(frozen=True)
class TableMapping:
    """The mapping of one table, with item prefixes expanded to item columns.

    Attributes
    ----------
    drop : tuple of str
        Source columns to ignore.
    rename : dict
        Source column -> contract column (from ``columns`` and ``items``).
    missing : dict
        Contract column -> codes that mean missing in that column.
    recode : dict
        Contract column -> {source value: contract value}.
    """

    drop: tuple[str, ...] = ()
    rename: dict[str, str] = field(default_factory=dict)
    missing: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    recode: dict[str, dict[Any, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Mapping:
    """A parsed ``mapping.yml``: global missing codes (all but ``type: string`` columns) and per-table mappings."""

    missing: tuple[Any, ...] = ()
    tables: dict[str, TableMapping] = field(default_factory=dict)

    def table(self, name: str) -> TableMapping:
        """The mapping of one table (empty when the file does not mention it)."""
        return self.tables.get(name, TableMapping())


class _Collector:
    """Gathers mapping problems so that one pass reports all of them."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, where: str | None, rule: str, detail: str) -> None:
        if len(detail) > MAX_DETAIL:
            detail = detail[: MAX_DETAIL - 1] + "…"
        if where is not None and len(where) > MAX_DETAIL:
            where = where[: MAX_DETAIL - 1] + "…"
        self.problems.append(Problem(file=MAPPING_FILE, column=where, rule=rule, examples=(detail,), fix=FIX))


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _codes(value: Any, where: str, out: _Collector, *, numbers_only: bool = False) -> tuple[Any, ...]:
    ok = isinstance(value, list) and all(_is_scalar(v) for v in value)
    if ok and numbers_only:
        ok = all(isinstance(v, int | float) for v in value)
    if not ok:
        kind = "numbers" if numbers_only else "numbers or texts"
        out.add(where, "missing codes", f"expected a list of {kind}, got {value!r}")
        return ()
    return tuple(value)


def _targets(table: str, name: Any) -> list[str] | None:
    """Contract columns a mapping key stands for: the column itself, or every item of a prefix."""
    if name in column_specs(table):
        return [name]
    if name in item_prefixes(table):
        return item_columns(name)
    return None


def source_pattern_problem(source: Any) -> str | None:
    """Why ``source`` is not a valid item pattern, or None when it is.

    A pattern is text with the placeholder ``{n}`` (the item number), optionally with an integer
    format such as ``{n:03d}``; literal braces are written ``{{`` and ``}}``. Any other field
    (``{0}``, ``{x}``, ``{n.real}``, ``{n[0]}``, ``{n!r}``, nested ``{n:{w}}``) is refused before
    the pattern is ever filled in.
    """
    example = "source must be a column-name pattern with {n}, e.g. 'CTS{n}' or 'cts_{n:02d}'"
    if not isinstance(source, str):
        return f"{example}; got {source!r}"
    try:
        parts = list(string.Formatter().parse(source))
    except ValueError as err:
        return f"{example}; {source!r} is not a valid pattern ({err}; write literal braces as {{{{ and }}}})"
    fields_ = [(name, spec, conversion) for _, name, spec, conversion in parts if name is not None]
    if not fields_:
        return f"{example}; got {source!r}"
    for name, spec, conversion in fields_:
        field_text = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if name != "n" or conversion is not None or "{" in (spec or ""):
            return f"{example}; {field_text} in {source!r} is not allowed (only {{n}} and formats like {{n:03d}})"
        try:
            format(1, spec or "")
        except ValueError as err:
            return f"{example}; {field_text} in {source!r} is not an integer format ({err})"
    return None


def _expand_items(table: str, entry: Any, where: str, out: _Collector) -> dict[str, str]:
    """Source column -> contract item column for one ``items`` entry (see the format appendix)."""
    if not isinstance(entry, dict) or set(entry) - set(ITEM_KEYS) or not {"source", "targets"} <= set(entry):
        out.add(where, "items entry", f"expected keys source, targets and optionally order; got {entry!r}")
        return {}
    source, targets, order = entry["source"], entry["targets"], entry.get("order")
    targets = [targets] if isinstance(targets, str) else targets
    problem = source_pattern_problem(source)
    if problem:
        out.add(where, "items source", problem)
        return {}
    prefixes = item_prefixes(table)
    unknown = ([t for t in targets if not isinstance(t, str) or t not in prefixes] if isinstance(targets, list)
               else [targets])
    if not isinstance(targets, list) or not targets or unknown:
        out.add(where, "unknown column", f"targets {unknown or targets!r} are not item prefixes of {table} "
                f"({', '.join(item_prefixes(table))})")
        return {}
    sizes = {table_spec(table)["items"][t]["n"] for t in targets}
    if order is None:
        if len(sizes) != 1:
            out.add(where, "items order", f"targets {targets} differ in length; give 'order'")
            return {}
        order = list(range(1, next(iter(sizes)) + 1))
    limit = min(sizes)
    if (
        not isinstance(order, list)
        or not all(isinstance(k, int) and not isinstance(k, bool) and 1 <= k <= limit for k in order)
        or len(set(order)) != len(order)
    ):
        out.add(where, "items order", f"order must list distinct item numbers 1..{limit}; got {order!r}")
        return {}
    rename: dict[str, str] = {}
    for position, number in enumerate(order):
        for offset, prefix in enumerate(targets):
            n = position * len(targets) + offset + 1
            try:
                name = source.format(n=n)
            except (ValueError, KeyError, IndexError, AttributeError, TypeError) as err:
                out.add(where, "items source", f"cannot fill in {source!r}: {err}")
                return {}
            rename[name] = item_columns(prefix, [number])[0]
    return rename


def _table(table: str, spec: Any, out: _Collector) -> TableMapping:
    base = f"tables.{table}"
    if not isinstance(spec, dict):
        out.add(base, "table entry", f"expected a mapping with keys {', '.join(TABLE_KEYS)}; got {spec!r}")
        return TableMapping()
    for key in set(spec) - set(TABLE_KEYS):
        out.add(f"{base}.{key}", "unknown key", f"{key!r} is not one of {', '.join(TABLE_KEYS)}")
    drop = spec.get("drop") or []
    if not isinstance(drop, list) or not all(isinstance(d, str) for d in drop):
        out.add(f"{base}.drop", "drop", f"expected a list of source column names; got {drop!r}")
        drop = []
    rename: dict[str, str] = {}
    columns = spec.get("columns") or {}
    if not isinstance(columns, dict):
        out.add(f"{base}.columns", "columns", f"expected source: contract pairs; got {columns!r}")
        columns = {}
    for source, target in columns.items():
        if not isinstance(target, str) or target not in column_specs(table):
            out.add(f"{base}.columns.{source}", "unknown column",
                    f"{target!r} is not a column of the {table} table in codebook.yml")
            continue
        rename[str(source)] = target
    items = spec.get("items") or []
    if not isinstance(items, list):
        out.add(f"{base}.items", "items entry", f"expected a list of entries; got {items!r}")
        items = []
    for i, entry in enumerate(items):
        rename.update(_expand_items(table, entry, f"{base}.items[{i}]", out))
    targets = pd.Series(list(rename.values()), index=list(rename.keys()), dtype=object)
    for target in targets[targets.duplicated()].unique():
        sources = ", ".join(targets.index[targets == target])
        out.add(f"{base}.columns", "one source per column", f"{target!r} is the target of {sources}")
    missing: dict[str, tuple[Any, ...]] = {}
    recode: dict[str, dict[Any, Any]] = {}
    for section, store in (("missing", missing), ("recode", recode)):
        entries = spec.get(section) or {}
        if not isinstance(entries, dict):
            out.add(f"{base}.{section}", section, f"expected contract column: ... pairs; got {entries!r}")
            continue
        for name, value in entries.items():
            where = f"{base}.{section}.{name}"
            columns_of = _targets(table, name)
            if columns_of is None:
                out.add(where, "unknown column", f"{name!r} is not a column or item prefix of the {table} table")
                continue
            if section == "missing":
                parsed: Any = _codes(value, where, out)
            elif isinstance(value, dict) and all(_is_scalar(k) for k in value) and all(
                    v is None or _is_scalar(v) for v in value.values()
            ):
                parsed = dict(value)
            else:
                out.add(where, "recode", f"expected source value: contract value pairs; got {value!r}")
                continue
            store.update({column: parsed for column in columns_of})
    return TableMapping(drop=tuple(drop), rename=rename, missing=missing, recode=recode)


def parse_mapping(data: bytes) -> tuple[Mapping, list[Problem]]:
    """Parse and check ``mapping.yml`` bytes; returns the mapping and every problem found in it."""
    out = _Collector()
    try:
        raw = load_yaml(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, yaml.YAMLError) as err:
        out.add(None, "readable YAML", " ".join(str(err).split()))
        return Mapping(), out.problems
    if raw is None:
        return Mapping(), []
    if not isinstance(raw, dict):
        out.add(None, "readable YAML", f"expected keys {', '.join(TOP_KEYS)}; got {type(raw).__name__}")
        return Mapping(), out.problems
    for key in set(raw) - set(TOP_KEYS):
        out.add(str(key), "unknown key", f"{key!r} is not one of {', '.join(TOP_KEYS)}")
    if raw.get("version", 1) != 1:
        out.add("version", "version", f"this package reads mapping version 1; got {raw['version']!r}")
    missing = _codes(raw.get("missing") or [], "missing", out, numbers_only=True)
    tables_raw = raw.get("tables") or {}
    tables: dict[str, TableMapping] = {}
    if not isinstance(tables_raw, dict):
        out.add("tables", "tables", f"expected table: mapping pairs; got {tables_raw!r}")
        tables_raw = {}
    for name, spec in tables_raw.items():
        if name not in TABLES:
            out.add(f"tables.{name}", "unknown table", f"{name!r} is not one of {', '.join(TABLES)}")
            continue
        tables[name] = _table(name, spec, out)
    return Mapping(missing=missing, tables=tables), out.problems


def apply_values(series: pd.Series, column: str, spec: dict[str, Any], table_map: TableMapping,
                 mapping: Mapping, labels: dict[Any, str] | None) -> pd.Series:
    """Missing codes, then the recode, then (for text columns not recoded) SPSS value labels.

    Global missing codes apply to numeric and category columns, not to ``type: string`` columns
    (ids, free text), so that an id such as ``99`` is never lost; per-column codes apply to any column.
    """
    codes = list(table_map.missing.get(column, ()))
    if spec["type"] != "string":
        codes += list(mapping.missing)
    if codes:
        series = series.mask(matches(series, codes))
    if column in table_map.recode:
        return lookup(series, table_map.recode[column])
    if labels and is_text(spec):
        return lookup(series, labels)
    return series
