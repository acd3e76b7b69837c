"""The codebook as column specifications and as pandera schemas, and pandera failures as problems.

Rules per column come from ``codebook.yml`` (CONTRACT §1):

- ``type: string`` / ``category`` are text; ``integer`` / ``number`` and every item are numbers
  (float64 in memory); ``integer`` columns and items must hold whole numbers.
- ``values`` lists the allowed values, ``min`` / ``max`` the allowed range (items: their block's).
- ``references: families.family_id`` means the value must be a family of the families table.
- The table's ``key`` must be unique (family_id; parent_id + wave; child_id + wave).
- Key columns, reference columns, ``*_id`` columns and ``group`` must not be missing unless the
  codebook says ``nullable: true``; every other column may be missing (non-response).
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from veiligverder.contract import item_columns, item_prefixes, table_spec
from veiligverder.data.convert import text_of
from veiligverder.data.report import MAX_EXAMPLES, Problem

TEXT_TYPES = ("string", "category")
REQUIRED_EXTRA = ("group",)
VALUE_FIX = "correct these values in the source, or declare a recode or a missing code in mapping.yml"


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


def _whole(series: pd.Series) -> pd.Series:
    return series.isna() | (series % 1 == 0)


def _checks(spec: dict[str, Any], family_ids: Collection[str] | None) -> list[pa.Check]:
    """pandera checks of one column; each check's name and error text is the rule in words."""
    checks: list[pa.Check] = []
    if "values" in spec:
        values = spec["values"] if is_text(spec) else [float(v) for v in spec["values"]]
        rule = "allowed values: " + ", ".join(str(v) for v in spec["values"])
        checks.append(pa.Check.isin(values, name=rule, error=rule))
    if "min" in spec and "max" in spec:
        rule = f"range {spec['min']}..{spec['max']}"
        checks.append(pa.Check.in_range(spec["min"], spec["max"], name=rule, error=rule))
    if spec["type"] == "integer":
        checks.append(pa.Check(_whole, name="whole number", error="whole number"))
    if "references" in spec and family_ids is not None:
        rule = f"references {spec['references']}"
        checks.append(pa.Check.isin(list(family_ids), name=rule, error=rule))
    return checks


def table_schema(table: str, columns: Collection[str], *, family_ids: Collection[str] | None) -> pa.DataFrameSchema:
    """A pandera schema for the given contract columns of ``table``.

    Parameters
    ----------
    table : str
        ``families``, ``parents`` or ``children``.
    columns : collection of str
        The contract columns present in the frame (absent ones are reported elsewhere).
    family_ids : collection of str, optional
        Family ids of the families table, for the ``references`` rule; skipped when None.
    """
    specs = column_specs(table)
    schema_columns = {
        name: pa.Column(
            str if is_text(spec) else "float64",
            _checks(spec, family_ids),
            nullable=not is_required(table, name),
        )
        for name, spec in specs.items()
        if name in columns
    }
    key = [k for k in table_spec(table)["key"] if k in columns]
    return pa.DataFrameSchema(schema_columns, unique=key or None, report_duplicates="all")


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


def check_table(
    frame: pd.DataFrame, table: str, file: str, *, family_ids: Collection[str] | None
) -> list[Problem]:
    """Validate one contract frame with pandera (lazily: all failures) and return them as problems."""
    schema = table_schema(table, frame.columns, family_ids=family_ids)
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as err:
        return _problems(err.failure_cases, frame, table, file)
    return []


def _problems(cases: pd.DataFrame, frame: pd.DataFrame, table: str, file: str) -> list[Problem]:
    problems: list[Problem] = []
    key = table_spec(table)["key"]
    unique = cases["check"] == "multiple_fields_uniqueness"
    if unique.any():
        rows = pd.Index(sorted(set(cases.loc[unique, "index"].dropna().astype(int))))
        bad = pd.Series(frame.index.isin(rows), index=frame.index)
        problems.append(
            value_problem(
                frame, table, file, ", ".join(key), f"unique key ({', '.join(key)})", bad,
                fix="each key may occur once per table: remove or renumber the duplicated rows",
            )
        )
    for (column, check), group in cases[~unique].groupby(["column", "check"], sort=False):
        if group["index"].isna().all():  # a whole-column failure such as a wrong dtype
            problems.append(Problem(file=file, column=str(column), rule=str(check), fix=VALUE_FIX))
            continue
        rule = "not missing" if check == "not_nullable" else str(check)
        fix = "fill in this column in every row" if check == "not_nullable" else VALUE_FIX
        if str(check).startswith("references"):
            fix = "add the family to the families table, or correct the family_id"
        bad = pd.Series(frame.index.isin(group["index"].dropna().astype(int)), index=frame.index)
        problems.append(value_problem(frame, table, file, str(column), rule, bad, fix=fix))
    return problems
