"""The codebook as column specifications, and its rules checked column by column as problems.

Rules per column come from ``codebook.yml`` (CONTRACT §1):

- ``type: string`` / ``category`` are text; ``integer`` / ``number`` and every item are numbers
  (items float32, other numbers float64 in memory); ``integer`` columns and items must hold whole
  numbers.
- ``values`` lists the allowed values, ``min`` / ``max`` the allowed range (items: their block's).
- ``references: families.family_id`` means the value must be a family of the families table.
- The table's ``key`` must be unique (family_id; parent_id + wave; child_id + wave).
- Key columns, reference columns, ``*_id`` columns and ``group`` must not be missing unless the
  codebook says ``nullable: true``; every other column may be missing (non-response).

Each rule is one vectorised pass over one column (numpy or pandas), so checking takes a few
temporary arrays of one column at a time, whatever the size of the table. Problems come in the
order: the unique key, then per column in contract order: not missing, dtype, allowed values,
range, whole number, references. Missing cells pass every rule but 'not missing'.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from veiligverder.contract import item_columns, item_prefixes, table_spec
from veiligverder.data.convert import text_of
from veiligverder.data.problems import MAX_EXAMPLES, Problem

TEXT_TYPES = ("string", "category")
REQUIRED_EXTRA = ("group",)
VALUE_FIX = "correct these values in the source, or declare a recode or a missing code in mapping.yml"
ITEM_DTYPE = np.dtype("float32")    # answer codes: exact in float32, half the memory; what scoring uses
NUMBER_DTYPE = np.dtype("float64")  # other integer and number columns
TEXT_DTYPE = np.dtype(object)       # str, NaN for missing


@lru_cache(maxsize=None)
def column_specs(table: str) -> dict[str, dict[str, Any]]:
    """Contract column -> its codebook spec, in contract order (columns, then items block by block).

    Item columns get ``{type: integer, min, max, item: prefix}`` from their block.
    """
    spec = table_spec(table)
    out = {name: dict(col) for name, col in spec["columns"].items()}
    for prefix in item_prefixes(table):
        block = spec["items"][prefix]
        for name in item_columns(prefix):
            out[name] = {"type": "integer", "min": block["min"], "max": block["max"], "item": prefix}
    return out


def is_text(spec: dict[str, Any]) -> bool:
    """True for string and category columns (kept as text), False for numbers."""
    return spec["type"] in TEXT_TYPES


def is_required(table: str, name: str) -> bool:
    """Whether a column must be filled in every row (see the module docstring)."""
    spec = column_specs(table)[name]
    if spec.get("nullable", False):
        return False
    return (
        name in table_spec(table)["key"]
        or "references" in spec
        or name.endswith("_id")
        or name in REQUIRED_EXTRA
    )


def is_item(spec: dict[str, Any]) -> bool:
    """True for item columns (answer codes of an item block)."""
    return "item" in spec


def contract_dtype(spec: dict[str, Any]) -> np.dtype:
    """The in-memory dtype of a contract column: text object, items float32, other numbers float64."""
    return TEXT_DTYPE if is_text(spec) else ITEM_DTYPE if is_item(spec) else NUMBER_DTYPE


def contract_dtypes(table: str) -> dict[str, np.dtype]:
    """Contract column -> in-memory dtype (see :func:`contract_dtype`), in contract order."""
    return {name: contract_dtype(spec) for name, spec in column_specs(table).items()}


def row_labels(frame: pd.DataFrame, table: str, rows: pd.Index) -> pd.Series:
    """``row N (key=value, ...)`` for the given index labels (rows counted from 1)."""
    keys = [k for k in table_spec(table)["key"] if k in frame.columns]
    label = pd.Series([f"row {i + 1}" for i in rows], index=rows, dtype=object)
    if keys:
        parts = [k + "=" + frame.loc[rows, k].astype(object).fillna("(empty)").astype(str) for k in keys]
        joined = parts[0].str.cat(parts[1:], sep=", ") if len(parts) > 1 else parts[0]
        label = label + " (" + joined + ")"
    return label


def _shown(value: Any) -> str:
    """A value as the report shows it: text quoted, numbers plain, missing as ``(empty)``."""
    if isinstance(value, str):
        return repr(value)
    return "(empty)" if pd.isna(value) else text_of(value)


def value_problem(
    frame: pd.DataFrame, table: str, file: str, column: str, rule: str, bad: pd.Series, *, fix: str = VALUE_FIX
) -> Problem:
    """A problem for the rows flagged in the boolean mask ``bad``, showing each row's ``column`` value."""
    rows = bad.index[bad.to_numpy()]
    shown = rows[:MAX_EXAMPLES]
    labels = row_labels(frame, table, shown)
    if column in frame.columns:
        examples = tuple(f"{labels[i]}: {_shown(frame.loc[i, column])}" for i in shown)
    else:  # a rule over several columns (the key): the row label shows the values
        examples = tuple(labels[i] for i in shown)
    return Problem(file=file, column=column, rule=rule, n_rows=len(rows), examples=examples, fix=fix)


def _not_whole(v: np.ndarray) -> np.ndarray:
    """Cells that hold a number that is not whole (infinity included); NaN passes."""
    with np.errstate(invalid="ignore"):  # inf - inf
        return (v - np.floor(v) > 0) | np.isinf(v)


def _numeric_failures(v: np.ndarray, spec: dict[str, Any]) -> Iterator[tuple[str, np.ndarray]]:
    """(rule, mask of failing rows) for the value rules of one numeric column.

    A reduction first (min, max, any fraction) so that a column that passes costs a pass or two
    and no mask; the masks are only built for rules that fail.
    """
    if "values" in spec:
        rule = "allowed values: " + ", ".join(str(x) for x in spec["values"])
        bad = ~np.isin(v, [float(x) for x in spec["values"]]) & ~np.isnan(v)
        if bad.any():
            yield rule, bad
    lowest, highest = (np.fmin.reduce(v), np.fmax.reduce(v)) if len(v) else (np.nan, np.nan)
    if "min" in spec and "max" in spec and (lowest < spec["min"] or highest > spec["max"]):
        yield f"range {spec['min']}..{spec['max']}", (v < spec["min"]) | (v > spec["max"])
    if spec["type"] == "integer" and len(v) and (
            np.isinf(lowest) or np.isinf(highest) or np.fmax.reduce(v - np.floor(v)) > 0):  # finite here
        yield "whole number", _not_whole(v)


def _failures(column: pd.Series, spec: dict[str, Any], *, required: bool,
              family_ids: Collection[str] | None) -> Iterator[tuple[str, np.ndarray | None]]:
    """(rule, mask of failing rows) for every rule one column breaks, in the order of the module
    docstring; the mask is None for a rule about the whole column (its dtype)."""
    text = is_text(spec)
    values = column.to_numpy()
    # on the array, not the Series: the same mask at a tenth of the cost, paid once per column
    missing = np.isnan(values) if values.dtype.kind == "f" else pd.isna(values)
    if required and missing.any():
        yield "not missing", missing
    wanted = contract_dtype(spec)
    if text and column.dtype != TEXT_DTYPE or not text and column.dtype.kind != "f":
        yield f"dtype('{wanted}')", None
        return
    if not text:
        yield from _numeric_failures(values, spec)
    elif "values" in spec:
        bad = ~column.isin(spec["values"]).to_numpy() & ~missing
        if bad.any():
            yield "allowed values: " + ", ".join(str(x) for x in spec["values"]), bad
    if "references" in spec and family_ids is not None:
        bad = ~column.isin(family_ids).to_numpy() & ~missing
        if bad.any():
            yield f"references {spec['references']}", bad


def check_table(
    frame: pd.DataFrame, table: str, file: str, *, family_ids: Collection[str] | None
) -> list[Problem]:
    """Check one contract frame against every codebook rule and return all failures as problems.

    Parameters
    ----------
    frame : DataFrame
        A table in contract form (columns absent from it are reported elsewhere).
    table : str
        ``families``, ``parents`` or ``children``.
    file : str
        File name, for the problems.
    family_ids : collection of str, optional
        Family ids of the families table, for the ``references`` rule; skipped when None.
    """
    problems: list[Problem] = []
    key = table_spec(table)["key"]
    present_key = [k for k in key if k in frame.columns]
    if present_key:
        duplicated = frame.duplicated(present_key, keep=False)  # every copy, the first one too
        if duplicated.any():
            problems.append(value_problem(
                frame, table, file, ", ".join(key), f"unique key ({', '.join(key)})", duplicated,
                fix="each key may occur once per table: remove or renumber the duplicated rows",
            ))
    ids = None if family_ids is None else family_ids if isinstance(family_ids, (set, frozenset)) else set(family_ids)
    for name, spec in column_specs(table).items():
        if name not in frame.columns:
            continue
        for rule, bad in _failures(frame[name], spec, required=is_required(table, name), family_ids=ids):
            if bad is None:  # a whole-column failure
                problems.append(Problem(file=file, column=name, rule=rule, fix=VALUE_FIX))
                continue
            fix = VALUE_FIX
            if rule == "not missing":
                fix = "fill in this column in every row"
            elif rule.startswith("references"):
                fix = "add the family to the families table, or correct the family_id"
            problems.append(value_problem(frame, table, file, name, rule, pd.Series(bad, index=frame.index), fix=fix))
    return problems
