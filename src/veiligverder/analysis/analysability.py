"""Which outcomes a dataset can answer: analysis samples per group, and a warning where one falls short.

A dataset that passes the contract can still be unable to answer some of its questions: a group
without children has no child outcomes, a wave that was never held leaves no follow-up, and a
small group may be too small to show on real data. :func:`outcome_status` says so per outcome of
CONTRACT §3 *before* any chapter runs, with one sentence naming the cause; ``veiligverder
validate`` prints those sentences (:func:`validate_cli`).

Status per outcome
------------------
``ok``
    Both groups (VV and control) have at least ``threshold`` units in the analysis sample.
``withheld``
    Both groups have at least 2 units, but one has fewer than the disclosure ``threshold``: the
    analysis runs, and on real data the book leaves its small cells empty.
``not estimable``
    A group has fewer than 2 units in the analysis sample (no variance, no test). The reason
    names the first thing missing for that group, looking at the unit table in this order: no
    units of the group at all, none with a row at baseline (T0), none with a baseline value, none
    with a row at a follow-up wave, none with a follow-up value, too few with both.

The analysis sample is the one of :func:`veiligverder.design.analysis_sample` (units with both a
baseline and a follow-up value under the follow-up rule) and, for ``help_grade``, of
:func:`veiligverder.design.help_grade_sample` (parents with a grade at any wave).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from veiligverder.design import FOLLOW_UP_RULES, GROUPS, OUTCOMES, UNIT, DesignError

STATUSES = ("ok", "withheld", "not estimable")
COLUMNS = ["outcome", "unit", "n_VV", "n_control", "status", "reason"]
MIN_UNITS = 2  # fewer units in a group leave no variance to test
PLURAL = {"family": "families", "parent": "parents", "child": "children"}
LEVEL = {plural: single for single, plural in PLURAL.items()}  # measures frame -> unit word
_COUNTS = ["units", "base_rows", "base_values", "fu_rows", "fu_values", "both"]


def _units(n: int, unit: str) -> str:
    return f"{n} {unit if n == 1 else PLURAL[unit]}"


def _follow_up_waves(rule: str) -> tuple[str, ...]:
    if rule not in FOLLOW_UP_RULES:
        raise DesignError(f"follow_up_rule must be one of {FOLLOW_UP_RULES}, got {rule!r}")
    return ("T1", "T2") if rule == "latest" else (rule,)


def _in_groups(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.loc[frame["group"].astype(str).isin(GROUPS)] if "group" in frame else frame.iloc[:0]


def _per_group(flags: pd.DataFrame | pd.Series, keys: list[np.ndarray]) -> pd.DataFrame | pd.Series:
    """Units per group for which a flag holds at some wave (rows -> units -> groups)."""
    per_unit = flags.groupby(keys).any()
    return per_unit.groupby(level=0).sum().reindex(list(GROUPS), fill_value=0)


def sample_counts(frame: pd.DataFrame, *, unit: str, outcomes: list[str],
                  follow_up_rule: str = "latest") -> pd.DataFrame:
    """Per outcome and group, how many units have what: the facts behind every status.

    Parameters
    ----------
    frame : DataFrame
        A measures frame (``unit``, ``group``, ``wave`` and the outcome columns; one row per unit
        and wave). A missing outcome column counts as all missing.
    unit : str
        The unit id column.
    outcomes : list of str
        Outcome columns to count.
    follow_up_rule : {'latest', 'T1', 'T2'}
        Which waves count as follow-up (``latest``: T1 or T2).

    Returns
    -------
    DataFrame
        Index ``(outcome, group)`` over every outcome and both groups (zeros where a group has no
        units); integer columns ``units`` (units of the group with any row), ``base_rows`` /
        ``fu_rows`` (with a row at T0 / at a follow-up wave), ``base_values`` / ``fu_values``
        (with a value there) and ``both`` (the analysis sample: a baseline and a follow-up value).
    """
    fu_waves = _follow_up_waves(follow_up_rule)
    data = _in_groups(frame)
    groups = list(GROUPS)
    keys = _keys(data, unit)
    wave = data["wave"].astype(str).to_numpy() if len(data) else np.array([], dtype=object)
    at_base, at_fu = wave == "T0", np.isin(wave, fu_waves)
    has = data.reindex(columns=outcomes).notna().to_numpy(dtype=bool).reshape(len(data), len(outcomes))
    base_units = pd.DataFrame(has & at_base[:, None], columns=outcomes).groupby(keys).any()
    fu_units = pd.DataFrame(has & at_fu[:, None], columns=outcomes).groupby(keys).any()
    rows = _per_group(pd.DataFrame({"units": np.ones(len(data), dtype=bool), "base_rows": at_base,
                                    "fu_rows": at_fu}), keys)

    def by_group(per_unit: pd.DataFrame) -> np.ndarray:  # units -> (outcome, group) counts, outcome-major
        per_group = per_unit.groupby(level=0).sum().reindex(index=groups, columns=outcomes, fill_value=0)
        return per_group.to_numpy().T.ravel()

    index = pd.MultiIndex.from_product([outcomes, groups], names=["outcome", "group"])
    out = pd.DataFrame({name: np.tile(rows[name].to_numpy(), len(outcomes))
                        for name in ("units", "base_rows", "fu_rows")}, index=index)
    out["base_values"] = by_group(base_units)
    out["fu_values"] = by_group(fu_units)
    out["both"] = by_group(base_units & fu_units)
    return out[_COUNTS].astype(int)


def _keys(data: pd.DataFrame, unit: str) -> list[np.ndarray]:
    """Group and unit id per row, as arrays (a row-aligned groupby key that also works when empty)."""
    if not len(data):
        return [np.array([], dtype=object), np.array([], dtype=object)]
    return [data["group"].astype(str).to_numpy(), data[unit].to_numpy()]


def help_grade_counts(parents: pd.DataFrame) -> pd.DataFrame:
    """Per group: parents (``units``) and parents with a help grade at any wave (``both``, the sample
    of :func:`veiligverder.design.help_grade_sample`). Index ``group``; other count columns are 0."""
    data = _in_groups(parents)
    keys = _keys(data, "parent_id")
    graded = data["help_grade"].notna().to_numpy(dtype=bool) if "help_grade" in data else np.zeros(len(data), bool)
    counts = _per_group(pd.DataFrame({"units": np.ones(len(data), dtype=bool), "both": graded}), keys)
    return counts.reindex(columns=_COUNTS, fill_value=0).astype(int)


def _cause(c: pd.Series, unit: str, rule: str) -> tuple[str, str]:
    """The first thing missing for one group with fewer than 2 units in the sample: (kind, phrase
    with '{who}' for the group name)."""
    waves = " or ".join(_follow_up_waves(rule))
    if c["units"] == 0:
        return "none", f"no {{who}} {unit} in the dataset"
    if c["base_rows"] == 0:
        return "base_rows", f"no {{who}} {unit} has a baseline measurement (no row at T0)"
    if c["base_values"] == 0:
        return "base_values", f"no {{who}} {unit} has a baseline value"
    if c["fu_rows"] == 0:
        return "fu_rows", f"no {{who}} {unit} has a follow-up measurement (no row at {waves})"
    if c["fu_values"] == 0:
        return "fu_values", f"no {{who}} {unit} has a follow-up value"
    if c["both"] == 0:
        return "no_both", f"no {{who}} {unit} has both a baseline and a follow-up value"
    return "few", "the {who} group has " + f"{_units(int(c['both']), unit)} with both measurements ({MIN_UNITS} needed)"


def _help_cause(c: pd.Series) -> tuple[str, str]:
    if c["units"] == 0:
        return "none", "no {who} parent in the dataset"
    if c["both"] == 0:
        return "no_both", "no {who} parent has a help grade"
    return "few", "the {who} group has " + f"{_units(int(c['both']), 'parent')} with a help grade ({MIN_UNITS} needed)"


def _reason(counts: pd.DataFrame, unit: str, *, between: bool, rule: str, threshold: int,
            empty: bool) -> tuple[str, str]:
    """Status and reason of one outcome from its per-group counts (index: GROUPS)."""
    n = counts["both"]
    short = [g for g in GROUPS if n[g] < MIN_UNITS]
    if short:
        if empty:
            return "not estimable", f"not estimable on this dataset: no {unit} in the dataset"
        causes = [(g, *(_help_cause(counts.loc[g]) if between else _cause(counts.loc[g], unit, rule))) for g in short]
        if len(causes) == 2 and causes[0][1] == causes[1][1] and causes[0][1] != "few":
            phrases = [causes[0][2].format(who=" or ".join(GROUPS))]
        else:
            phrases = [phrase.format(who=g) for g, _, phrase in causes]
        return "not estimable", "not estimable on this dataset: " + "; ".join(phrases)
    small = [g for g in GROUPS if n[g] < threshold]
    if small:
        having = "with a help grade" if between else "with both measurements"
        parts = " and ".join(f"the {g} group has {_units(int(n[g]), unit)}" for g in small)
        return "withheld", f"withheld: {parts} {having}, fewer than the disclosure threshold of {threshold}"
    return "ok", ""


def outcome_status(measures: Any, *, follow_up_rule: str = "latest", threshold: int = 5) -> pd.DataFrame:
    """Whether each outcome of CONTRACT §3 can be estimated and shown on this dataset, and why not.

    Parameters
    ----------
    measures : Measures
        :func:`veiligverder.measures.derive` of the dataset (``parents``, ``children``,
        ``families``, each with the unit id, ``group``, ``wave`` and the outcome columns).
    follow_up_rule : {'latest', 'T1', 'T2'}, keyword-only
        The follow-up wave (as in :func:`veiligverder.design.analysis_sample`).
    threshold : int, keyword-only
        Disclosure threshold: a group with fewer units in the sample is ``withheld``. Pass 0 for
        synthetic data, where nothing is withheld.

    Returns
    -------
    DataFrame
        One row per outcome of :data:`veiligverder.design.OUTCOMES`, in that order: ``outcome``,
        ``unit`` (family / parent / child), ``n_VV``, ``n_control`` (units in the analysis sample),
        ``status`` (``ok``, ``withheld``, ``not estimable``) and ``reason`` (one sentence; empty
        for ``ok``), e.g. "not estimable on this dataset: no VV child has a follow-up value".
        Never raises on a valid dataset, however few its units or waves.
    """
    _follow_up_waves(follow_up_rule)
    counts: dict[str, pd.DataFrame] = {}
    for frame_name in ("families", "parents", "children"):
        names = [o for o, s in OUTCOMES.items() if s["frame"] == frame_name and s["kind"] != "between"]
        unit_col = UNIT[frame_name]
        table = sample_counts(getattr(measures, frame_name), unit=unit_col, outcomes=names,
                              follow_up_rule=follow_up_rule)
        counts.update({o: table.xs(o, level="outcome") for o in names})
    counts["help_grade"] = help_grade_counts(measures.parents)
    rows = []
    for outcome, spec in OUTCOMES.items():  # one row per outcome (17), not per data row
        c = counts[outcome]
        empty = len(getattr(measures, spec["frame"])) == 0
        status, reason = _reason(c, LEVEL[spec["frame"]], between=spec["kind"] == "between", rule=follow_up_rule,
                                 threshold=threshold, empty=empty)
        rows.append({"outcome": outcome, "unit": LEVEL[spec["frame"]], "n_VV": int(c.loc["VV", "both"]),
                     "n_control": int(c.loc["control", "both"]), "status": status, "reason": reason})
    return pd.DataFrame(rows, columns=COLUMNS)


def not_estimable_reason(status_row: Any) -> str | None:
    """The reason of a row of :func:`outcome_status` when its outcome is not estimable, else None."""
    return str(status_row["reason"]) if status_row["status"] == "not estimable" else None


def warning_lines(status: pd.DataFrame) -> list[str]:
    """One line per outcome whose status is not ``ok``: ``outcome (unit): reason``."""
    flagged = status.loc[status["status"] != "ok"]
    return (flagged["outcome"] + " (" + flagged["unit"] + "): " + flagged["reason"]).tolist()


def disclosure_line(meta: Any, threshold: int) -> str:
    """Whether disclosure control is on for a dataset, and why (``meta.synthetic_reason``)."""
    reason = getattr(meta, "synthetic_reason", "") or ("synthetic" if meta.synthetic else "real data")
    if meta.synthetic:
        return f"disclosure control: off ({reason}); no cell is withheld"
    return f"disclosure control: on ({reason}); cells based on fewer than {threshold} units are withheld"


def validate_cli(path: str | Path, *, threshold: int = 5, follow_up_rule: str = "latest") -> int:
    """``veiligverder validate DIR``: the validation report, then what the data can answer.

    Prints the report of :func:`veiligverder.data.validate`; when the data are valid, also whether
    disclosure control is on (and why), and a ``warnings`` section with every outcome that is
    ``withheld`` or ``not estimable`` (see :func:`outcome_status`). Returns 0 when the data are
    valid (warnings do not fail) and 1 when they are not.
    """
    from veiligverder.data import validate_and_load
    from veiligverder.measures import MeasureError, derive

    report, dataset = validate_and_load(path)  # the files are read once
    print(report.text())
    if dataset is None:
        return 1
    print(disclosure_line(dataset.meta, threshold))
    try:
        measures = derive(dataset)
    except MeasureError as exc:  # valid data whose measures cannot be derived: say so, still valid
        print(f"warnings: the derived measures could not be computed, so analysability is unknown: {exc}")
        return 0
    status = outcome_status(measures, follow_up_rule=follow_up_rule,
                            threshold=0 if dataset.meta.synthetic else threshold)
    lines = warning_lines(status)
    if not lines:
        print(f"warnings: none (every outcome has at least {threshold if not dataset.meta.synthetic else MIN_UNITS} "
              "units per group in its analysis sample)")
        return 0
    counts = status["status"].value_counts()
    summary = ", ".join(f"{int(counts[s])} {s}" for s in STATUSES[1:] if s in counts)
    print(f"warnings: {len(lines)} of {len(status)} outcomes cannot be shown in full ({summary}; "
          f"follow-up rule {follow_up_rule}):")
    for line in lines:
        print(f"  {line}")
    return 0
