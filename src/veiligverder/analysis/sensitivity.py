"""Beyond the two-wave ANOVA: models on all three waves, and the follow-up rule varied.

The report analyses two waves per unit (baseline and the last follow-up) with units that have
both. Here every available observation counts:

- continuous outcomes: a linear mixed model with a random intercept per unit
  (``statsmodels`` MixedLM, REML), ``value ~ wave * group``;
- 0/1 outcomes: a marginal logistic model by generalised estimating equations with an
  exchangeable working correlation within units (``statsmodels`` GEE, robust standard errors).

The question of chapter 5, whether the groups change differently, becomes the joint Wald test of
the two wave x group terms (2 df). Units with a single wave contribute to the wave and group means;
a mixed model (unlike the ANOVA) does not drop them, and is valid when data are missing at random.

:func:`robustness` reads both tables' result ids back and says, per outcome, whether a group x time
difference holds under every follow-up rule and in the all-waves model, and if not, where and why
(the headline findings of the summary and chapter 6 are stated with it).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from typing import Any

import numpy as np
import pandas as pd

from veiligverder import design, stats
from veiligverder.stats.models import NotEstimable, fit_all_waves
from veiligverder.analysis.disclosure import dominated
from veiligverder.analysis.outcomes import OutcomeAnalysis
from veiligverder.analysis.outcomes import analyse as ungated
from veiligverder.contract.labels import reader_table
from veiligverder.vocab import ALPHA, GROUPS

RULES = ("T1", "T2", "latest")  # the order the follow-up-rule table shows them
ALL_WAVES = "all waves"
#: How a reader is told which analysis a check is (rule -> words).
CHECK_NAMES = {"T1": "with the one-year wave (T1) as follow-up", "T2": "with the 18-month wave (T2) as follow-up",
               "latest": "with the latest wave as follow-up (the report's rule)",
               ALL_WAVES: "in the model on all three waves"}
HOLDS = "holds"


def all_waves(measures, outcome: str) -> pd.DataFrame:
    """Every observation of an outcome for VV and control units: ``[unit_id, group, wave, value]``."""
    spec = design.OUTCOMES[outcome]
    frame = getattr(measures, spec["frame"])
    data = frame.loc[frame["group"].isin(GROUPS), [spec["unit"], "group", "wave", outcome]]
    data = data.rename(columns={spec["unit"]: "unit_id", outcome: "value"}).dropna(subset=["value"])
    return data.reset_index(drop=True)


def all_waves_table(measures, outcomes: list[str], *, withheld: Container[str] = (),
                    threshold: int | None = None, follow_up_rule: str = "latest") -> tuple[pd.DataFrame, dict]:
    """One row per outcome: the all-waves model's interaction test next to chapter 5's two-wave one.

    Outcomes in ``withheld`` (those whose two-wave analysis the disclosure gate withholds, since the
    model rests on the same units) get a row that says so and no result ids; so do outcomes in
    which a group has 1 to ``threshold`` - 1 units at some wave (on real data the chapter passes
    the disclosure threshold: the model's wave x group terms would rest on them), and outcomes with a
    wave x group cell in which all units, or all but fewer than ``threshold``, share one value (group
    disclosure, :func:`~veiligverder.analysis.disclosure.dominated`; for a 0/1 outcome a cell all 0
    or all 1 also has no finite logistic estimate). A model the
    data cannot support is 'not estimable', with the reason (:class:`~veiligverder.stats.models.NotEstimable`).
    The two-wave comparison uses the build's ``follow_up_rule`` (the rule chapter 5 reports), which
    the column header names. Returns the table (cells that do not apply read '–') and result ids
    ``sensitivity.<outcome>.allwaves.<p|wald|n_units|n_obs>``.
    """
    rows, results = [], {}
    two_wave_column = f"two-wave ANOVA ({follow_up_rule}), group x time"
    for outcome in outcomes:
        kind = design.OUTCOMES[outcome]["kind"]
        if kind not in ("continuous", "binary"):  # a category, or a grade asked at follow-up only
            raise ValueError(f"{outcome!r} is a {kind} outcome; the all-waves models take continuous and "
                             "0/1 outcomes measured at T0 and later")
        data = all_waves(measures, outcome)
        # a wave x group cell in which all units but fewer than threshold share one value: the
        # model's cell estimate would disclose it (group disclosure). A cell of 1 to threshold - 1
        # units is one of them (n - 1 others, fewer than threshold), so one rule covers both.
        shared = threshold is not None and bool(
            data.groupby(["group", "wave"])["value"].agg(lambda v: dominated(v, threshold=threshold)).any())
        if outcome in withheld or shared:
            rows.append({"outcome": outcome, "model": "withheld (disclosure control)", "units": "–",
                         "observations": "–", "wave x group": "–"})
            continue
        try:
            fit = fit_all_waves(data, binary=kind == "binary")
            if not fit["converged"]:  # the best statsmodels found is no estimate to report
                raise NotEstimable("the fit did not converge")
        except (ValueError, np.linalg.LinAlgError) as exc:  # too few units or a singular design
            rows.append({"outcome": outcome, "model": "not estimable", "units": data["unit_id"].nunique(),
                         "observations": len(data), "wave x group": _not_estimable(exc)})
            results[f"sensitivity.{outcome}.allwaves.estimable"] = 0
            continue
        two_wave = ungated(measures, outcome, follow_up_rule=follow_up_rule)
        p2 = two_wave.results[f"{outcome}.anova.interaction.p"]
        rows.append({"outcome": outcome, "model": fit["model"], "units": fit["n_units"], "observations": fit["n_obs"],
                     "wave x group": f"χ²({fit['df']}) = {fit['wald']:.2f}, p = {fit['p']:.3f}",
                     two_wave_column: "p not computable" if p2 is None or not np.isfinite(p2)
                     else f"p = {p2:.3f}",
                     "same conclusion": "yes" if (p2 is not None and np.isfinite(p2)
                                                  and (p2 < ALPHA) == (fit["p"] < ALPHA)) else "no"})
        for key in ("p", "wald", "n_units", "n_obs"):
            results[f"sensitivity.{outcome}.allwaves.{key}"] = fit[key]
        results[f"sensitivity.{outcome}.allwaves.estimable"] = 1
    columns = ["outcome", "model", "units", "observations", "wave x group", two_wave_column, "same conclusion"]
    # every column always, so that the header names the rule even when every row is withheld
    return reader_table(pd.DataFrame(rows, columns=columns).fillna("–").set_index("outcome")), results


def _not_estimable(exc: Exception) -> str:
    """Why a model could not be fitted, in words for the table (not the library's message)."""
    if isinstance(exc, NotEstimable):
        return f"not estimable: {exc}"
    if isinstance(exc, np.linalg.LinAlgError):
        return "not estimable: the design matrix is singular"
    return "not estimable: too few units"


def study_all_waves_table(study, outcomes: list[str]) -> tuple[pd.DataFrame, dict]:
    """:func:`all_waves_table` for a loaded study, as the sensitivity page shows it: compared with
    the two-wave ANOVA under the study's (the build's) ``follow_up_rule``, and on non-synthetic data
    behind the study's disclosure gate (outcomes not :meth:`~veiligverder.analysis.Study.usable`
    withheld, and models on cells below the gate's threshold)."""
    gate = study.gate
    withheld = [o for o in outcomes if not study.usable(o)] if gate.active else []
    return all_waves_table(study.measures, outcomes, withheld=withheld,
                           threshold=gate.threshold if gate.active else None, follow_up_rule=study.follow_up_rule)


def follow_up_rules_table(measures, outcomes: list[str], *,
                          analyse: Callable[..., OutcomeAnalysis] | None = None,
                          mark: str = "–") -> tuple[pd.DataFrame, dict]:
    """Chapter 5's group x time conclusion under each follow-up rule, side by side.

    ``analyse(outcome, follow_up_rule=...)`` runs one analysis (default: ungated
    :func:`veiligverder.analysis.outcomes.analyse`; chapters pass ``Study.analyse``, which applies the
    disclosure gate: a withheld n shows ``mark`` and a withheld test reads 'withheld').
    Returns the table (rows: outcomes; per rule: n VV/control, interaction p, words) and the result
    ids ``sensitivity.<outcome>.<rule>.interaction_p`` and ``....interaction_np2``.
    """
    analyse = analyse or (lambda o, **kw: ungated(measures, o, **kw))
    rows, results = [], {}
    for outcome in outcomes:
        row = {"outcome": outcome}
        for rule in RULES:
            a = analyse(outcome, follow_up_rule=rule)
            t = a.test.set_index("source").loc["interaction"]
            n = {g: mark if a.results[f"{outcome}.n.{g}"] is None else a.n(g) for g in GROUPS}
            row[f"{rule}: n"] = f"{n['VV']} / {n['control']}"
            row[f"{rule}: group x time"] = (t["words"] if np.isfinite(t["p_unc"]) or a.withheld
                                            else "not computable")
            results[f"sensitivity.{outcome}.{rule}.interaction_p"] = t["p_unc"]
            results[f"sensitivity.{outcome}.{rule}.interaction_np2"] = t["np2"]
        words = {row[f"{r}: group x time"] for r in RULES}
        row["rules agree"] = "yes" if len(words) == 1 else "no"
        rows.append(row)
    return reader_table(pd.DataFrame(rows).set_index("outcome")), results


# ------------------------------------------------------------------------------------ robustness
def _fmt_p(p: float) -> str:
    return "p < .001" if p < 0.001 else f"p = {p:.3f}".replace("0.", ".", 1)


def check(results: Mapping[str, Any], outcome: str, analysis: str, *, alpha: float = ALPHA) -> str:
    """Whether one analysis finds the groups changing differently: :data:`HOLDS`, or why not.

    ``analysis`` is a follow-up rule of :data:`RULES` (the two-wave ANOVA's group x time row: a
    difference in the report's sense, significant and at least 'small' by Tabel 1's between-groups
    row, :func:`veiligverder.stats.is_difference`) or :data:`ALL_WAVES` (the all-waves model's
    wave x group test at ``alpha``; it has no Tabel 1 size). The reasons read 'not significant,
    p = .054', 'significant but too small to call a difference, η² = .010', 'not estimable'
    (the all-waves model could not be fitted), 'not computable' (no p) or 'withheld' (the
    disclosure gate withheld the model).

    >>> r = {"sensitivity.x.T1.interaction_p": 0.054, "sensitivity.x.T1.interaction_np2": 0.04,
    ...      "sensitivity.x.allwaves.estimable": 0}
    >>> check(r, "x", "T1"), check(r, "x", "all waves")
    ('not significant, p = .054', 'not estimable')
    """
    if analysis == ALL_WAVES:
        key = f"sensitivity.{outcome}.allwaves"
        p, estimable = results.get(f"{key}.p"), results.get(f"{key}.estimable")
        if p is None or not np.isfinite(p):
            return "not estimable" if estimable == 0 else "withheld" if estimable is None else "not computable"
        return HOLDS if p < alpha else f"not significant, {_fmt_p(p)}"
    p = results.get(f"sensitivity.{outcome}.{analysis}.interaction_p")
    np2 = results.get(f"sensitivity.{outcome}.{analysis}.interaction_np2")
    if p is None or not np.isfinite(p):
        return "not computable"
    if stats.is_difference(p, np2, kind="between", alpha=alpha):
        return HOLDS
    if p >= alpha:
        return f"not significant, {_fmt_p(p)}"
    return f"significant but too small to call a difference, η² = {np2:.3f}".replace("0.", ".", 1)


def _exception(reason: str, analysis: str) -> str:
    """'not significant, p = .064, in the model on all three waves'; 'the model on all three waves
    could not be estimated'."""
    if analysis == ALL_WAVES and reason in ("not estimable", "withheld"):
        return ("the model on all three waves could not be estimated" if reason == "not estimable"
                else "the model on all three waves is withheld by disclosure control")
    return f"{reason}, {CHECK_NAMES[analysis]}"


def robustness(results: Mapping[str, Any], outcomes: list[str], *, alpha: float = ALPHA) -> pd.DataFrame:
    """For each outcome: does a group x time difference hold under every follow-up rule and model?

    Parameters
    ----------
    results : mapping
        Result ids of :func:`follow_up_rules_table` and :func:`all_waves_table` (the sensitivity
        page's, or the build's merged results).
    outcomes : list of str
        The outcomes to judge, e.g. those where the groups changed differently under the build's
        rule (:func:`differing`).

    Returns
    -------
    DataFrame
        Index ``outcome``; one column per check (:data:`RULES`, then :data:`ALL_WAVES`) reading
        :data:`HOLDS` or the reason (:func:`check`); ``holds`` (bool: every check holds) and
        ``exceptions`` ('' when it holds, else the failing checks with their reasons, in reader's
        words: 'not significant, p = .064, in the model on all three waves').
    """
    rows = []
    for outcome in outcomes:
        row: dict[str, Any] = {"outcome": outcome}
        for analysis in (*RULES, ALL_WAVES):
            row[analysis] = check(results, outcome, analysis, alpha=alpha)
        failing = [a for a in (*RULES, ALL_WAVES) if row[a] != HOLDS]
        row["holds"] = not failing
        row["exceptions"] = "; ".join(_exception(row[a], a) for a in failing)
        rows.append(row)
    return pd.DataFrame(rows, columns=["outcome", *RULES, ALL_WAVES, "holds", "exceptions"]).set_index("outcome")


def differing(results: Mapping[str, Any], outcomes: list[str], follow_up_rule: str = "latest") -> list[str]:
    """The outcomes where the groups changed differently under ``follow_up_rule`` (two-wave ANOVA)."""
    return [o for o in outcomes if check(results, o, follow_up_rule) == HOLDS]


def disagreements(results: Mapping[str, Any], outcomes: list[str], follow_up_rule: str = "latest", *,
                  alpha: float = ALPHA) -> tuple[pd.Series, pd.Series]:
    """The exceptions behind the sensitivity page's counts, named.

    Returns two Series indexed by outcome (only the exceptions, in ``outcomes`` order):

    - where the all-waves model does not reach the two-wave conclusion under ``follow_up_rule``
      (significant or not at ``alpha``), or could not be fitted: the two p values or why not;
    - where the three follow-up rules do not lead to the same Tabel 1 words: the words per rule.
    """
    waves, rules = {}, {}
    for o in outcomes:
        p2 = results.get(f"sensitivity.{o}.{follow_up_rule}.interaction_p")
        pw = results.get(f"sensitivity.{o}.allwaves.p")
        status = check(results, o, ALL_WAVES, alpha=alpha)
        if status in ("not estimable", "not computable"):
            waves[o] = f"the all-waves model is {status}"
        elif status != "withheld" and p2 is not None and np.isfinite(p2) and (p2 < alpha) != (pw < alpha):
            waves[o] = f"two-wave ({follow_up_rule}) {_fmt_p(p2)}, all waves {_fmt_p(pw)}"
        words = {}
        for r in RULES:
            p, np2 = (results.get(f"sensitivity.{o}.{r}.interaction_{k}") for k in ("p", "np2"))
            words[r] = stats.describe_effect(p, np2, kind="between", alpha=alpha)
        if len(set(words.values())) > 1:
            rules[o] = ", ".join(f"{r}: {w}" for r, w in words.items())
    return pd.Series(waves, dtype=object), pd.Series(rules, dtype=object)
