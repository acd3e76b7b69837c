"""Findings in words, built from ``results.json`` ids, for the landing page and the conclusion.

Every sentence is generated from the computed numbers and tests, so that the summary says what the
data in force show (a significant effect is called one only when it also reaches Tabel 1's 'small').
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from veiligverder import stats
from veiligverder.analysis import EFFECT_KIND

# Outcome -> (label, unit or '%' for 0/1 outcomes, digits). Order: as chapter 5 presents them.
OUTCOME_LABELS: dict[str, tuple[str, str, int]] = {
    "violence_total": ("total violence in the family", "incidents a year", 0),
    "violence_partner": ("partner violence", "incidents a year", 0),
    "violence_child_direct": ("direct child maltreatment", "incidents a year", 1),
    "parent_trauma": ("parents with clinical trauma", "%", 0),
    "child_trauma": ("children with clinical trauma", "%", 0),
    "safety_grade": ("the parents' safety grade", "", 1),
    "emotional_insecurity": ("children's emotional insecurity", "", 1),
    "parenting_stress": ("parenting stress", "", 1),
    "parenting_competence": ("parenting competence (higher = less competent)", "", 1),
    "qol_parent": ("the parents' quality of life", "", 1),
    "qol_child": ("the children's quality of life", "", 1),
    "low_income": ("parents with a low income", "%", 0),
    "unemployment": ("parents with less than 12 hours of paid work", "%", 0),
    "drinks_own": ("the parents' own drinks a week", "", 1),
    "drinks_partner": ("the partners' drinks a week", "", 1),
}


def _num(x: Any, unit: str, digits: int) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if unit == "%":
        return f"{100 * x:.{digits}f} %"
    return f"{x:.{digits}f}" + (f" {unit}" if unit else "")


def words(results: dict[str, Any], outcome: str, source: str) -> str:
    """Tabel 1 words for one ANOVA row of an outcome, e.g. 'significant, large' or 'not significant'."""
    p = results.get(f"{outcome}.anova.{source}.p")
    np2 = results.get(f"{outcome}.anova.{source}.np2")
    if p is None or np2 is None:
        return "not computable"
    return stats.describe_effect(p, np2, kind=EFFECT_KIND[source])


def is_difference(results: dict[str, Any], outcome: str, source: str) -> bool:
    """Significant at .05 and at least 'small' (the report's rule for calling something a difference)."""
    p = results.get(f"{outcome}.anova.{source}.p")
    np2 = results.get(f"{outcome}.anova.{source}.np2")
    return p is not None and np2 is not None and p < 0.05 and \
        stats.effect_size_word(np2, kind=EFFECT_KIND[source]) in ("small", "medium", "large")


def findings_table(results: dict[str, Any]) -> pd.DataFrame:
    """One row per outcome: VV and control at baseline and follow-up, and the words for time and group x time."""
    rows = []
    for outcome, (label, unit, digits) in OUTCOME_LABELS.items():
        r = {f"{g} {t}": _num(results.get(f"{outcome}.mean.{g}.{t}"), unit, digits)
             for g in ("VV", "control") for t in ("baseline", "follow_up")}
        rows.append({"outcome": label, **r, "change over time": words(results, outcome, "time"),
                     "groups changed differently": words(results, outcome, "interaction")})
    table = pd.DataFrame(rows).set_index("outcome")
    table.columns = [c.replace("_", "-") for c in table.columns]
    return table


def outcome_sentence(results: dict[str, Any], outcome: str) -> str:
    """'Total violence in the family went from 100 to 20 incidents a year in the VV group ...'."""
    label, unit, digits = OUTCOME_LABELS[outcome]
    m = {(g, t): results.get(f"{outcome}.mean.{g}.{t}") for g in ("VV", "control") for t in ("baseline", "follow_up")}
    text = (f"{label[0].upper()}{label[1:]} went from {_num(m['VV', 'baseline'], unit, digits)} to "
            f"{_num(m['VV', 'follow_up'], unit, digits)} in the Veilig Verder group and from "
            f"{_num(m['control', 'baseline'], unit, digits)} to {_num(m['control', 'follow_up'], unit, digits)} "
            f"in the control group")
    time_diff = is_difference(results, outcome, "time")
    inter_diff = is_difference(results, outcome, "interaction")
    if inter_diff:
        text += f"; the groups changed differently ({words(results, outcome, 'interaction')} group x time effect)."
    elif time_diff:
        text += (f"; both groups changed alike ({words(results, outcome, 'time')} effect of time, "
                 "no group x time difference).")
    else:
        text += "; neither the change over time nor the difference between the groups counts as a difference."
    return text


def differing_outcomes(results: dict[str, Any]) -> list[str]:
    """Labels of the outcomes where the groups changed differently (group x time counts as a difference)."""
    return [OUTCOME_LABELS[o][0] for o in OUTCOME_LABELS if is_difference(results, o, "interaction")]


def changed_outcomes(results: dict[str, Any]) -> list[str]:
    """Labels of the outcomes with a change over time that counts as a difference."""
    return [OUTCOME_LABELS[o][0] for o in OUTCOME_LABELS if is_difference(results, o, "time")]


def join(labels: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'; 'none' for an empty list."""
    if not labels:
        return "none"
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
