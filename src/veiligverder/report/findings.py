"""Findings in words, built from ``results.json`` ids, for the landing page and the conclusion.

Every sentence is generated from the computed numbers and tests, so that the summary says what the
data in force show (a significant effect is called one only when it also reaches Tabel 1's 'small').
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from IPython.display import Markdown

from veiligverder import stats
from veiligverder.contract import labels
from veiligverder.analysis import sensitivity
from veiligverder.vocab import EFFECT_KIND, GROUPS, TIMES

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


def differs(results: dict[str, Any], outcome: str, source: str) -> bool:
    """:func:`veiligverder.stats.is_difference` for one ANOVA row of an outcome's result ids."""
    return stats.is_difference(results.get(f"{outcome}.anova.{source}.p"),
                               results.get(f"{outcome}.anova.{source}.np2"), kind=EFFECT_KIND[source])


def findings_table(results: dict[str, Any]) -> pd.DataFrame:
    """One row per outcome: VV and control at baseline and follow-up, and the words for time and group x time."""
    rows = []
    for outcome, (label, unit, digits) in OUTCOME_LABELS.items():
        r = {f"{g} {t}": _num(results.get(f"{outcome}.mean.{g}.{t}"), unit, digits)
             for g in GROUPS for t in TIMES}
        rows.append({"outcome": label, **r, "change over time": words(results, outcome, "time"),
                     "groups changed differently": words(results, outcome, "interaction")})
    table = pd.DataFrame(rows).set_index("outcome")
    table.columns = [c.replace("_", "-") for c in table.columns]
    return labels.reader_table(table)


def outcome_sentence(results: dict[str, Any], outcome: str, *, with_robustness: bool = False) -> str:
    """'Total violence in the family went from 100 to 20 incidents a year in the VV group ...'.

    With ``with_robustness``, a group x time difference that does not hold under every follow-up
    rule and the all-waves model (:func:`veiligverder.analysis.sensitivity.robustness`) is followed
    by a sentence saying so and where it fails.
    """
    label, unit, digits = OUTCOME_LABELS[outcome]
    m = {(g, t): results.get(f"{outcome}.mean.{g}.{t}") for g in GROUPS for t in TIMES}
    text = (f"{label[0].upper()}{label[1:]} went from {_num(m['VV', 'baseline'], unit, digits)} to "
            f"{_num(m['VV', 'follow_up'], unit, digits)} in the Veilig Verder group and from "
            f"{_num(m['control', 'baseline'], unit, digits)} to {_num(m['control', 'follow_up'], unit, digits)} "
            f"in the control group")
    time_diff = differs(results, outcome, "time")
    inter_diff = differs(results, outcome, "interaction")
    if inter_diff:
        text += f"; the groups changed differently ({words(results, outcome, 'interaction')} group x time effect)."
        if with_robustness:
            row = sensitivity.robustness(results, [outcome]).loc[outcome]
            text += (" This difference holds under every follow-up rule and in the all-waves model." if row["holds"]
                     else f" This difference does not hold in every analysis: {row['exceptions']}.")
    elif time_diff:
        text += (f"; both groups changed alike ({words(results, outcome, 'time')} effect of time, "
                 "no group x time difference).")
    else:
        text += "; neither the change over time nor the difference between the groups counts as a difference."
    return text


def differing_outcomes(results: dict[str, Any]) -> list[str]:
    """Labels of the outcomes where the groups changed differently (group x time counts as a difference)."""
    return [OUTCOME_LABELS[o][0] for o in OUTCOME_LABELS if differs(results, o, "interaction")]


def changed_outcomes(results: dict[str, Any]) -> list[str]:
    """Labels of the outcomes with a change over time that counts as a difference."""
    return [OUTCOME_LABELS[o][0] for o in OUTCOME_LABELS if differs(results, o, "time")]


def join(labels: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'; 'none' for an empty list."""
    if not labels:
        return "none"
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


# ------------------------------------------------------------------------------------ how robust the headlines are
def robustness_table(results: dict[str, Any], headline: list[str] | None = None,
                     names: dict[str, str] | None = None) -> pd.DataFrame:
    """The headline findings (outcomes where the groups changed differently, chapter 5's ids) under
    every follow-up rule and the all-waves model (the sensitivity page's ids), for the reader.

    ``headline`` defaults to the outcomes whose group x time effect counts as a difference in
    ``results``; ``names`` maps outcome ids to the labels shown (default :data:`OUTCOME_LABELS`).

    Returns
    -------
    DataFrame
        Index ``outcome`` (label); one column per analysis (:data:`sensitivity.CHECK_NAMES`, in
        words) reading 'holds' or why not, and ``holds under every analysis`` ('yes' / 'no').
    """
    if headline is None:
        headline = [o for o in OUTCOME_LABELS if differs(results, o, "interaction")]
    names = names or {o: OUTCOME_LABELS[o][0] for o in OUTCOME_LABELS}
    table = sensitivity.robustness(results, headline)
    shown = table.drop(columns=["exceptions"]).assign(holds=table["holds"].map({True: "yes", False: "no"}))
    shown = shown.rename(columns={"T1": "T1 as follow-up", "T2": "T2 as follow-up", "latest": "latest wave (report)",
                                  sensitivity.ALL_WAVES: "all three waves (model)",
                                  "holds": "holds under every analysis"})
    return labels.reader_table(shown.rename(index={o: names.get(o, o) for o in headline}))


def named_exceptions(off: pd.Series, names: dict[str, str]) -> Markdown:
    """The outcomes of ``off`` (outcome id -> why) in words: '*label* (why); ...', or 'none'."""
    return Markdown("none" if off.empty else "; ".join(f"*{names[o]}* ({why})" for o, why in off.items()))


def robust_findings(results: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """The headline findings that hold under every follow-up rule and model (labels), and those that
    do not, each with its exceptions in words (label, 'not significant, p = .064, in the model on
    all three waves')."""
    headline = [o for o in OUTCOME_LABELS if differs(results, o, "interaction")]
    table = sensitivity.robustness(results, headline)
    held = [OUTCOME_LABELS[o][0] for o in headline if table.loc[o, "holds"]]
    not_held = [(OUTCOME_LABELS[o][0], table.loc[o, "exceptions"]) for o in headline if not table.loc[o, "holds"]]
    return held, not_held


def robustness_sentence(results: dict[str, Any]) -> str:
    """Which headline findings hold whatever the analysis, and which do not and why, in Markdown.

    E.g. 'Of these 4 differences, 1 holds under every follow-up rule (T1, T2 or the latest wave)
    and in the model on all three waves: the parents' quality of life. 3 depend on how the study
    is analysed: ...'.
    """
    held, not_held = robust_findings(results)
    n = len(held) + len(not_held)
    if n == 0:
        return "No outcome shows a group x time difference, so there is no headline finding to test for robustness."
    every = "under every follow-up rule (T1, T2 or the latest wave) and in the model on all three waves"
    if not not_held:
        return f"{'This difference holds' if n == 1 else f'All {n} differences hold'} {every}."
    if not held:
        text = f"None of {'this difference' if n == 1 else f'these {n} differences'} holds {every}."
    else:
        text = (f"Of {'this difference' if n == 1 else f'these {n} differences'}, {len(held)} "
                f"{'holds' if len(held) == 1 else 'hold'} {every}: {join(held)}.")
    reasons = "; ".join(f"*{label}* ({why})" for label, why in not_held)
    return (f"{text} {len(not_held)} {'depends' if len(not_held) == 1 else 'depend'} on how the study is "
            f"analysed, so {'it is' if len(not_held) == 1 else 'they are'} no firm finding: {reasons}.")
