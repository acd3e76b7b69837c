"""The reproduction scorecard: every number or direction the report published, recomputed.

Each claim links a key of ``report_facts.yml`` to a result id of ``results.json`` and a rule:

- ``exact``: equal (counts);
- ``points``: within so many percentage points (values in percent);
- ``relative``: within a share of the published value (means);
- ``absolute``: within an absolute distance (Cronbach's alpha, eta squared);
- ``significant`` / ``not_significant``: the p value of a result id below / at or above alpha
  (the published threshold where the report gives one, e.g. p < .001);
- ``range``: inside a published range (widened by a tolerance).

Tolerances are those of the synthetic twin's calibration (issue 4): Tabel 3 within 3 points,
Tabel 4 means within 15 % and shares within 5 points, alphas within 0.05, eta squared within 0.04.
Facts that are rules (classification cut-offs, Tabel 1) or literature context (chapter 2) are not
results of the study data and are listed in :data:`NOT_RECOMPUTED` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from veiligverder import paths
from veiligverder.contract import read_yaml

NOT_RECOMPUTED = {
    "study": "design facts (waves, regions, matching variables): used as the study design, not recomputed",
    "effect_size_rules": "Tabel 1 rules: applied by veiligverder.stats.effect_size_word",
    "classification_rules": "cut-offs and rules: implemented in veiligverder.measures and tested at every boundary",
    "instruments": "item counts and response formats: enforced by the contract and the instrument specs",
    "summary_claims": "sentences of the summary: each rests on a figure claim checked here",
    "context": "figures from the literature cited in chapters 1-2, not from the study data",
}

# Table 3 category labels as printed -> the result id part.
_LABEL = {"<25": "lt25", "25-34": "25_34", "35-44": "35_44", "45-54": "45_54", ">55": "55plus",
          "<1500": "lt1500", "1500-3100": "1500_3100", ">3100": "gt3100", "0": "0", "1": "1", "2": "2", ">3": "3plus"}


@dataclass(frozen=True)
class Claim:
    fact: str            # dotted key in report_facts.yml
    where: str           # where the report prints it
    published: Any       # the published value (number or threshold)
    result: str          # result id in results.json
    rule: str            # exact | points | relative | absolute | significant | not_significant | range
    tolerance: float | None = None
    label: str = ""
    scale: float = 1.0   # multiplies the result before comparing (0-1 share -> percent)


def _facts() -> dict[str, Any]:
    return read_yaml(paths.REPORT_FACTS)


def claims() -> list[Claim]:
    """Every checkable claim of the report, built from report_facts.yml."""
    f = _facts()
    out: list[Claim] = []
    for group, counts in f["table2_participants"].items():
        for what, value in counts.items():
            out.append(Claim(f"table2_participants.{group}.{what}", "Tabel 2", value, f"n.{group}.{what}", "exact",
                             label=f"{what.replace('_', ' ')}, {group}"))
    t3 = f["table3_background"]
    for var, spec in t3.items():
        if var in ("all_differences", "children_info_n"):
            continue
        if var == "child_mean_age_years":
            for g, v in spec.items():
                out.append(Claim(f"table3_background.{var}.{g}", "Tabel 3", v, f"table3.child_mean_age.{g}",
                                 "relative", 0.15, f"children's mean age, {g}"))
            continue
        if all(isinstance(v, (int, float)) for v in spec.values()):  # e.g. male_pct: {VV, control}
            for g, v in spec.items():
                out.append(Claim(f"table3_background.{var}.{g}", "Tabel 3", v, f"table3.{var}.{g}", "points", 3.0,
                                 f"{var.replace('_pct', '').replace('_', ' ')} %, {g}"))
            continue
        for cat, by_group in spec.items():
            key = _LABEL.get(str(cat), str(cat))
            for g, v in by_group.items():
                out.append(Claim(f"table3_background.{var}.{cat}.{g}", "Tabel 3", v, f"table3.{var}.{key}.{g}",
                                 "points", 3.0, f"{var.replace('_pct', '').replace('_', ' ')} {cat} %, {g}"))
    for var in ("male_pct", "migration_pct", "education_pct", "net_monthly_income_pct", "paid_work_over_12h_pct",
                "children_over3_pct", "age_pct"):
        out.append(Claim("table3_background.all_differences", "Tabel 3 (Ns)", 0.05, f"table3.{var}.p",
                         "not_significant", label=f"VV vs control, {var.replace('_pct', '').replace('_', ' ')}"))
    t4 = f["table4_baseline_problems"]
    for item, by_pop in t4["mean_incidents_per_year"].items():
        for pop, v in by_pop.items():
            out.append(Claim(f"table4_baseline_problems.mean_incidents_per_year.{item}.{pop}", "Tabel 4", v,
                             f"table4.{item}.{pop}", "relative", 0.15, f"{item.replace('_', ' ')}, {pop}"))
    for item, by_pop in t4["families_pct"].items():
        for pop, v in by_pop.items():
            out.append(Claim(f"table4_baseline_problems.families_pct.{item}.{pop}", "Tabel 4", v,
                             f"table4.{item}.{pop}", "points", 5.0, f"{item.replace('_', ' ')} %, {pop}"))
    # Alphas: the report gives one value per instrument (or a range); the twin's target list maps
    # each to the project's scales (one report value may stand for a self- and a partner-scale).
    from veiligverder.synthetic import load_targets

    for e in load_targets().entries("alphas"):
        out.append(Claim(e["source"], "ch. 3.3.1", e["value"], e["id"], "absolute", 0.05,
                         f"alpha {e.get('scale', e['id'].removeprefix('alpha.')).replace('_', ' ')}"))
    out.extend(_figure_claims(f["figures"]))
    for band, count in f["qualitative"]["parent_grades_of_vv"].items():
        out.append(Claim(f"qualitative.parent_grades_of_vv.{band}", "ch. 4.2.6", count,
                         f"qualitative.parent_grades.{band}", "exact", label=f"parents grading {band}"))
    return out


def _figure_claims(fig: dict[str, Any]) -> list[Claim]:
    c: list[Claim] = []

    def add(fact, where, published, result, rule, tol=None, label=""):
        c.append(Claim(f"figures.{fact}", where, published, result, rule, tol, label))

    add("fig1_violence_category.text", "Figuur 1", 0.001, "violence_category.change_p.VV", "significant",
        label="shift to 'none' within VV, p < .001")
    add("fig1_violence_category.text", "Figuur 1", 0.001, "violence_category.change_p.control", "significant",
        label="shift to 'none' within control, p < .001")
    for wave in ("baseline", "follow_up"):
        add("fig1_violence_category.text", "Figuur 1", 0.05, f"violence_category.group_p.{wave}", "not_significant",
            label=f"no group difference in category at {wave}")
    f2 = fig["fig2_total_violence_incidents"]
    add("fig2_total_violence_incidents.time_effect.eta2", "Figuur 2", f2["time_effect"]["eta2"],
        "violence_total.anova.time.np2", "absolute", 0.04, "total violence, time effect η²")
    add("fig2_total_violence_incidents.time_effect.p", "Figuur 2", 0.001, "violence_total.anova.time.p", "significant",
        label="total violence, time effect p < .001")
    add("fig2_total_violence_incidents.group_by_time", "Figuur 2", 0.05, "violence_total.anova.interaction.p",
        "not_significant", label="total violence, no group x time effect")
    add("fig2_total_violence_incidents.VV_mean_T0", "Figuur 2 / Samenvatting", f2["VV_mean_T0"],
        "violence_total.mean.VV.baseline", "relative", 0.15, "VV total violence at baseline")
    add("fig2_total_violence_incidents.VV_mean_T2_approx", "Samenvatting", f2["VV_mean_T2_approx"],
        "violence_total.mean.VV.follow_up", "absolute", 10.0, "VV total violence at follow-up (about 20)")
    f3 = fig["fig3_partner_violence_incidents"]
    add("fig3_partner_violence_incidents.time_effect.eta2", "Figuur 3", f3["time_effect"]["eta2"],
        "violence_partner.anova.time.np2", "absolute", 0.04, "partner violence, time effect η²")
    add("fig3_partner_violence_incidents.time_effect.p", "Figuur 3", 0.001, "violence_partner.anova.time.p",
        "significant", label="partner violence, time effect p < .001")
    add("fig3_partner_violence_incidents.group_by_time", "Figuur 3", 0.05, "violence_partner.anova.interaction.p",
        "not_significant", label="partner violence, no group x time effect")
    add("fig4_direct_child_maltreatment.time_effect", "Figuur 4", 0.05, "violence_child_direct.anova.time.p",
        "not_significant", label="direct child maltreatment, no time effect")
    add("fig4_direct_child_maltreatment.group_by_time", "Figuur 4", 0.05,
        "violence_child_direct.anova.interaction.p", "not_significant",
        label="direct child maltreatment, no group x time effect")
    add("fig5_parent_clinical_trauma.VV_T2_pct", "Figuur 5", fig["fig5_parent_clinical_trauma"]["VV_T2_pct"],
        "parent_trauma.mean.VV.follow_up", "points", 5.0, "VV parents clinical at follow-up (%)")
    c[-1] = Claim(**{**c[-1].__dict__, "scale": 100.0})
    add("fig7_parent_safety_grade.text", "Figuur 7", 0.05, "safety_grade.anova.time.p", "not_significant",
        label="safety grade, no time effect")
    add("fig7_parent_safety_grade.text", "Figuur 7", 0.05, "safety_grade.anova.group.p", "not_significant",
        label="safety grade, no group effect")
    add("fig8_child_emotional_insecurity.text", "Figuur 8", 0.05, "emotional_insecurity.anova.time.p", "significant",
        label="emotional insecurity, significant decrease")
    add("fig9_parenting_stress.text", "Figuur 9", 0.05, "parenting_stress.anova.group.p", "not_significant",
        label="parenting stress, no group difference")
    add("fig10_parenting_competence.text", "Figuur 10", 0.05, "parenting_competence.anova.interaction.p",
        "not_significant", label="parenting competence, no group x time effect")
    f11 = fig["fig11_parent_quality_of_life"]["group_by_time"]
    add("fig11_parent_quality_of_life.group_by_time.eta2", "Figuur 11", f11["eta2"],
        "qol_parent.anova.interaction.np2", "absolute", 0.04, "parents' quality of life, group x time η²")
    add("fig11_parent_quality_of_life.group_by_time.p", "Figuur 11", 0.01, "qol_parent.anova.interaction.p",
        "significant", label="parents' quality of life, group x time p < .01")
    add("fig12_child_quality_of_life.text", "Figuur 12", 0.05, "qol_child.anova.interaction.p", "not_significant",
        label="children's quality of life, no group x time effect")
    for name, outcome in (("fig13_low_income", "low_income"), ("fig14_unemployment", "unemployment")):
        g = fig[name]["group_by_time"]
        add(f"{name}.group_by_time.eta2", f"Figuur {name[3:5]}", g["eta2"], f"{outcome}.anova.interaction.np2",
            "absolute", 0.04, f"{outcome.replace('_', ' ')}, group x time η²")
        add(f"{name}.group_by_time.p", f"Figuur {name[3:5]}", 0.05, f"{outcome}.anova.interaction.p", "significant",
            label=f"{outcome.replace('_', ' ')}, group x time p < .05")
    for name, outcome in (("fig15_own_drinking", "drinks_own"), ("fig16_partner_drinking", "drinks_partner")):
        for src in ("time", "interaction"):
            add(f"{name}.text", f"Figuur {name[3:5]}", 0.05, f"{outcome}.anova.{src}.p", "not_significant",
                label=f"{outcome.replace('_', ' ')}, no {src} effect")
    f18 = fig["fig18_help_grade"]
    for g, n in f18["n"].items():
        add(f"fig18_help_grade.n.{g}", "Figuur 18", n, f"help_grade.n.{g}", "exact", label=f"help grades given, {g}")
    add("fig18_help_grade.text", "Figuur 18", 0.05, "help_grade.p", "not_significant",
        label="help grade, no group difference")
    return c


def _verdict(claim: Claim, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not computable"
    v, p = float(value) * claim.scale, float(claim.published)
    ok = {
        "exact": lambda: v == p,
        "points": lambda: abs(v - p) <= claim.tolerance,
        "relative": lambda: abs(v - p) <= claim.tolerance * abs(p),
        "absolute": lambda: abs(v - p) <= claim.tolerance,
        "significant": lambda: v < p,
        "not_significant": lambda: v >= p,
    }[claim.rule]()
    return "agrees" if ok else "differs"


def _tolerance_text(claim: Claim) -> str:
    rule, tol, pub = claim.rule, claim.tolerance, claim.published
    if rule == "exact":
        return "exact"
    if rule == "points":
        return f"± {tol:g} points"
    if rule == "relative":
        return f"± {tol:.0%}"
    if rule == "absolute":
        return f"± {tol:g}"
    return f"p < {pub:g}" if rule == "significant" else f"p ≥ {pub:g}"


def scorecard(results: dict[str, Any], withheld: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per claim: label, where, published, recomputed, tolerance, verdict.

    ``published`` shows the threshold for significance claims; ``recomputed`` is the result value
    (the p value for those), ``None`` where the data in force cannot give it. A claim whose result
    the disclosure gate withheld (``withheld``: id -> rule) has the verdict ``withheld`` and no
    value: even 'agrees within 3 points' would tell a reader where the withheld value lies.
    """
    withheld = withheld or {}
    rows = []
    for c in claims():
        if c.result in withheld:
            published = f"p < {c.published:g}" if c.rule == "significant" else (
                f"n.s. (p ≥ {c.published:g})" if c.rule == "not_significant" else c.published)
            rows.append({"claim": c.label, "where": c.where, "fact": c.fact, "result_id": c.result,
                         "published": published, "recomputed": None, "tolerance": _tolerance_text(c),
                         "verdict": "withheld"})
            continue
        value = results.get(c.result)
        published = f"p < {c.published:g}" if c.rule == "significant" else (
            f"n.s. (p ≥ {c.published:g})" if c.rule == "not_significant" else c.published)
        rows.append({"claim": c.label, "where": c.where, "fact": c.fact, "result_id": c.result,
                     "published": published, "recomputed": value, "tolerance": _tolerance_text(c),
                     "verdict": _verdict(c, value)})
    return pd.DataFrame(rows)


def counts(card: pd.DataFrame) -> dict[str, int]:
    """Number of claims per verdict (agrees, differs, not computable, withheld) and in all."""
    tally = card["verdict"].value_counts()
    return {"claims": int(len(card)), "agrees": int(tally.get("agrees", 0)), "differs": int(tally.get("differs", 0)),
            "not_computable": int(tally.get("not computable", 0)), "withheld": int(tally.get("withheld", 0))}
