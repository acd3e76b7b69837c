"""The study design: which unit and which waves each analysis uses.

Analysis samples (CONTRACT §3)
------------------------------
Every outcome is analysed at one unit level (family, parent or child). Baseline is the value at
T0; the follow-up value is chosen per unit by the *follow-up rule*: ``latest`` takes T2 where the
unit has a value there and T1 otherwise, ``T1`` and ``T2`` take that wave only. A unit of the VV or
control group enters the sample of an outcome when it has both a baseline and a follow-up value
for it. The help grade is a between-groups comparison of one grade per parent: the one at the
latest wave that has a grade.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from veiligverder.vocab import FOLLOW_UP_RULES, GROUPS

UNIT = {"families": "family_id", "parents": "parent_id", "children": "child_id"}

# Per outcome of CONTRACT §3: the measures frame it lives in, its unit and its kind.
OUTCOMES: dict[str, dict[str, str]] = {
    "violence_total": {"frame": "families", "kind": "continuous"},
    "violence_partner": {"frame": "parents", "kind": "continuous"},
    "violence_child_direct": {"frame": "children", "kind": "continuous"},
    "violence_category": {"frame": "families", "kind": "category"},
    "parent_trauma": {"frame": "parents", "kind": "binary"},
    "child_trauma": {"frame": "children", "kind": "binary"},
    "safety_grade": {"frame": "parents", "kind": "continuous"},
    "emotional_insecurity": {"frame": "children", "kind": "continuous"},
    "parenting_stress": {"frame": "parents", "kind": "continuous"},
    "parenting_competence": {"frame": "parents", "kind": "continuous"},
    "qol_parent": {"frame": "parents", "kind": "continuous"},
    "qol_child": {"frame": "children", "kind": "continuous"},
    "low_income": {"frame": "parents", "kind": "binary"},
    "unemployment": {"frame": "parents", "kind": "binary"},
    "drinks_own": {"frame": "parents", "kind": "continuous"},
    "drinks_partner": {"frame": "parents", "kind": "continuous"},
    "help_grade": {"frame": "parents", "kind": "between"},
}
for _spec in OUTCOMES.values():
    _spec["unit"] = UNIT[_spec["frame"]]
    _spec["level"] = {"families": "family", "parents": "parent", "children": "child"}[_spec["frame"]]
TWO_WAVE_OUTCOMES = tuple(o for o, s in OUTCOMES.items() if s["kind"] in ("continuous", "binary"))

SAMPLE_COLUMNS = ["unit_id", "group", "time", "wave", "value"]


class DesignError(ValueError):
    """An outcome, rule or frame that the design does not know."""


def _outcome(outcome: str) -> dict[str, str]:
    if outcome not in OUTCOMES:
        raise DesignError(f"unknown outcome {outcome!r}; CONTRACT §3 lists {sorted(OUTCOMES)}")
    return OUTCOMES[outcome]


def follow_up(frame: pd.DataFrame, *, unit: str, value: str, rule: str = "latest") -> pd.DataFrame:
    """Baseline and follow-up value per unit of the VV and control groups.

    Parameters
    ----------
    frame : DataFrame
        Long data with columns ``unit``, ``group``, ``wave`` (T0/T1/T2) and ``value``.
    unit, value : str
        Column names of the unit id and the outcome.
    rule : {'latest', 'T1', 'T2'}
        Which wave is the follow-up (module docstring).

    Returns
    -------
    DataFrame
        Wide, one row per unit: ``unit_id``, ``group``, ``baseline``, ``follow_up``,
        ``follow_up_wave``; units without a baseline or follow-up value have NaN there.
    """
    if rule not in FOLLOW_UP_RULES:
        raise DesignError(f"follow_up_rule must be one of {FOLLOW_UP_RULES}, got {rule!r}")
    missing = [c for c in (unit, "group", "wave", value) if c not in frame.columns]
    if missing:
        raise DesignError(f"follow_up: column(s) {missing} not in the frame (columns: {list(frame.columns)})")
    data = frame.loc[frame["group"].isin(GROUPS) & frame[value].notna(), [unit, "group", "wave", value]]
    wide = data.pivot_table(index=[unit, "group"], columns="wave", values=value, aggfunc="first", observed=True)
    wide = wide.reindex(columns=["T0", "T1", "T2"])
    if rule == "latest":
        fu = wide["T2"].where(wide["T2"].notna(), wide["T1"])
        fu_wave = np.where(wide["T2"].notna(), "T2", np.where(wide["T1"].notna(), "T1", None))
    else:
        fu = wide[rule]
        fu_wave = np.where(fu.notna(), rule, None)
    out = pd.DataFrame({"baseline": wide["T0"], "follow_up": fu, "follow_up_wave": fu_wave}, index=wide.index)
    return out.reset_index().rename(columns={unit: "unit_id"})


def analysis_sample(measures: Any, outcome: str, *, follow_up_rule: str = "latest") -> pd.DataFrame:
    """The two-wave analysis sample of one outcome (CONTRACT §3), long form.

    Returns
    -------
    DataFrame
        ``unit_id``, ``group``, ``time`` (baseline / follow_up), ``wave`` (T0/T1/T2), ``value``:
        two rows per unit that has both values, sorted by group, unit and time.
    """
    spec = _outcome(outcome)
    if spec["kind"] == "between":
        raise DesignError(f"{outcome} is compared between groups only; use help_grade_sample()")
    frame = getattr(measures, spec["frame"])
    wide = follow_up(frame, unit=spec["unit"], value=outcome, rule=follow_up_rule)
    wide = wide.loc[wide["baseline"].notna() & wide["follow_up"].notna()]
    base = wide.assign(time="baseline", wave="T0", value=wide["baseline"])
    fu = wide.assign(time="follow_up", wave=wide["follow_up_wave"], value=wide["follow_up"])
    long = pd.concat([base, fu], ignore_index=True)[SAMPLE_COLUMNS]
    long["value"] = long["value"].astype(object if spec["kind"] == "category" else float)
    return long.sort_values(["group", "unit_id", "time"], kind="stable").reset_index(drop=True)


def latest_value(frame: pd.DataFrame, *, unit: str, value: str) -> pd.DataFrame:
    """Per unit of the VV and control groups, the value at the latest wave that has one.

    Returns ``unit_id``, ``group``, ``wave``, ``value``, one row per unit with a value.
    """
    data = frame.loc[frame["group"].isin(GROUPS) & frame[value].notna(), [unit, "group", "wave", value]]
    data = data.sort_values([unit, "wave"], kind="stable").groupby(unit, sort=True).tail(1)
    return data.rename(columns={unit: "unit_id", value: "value"}).reset_index(drop=True)


def help_grade_sample(measures: Any) -> pd.DataFrame:
    """One help grade per parent: the grade at the latest wave that has one (CONTRACT §3)."""
    return latest_value(measures.parents, unit="parent_id", value="help_grade")
