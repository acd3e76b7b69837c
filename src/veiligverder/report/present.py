"""Turn an outcome analysis into what a chapter shows: figure, test table and sentences.

The sentences are generated from the computed tests, so that the wording (significant or not,
the effect-size word of Tabel 1, which group moved) follows the data in force.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown

from veiligverder import analysis
from veiligverder.report import figures

GROUP_NAMES = {"VV": "the Veilig Verder group", "control": "the control group"}


def fmt_p(p: float) -> str:
    """APA-style p value: 'p < .001' or 'p = .034'."""
    if p is None or not math.isfinite(p):
        return "p not computable"
    return "p < .001" if p < 0.001 else f"p = {p:.3f}".replace("0.", ".", 1)


def fmt_num(x: float, digits: int = 1) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


# --------------------------------------------------------------------------------------------
# numbers through the disclosure gate: a withheld value (None in the gated results) shows the
# gate's mark, and a text that shows one ends with the gate's sentence why


def shown(value, gate, digits: int = 0) -> str:
    """A gated result for prose: the number, or the gate's mark (``<5``) when it was withheld."""
    if value is None:
        return gate.mark
    if isinstance(value, float) and not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _with_why(text: str, gate, withheld) -> Markdown:
    return Markdown(text + (f" {gate.why}" if withheld else ""))


def participants_text(results: dict, gate) -> Markdown:
    """The sentence under Tabel 2, from the gated ``n.<group>.*`` results."""
    n = {k: shown(results[k], gate) for k in results}
    withheld = any(v is None for v in results.values())
    return _with_why(
        f"In this dataset the VV group has {n['n.VV.families']} families with {n['n.VV.parents']} parents and "
        f"{n['n.VV.children']} children, of whom {n['n.VV.children_self_report']} answered for themselves; the "
        f"control group has {n['n.control.families']} families, {n['n.control.parents']} parents and "
        f"{n['n.control.children']} children ({n['n.control.children_self_report']} self-reports).", gate, withheld)


def background_text(gated, gate) -> Markdown:
    """The sentence under Tabel 3: how many lines show a significant difference (withheld tests not counted)."""
    ns = gated.table["Ns"]
    tested = ns.isin(["Ns", "*"])
    text = (f"Of the {len(ns)} lines of Tabel 3, {int((ns == '*').sum())} show a significant difference between "
            f"the groups at the .05 level")
    text += "." if tested.all() else f" ({int((~tested).sum())} lines have no published test)."
    return _with_why(text, gate, gated.withheld)


def problems_text(results: dict, gate) -> Markdown:
    """The sentence under Tabel 4 on total violence, from the gated ``table4.*`` results."""
    key = "table4.total_violence_family"
    v = {pop: shown(results[f"{key}.{pop}"], gate) for pop in ("population", "VV", "control")}
    p = results[f"{key}.p"]
    p_text = f"p withheld ({gate.mark})" if p is None else fmt_p(p)
    withheld = any(results[f"{key}.{k}"] is None for k in ("population", "VV", "control", "p"))
    return _with_why(
        f"On average the families of the wider cohort reported {v['population']} incidents of violence in the year "
        f"before the report, the VV families {v['VV']} and the control families {v['control']} (study families "
        f"against the cohort: Welch's t-test, {p_text}).", gate, withheld)


def matching_text(results: dict, gate) -> Markdown:
    """The sentence after the matching figures, from the gated ``matching.*`` results."""
    n = {k.removeprefix("matching."): shown(v, gate) for k, v in results.items()}
    withheld = any(v is None for v in results.values())
    return _with_why(f"The matching selected {n['n_controls']} controls for {n['n_treated']} VV families; "
                     f"{n['overlap']} of them carry the dataset's own `control` label.", gate, withheld)


def withheld_figure(gate) -> plt.Figure:
    """A small placeholder figure that says the figure is withheld (real data, too few units)."""
    fig, ax = plt.subplots(figsize=(6.4, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, f"Withheld: it would rest on fewer than {gate.threshold} units.", ha="center", va="center")
    return fig


def withheld_table(gate) -> pd.DataFrame:
    """A one-cell table that says the table is withheld."""
    return pd.DataFrame({"": [f"withheld ({gate.mark})"]}, index=pd.Index(["all cells"], name=""))


def fmt_test(row) -> str:
    """'F(1, 97) = 30.12, p < .001, partial η² = .24' for one ANOVA row."""
    if not math.isfinite(row.F):
        return "not computable for this sample"
    eta = f"{row.np2:.2f}".replace("0.", ".", 1)
    return f"F({row.df1:.0f}, {row.df2:.0f}) = {row.F:.2f}, {fmt_p(row.p_unc)}, partial η² = {eta}"


def _mark(result) -> str:
    """The mark of a withheld value of a gated analysis."""
    return result.gate.mark if getattr(result, "gate", None) is not None else "–"


def describe(result: analysis.OutcomeAnalysis, what: str, *, unit: str = "", percent: bool = False,
             digits: int = 1) -> str:
    """Sentences for one outcome: the means, then the time, group and interaction tests in words.

    A test counts as a difference only when significant and at least 'small' by Tabel 1
    (:func:`veiligverder.analysis.is_difference`).
    """
    scale, suffix = (100.0, " %") if percent else (1.0, f" {unit}" if unit else "")
    s = result.summary.set_index(["group", "time"])["mean"] * scale
    o = result.outcome

    def m(g: str, t: str) -> str:
        return _mark(result) if f"{o}.mean.{g}.{t}" in result.withheld else f"{fmt_num(s[g, t], digits)}{suffix}"

    n = {g: _mark(result) if f"{o}.n.{g}" in result.withheld else result.n(g) for g in analysis.GROUPS}
    parts = [
        f"For {what}, {GROUP_NAMES['VV']} went from {m('VV', 'baseline')} at baseline "
        f"to {m('VV', 'follow_up')} at follow-up (n = {n['VV']}), "
        f"{GROUP_NAMES['control']} from {m('control', 'baseline')} "
        f"to {m('control', 'follow_up')} (n = {n['control']})."
    ]
    t = result.test.set_index("source")
    why = f" {result.gate.why}" if result.withheld else ""
    if getattr(result, "note", ""):
        return parts[0] + f" The mixed ANOVA is {result.note}." + why
    if result.withheld:
        return parts[0] + " The tests are withheld." + why
    if not math.isfinite(t.loc["time", "F"]):
        return parts[0] + " The mixed ANOVA is not estimable on this dataset: the sample is too small."
    time, group, inter = (t.loc[k] for k in ("time", "group", "interaction"))
    if analysis.is_difference(time.p_unc, time.np2, "time"):
        direction = "fell" if (s["VV", "follow_up"] + s["control", "follow_up"]) < (
            s["VV", "baseline"] + s["control", "baseline"]) else "rose"
        parts.append(f"Over time the score {direction} significantly, a {time.words.split(', ')[-1]} effect "
                     f"({fmt_test(time)}).")
    else:
        parts.append(f"The change over time does not count as a difference ({time.words}; {fmt_test(time)}).")
    if analysis.is_difference(inter.p_unc, inter.np2, "interaction"):
        d = {g: s[g, "follow_up"] - s[g, "baseline"] for g in ("VV", "control")}
        more = "VV" if abs(d["VV"]) > abs(d["control"]) else "control"
        parts.append(f"The groups changed differently: {GROUP_NAMES[more]} changed more, a "
                     f"{inter.words.split(', ')[-1]} group x time effect ({fmt_test(inter)}).")
    else:
        parts.append(f"The two groups did not change differently ({inter.words}; {fmt_test(inter)}).")
    if analysis.is_difference(group.p_unc, group.np2, "group"):
        parts.append(f"Averaged over both waves the groups differ ({group.words}; {fmt_test(group)}).")
    else:
        parts.append(f"Averaged over both waves the groups do not differ ({group.words}; {fmt_test(group)}).")
    return " ".join(parts)


def test_tables(result: analysis.OutcomeAnalysis, *, percent: bool = False, digits: int = 2) -> pd.DataFrame:
    """The small table under each figure, in one block: a row per group (n, mean at baseline and at
    follow-up) and a row per ANOVA effect (F with its degrees of freedom, p, partial eta squared and
    the words of Tabel 1). Cells that do not apply stay empty."""
    top, tests = analysis.test_table(result)
    scale = 100.0 if percent else 1.0
    blank = ""
    rows = []
    o, w = result.outcome, result.withheld
    for g, (name, r) in zip(analysis.GROUPS, top.iterrows()):
        def cell(t: str, column: str) -> str:
            return _mark(result) if f"{o}.mean.{g}.{t}" in w else fmt_num(r[column] * scale, digits)

        rows.append({"": name, "n": _mark(result) if f"{o}.n.{g}" in w else int(r["n"]),
                     "baseline" + (" (%)" if percent else ""): cell("baseline", "mean at baseline"),
                     "follow-up" + (" (%)" if percent else ""): cell("follow_up", "mean at follow-up"),
                     "F": blank, "p": blank, "partial η²": blank, "effect": blank})
    for source, r in tests.iterrows():
        label = {"time": "time", "group": "group", "interaction": "group × time"}[source]
        finite = math.isfinite(r["F"])
        gone = _mark(result) if f"{o}.anova.{source}.F" in w else "–"
        rows.append({"": label, "n": blank, "baseline" + (" (%)" if percent else ""): blank,
                     "follow-up" + (" (%)" if percent else ""): blank,
                     "F": f"F({r['df1']:.0f}, {r['df2']:.0f}) = {r['F']:.2f}" if finite else gone,
                     "p": fmt_p(r["p"]).removeprefix("p ").removeprefix("= ") if finite else gone,
                     "partial η²": f"{r['partial η²']:.2f}".replace("0.", ".", 1) if finite else gone,
                     "effect": r["words"]})
    return pd.DataFrame(rows).set_index("")


def glue_outcome(key: str, result: analysis.OutcomeAnalysis, *, what: str, ylabel: str, norm: float | None = None,
                 norm_label: str = "norm", percent: bool = False, unit: str = "", digits: int = 1) -> None:
    """Glue the figure (``key``), its test table (``key_tests``) and its sentences (``key_text``)."""
    from myst_nb import glue

    fig = figures.two_wave_figure(result.summary, ylabel=ylabel, norm=norm, norm_label=norm_label, percent=percent)
    glue(key, fig, display=False)
    plt.close(fig)
    glue(f"{key}_tests", test_tables(result, percent=percent), display=False)
    glue(f"{key}_text", Markdown(describe(result, what, unit=unit, percent=percent, digits=digits)), display=False)


def category_tests(result: analysis.CategoryAnalysis) -> pd.DataFrame:
    """Test table under figure 1: Stuart-Maxwell within each group, between-group test per wave."""
    rows = []
    w = result.withheld
    for r in result.within.itertuples():
        gone = f"violence_category.change_p.{r.group}" in w
        rows.append({"comparison": f"change within {GROUP_NAMES[r.group].removeprefix('the ')}",
                     "test": "Stuart-Maxwell", "statistic": _stat(r.statistic, result, gone),
                     "df": _mark(result) if gone else r.df, "p": _mark(result) if gone else fmt_p(r.p_unc)})
    for r in result.between.itertuples():
        gone = f"violence_category.group_p.{r.time}" in w
        rows.append({"comparison": f"VV against control at {r.time.replace('_', '-')}", "test": r.method,
                     "statistic": _stat(r.statistic, result, gone), "df": _mark(result) if gone else r.df,
                     "p": _mark(result) if gone else fmt_p(r.p_unc)})
    return pd.DataFrame(rows).set_index("comparison").astype(str)


def _stat(x: float, result, gone: bool) -> str:
    if gone:
        return _mark(result)
    return f"{x:.2f}" if math.isfinite(x) else "–"


def describe_category(result: analysis.CategoryAnalysis) -> Markdown:
    """Sentences for figure 1, following the computed tests."""
    sh = result.shares.set_index(["group", "time", "category"])["share"] * 100
    held = result.withheld

    def share(g: str, t: str) -> str:
        gone = f"violence_category.share.{g}.{t}.none" in held
        return _mark(result) if gone else f"{fmt_num(sh[g, t, 'none'], 0)} %"

    parts = []
    for g in analysis.GROUPS:
        w = result.within.set_index("group").loc[g]
        if f"violence_category.change_p.{g}" in held:
            moved = f"its change is withheld"
        else:
            moved = ("the distribution over the categories shifted significantly" if w.p_unc < analysis.ALPHA
                     else "the distribution over the categories did not shift significantly")
            moved += f" (Stuart-Maxwell, {fmt_p(w.p_unc)})"
        parts.append(f"In {GROUP_NAMES[g]} the share of families without violence went from "
                     f"{share(g, 'baseline')} to {share(g, 'follow_up')} and {moved}.")
    b = result.between.set_index("time")
    shown_times = [t for t in analysis.TIMES if f"violence_category.group_p.{t}" not in held]
    diff = [t.replace("_", "-") for t in shown_times if b.loc[t, "p_unc"] < analysis.ALPHA]
    if diff:
        parts.append("The groups differ at " + " and ".join(diff) + ".")
    elif shown_times:
        parts.append("The groups do not differ at " + " nor at ".join(
            f"{t.replace('_', '-')} ({fmt_p(b.loc[t, 'p_unc'])})" for t in shown_times) + ".")
    if held:
        parts.append(result.gate.why)
    return Markdown(" ".join(parts))


def between_tests(result) -> pd.DataFrame:
    """Test table for an outcome compared between groups only (figures 17 and 18)."""
    s = result.summary.set_index("group")
    t = result.test.iloc[0]
    w, name = result.withheld, _between_name(result)
    rows = [{"": {"VV": "Veilig Verder", "control": "Control"}[g],
             "n": _mark(result) if f"{name}.n.{g}" in w else int(s.loc[g, "n"]),
             "mean": _mark(result) if f"{name}.mean.{g}" in w else (
                 f"{s.loc[g, 'mean']:.2f}" if math.isfinite(s.loc[g, "mean"]) else "–"), "test": ""}
            for g in analysis.GROUPS]
    tt = (f"t({t['dof']:.1f}) = {t['T']:.2f}, {fmt_p(t['p_unc'])}" if math.isfinite(t["T"])
          else _mark(result) if f"{name}.p" in w else "not computable")
    rows.append({"": "Welch's t-test", "n": "", "mean": "", "test": tt})
    band = getattr(result, "band_test", None)
    if band is not None:
        b = band.iloc[0]
        bt = (f"{b['method']}, {fmt_p(b['p_unc'])}" if math.isfinite(b["p_unc"])
              else _mark(result) if f"{name}.band_p" in w else "not computable")
        rows.append({"": "bands, VV against control", "n": "", "mean": "", "test": bt})
    return pd.DataFrame(rows).set_index("").astype(str)


def _between_name(result) -> str:
    return "help_satisfaction" if hasattr(result, "band_test") else "help_grade"


def describe_satisfaction(result) -> Markdown:
    """Sentences for figure 17, following the computed shares and tests."""
    sh = result.shares * 100

    def pct(x: float) -> str:
        return f"{fmt_num(x, 0)} %" if math.isfinite(x) else _mark(result)

    satisfied = {g: pct(sh.loc[g, "satisfied"] + sh.loc[g, "very satisfied"]) for g in analysis.GROUPS}
    dissatisfied = {g: pct(sh.loc[g, "dissatisfied"]) for g in analysis.GROUPS}
    p = result.test["p_unc"].iloc[0]
    if "help_satisfaction.p" in result.withheld:
        verdict = "cannot be compared here"
    else:
        verdict = ("differ significantly" if math.isfinite(p) and p < analysis.ALPHA else "do not differ significantly")
        verdict += f" ({fmt_p(p)})"
    text = (f"In {GROUP_NAMES['VV']} {satisfied['VV']} of the parents were satisfied or very satisfied "
            f"with the formal help and {dissatisfied['VV']} dissatisfied; in {GROUP_NAMES['control']} "
            f"{satisfied['control']} and {dissatisfied['control']}. The groups {verdict}.")
    return Markdown(text + (f" {result.gate.why}" if result.withheld else ""))


def describe_help_grade(result) -> Markdown:
    """Sentences for figure 18, following the computed means and test."""
    s = result.summary.set_index("group")
    p = result.test["p_unc"].iloc[0]
    w = result.withheld
    mean = {g: _mark(result) if f"help_grade.mean.{g}" in w else fmt_num(s.loc[g, "mean"]) for g in analysis.GROUPS}
    n = {g: _mark(result) if f"help_grade.n.{g}" in w else int(s.loc[g, "n"]) for g in analysis.GROUPS}
    if "help_grade.p" in w:
        verdict = "cannot be compared here"
    else:
        verdict = ("differ significantly" if math.isfinite(p) and p < analysis.ALPHA else "do not differ significantly")
        verdict += f" (Welch's t-test, {fmt_p(p)})"
    text = (f"Parents in {GROUP_NAMES['VV']} gave the help a mean grade of {mean['VV']} (n = {n['VV']}), parents in "
            f"{GROUP_NAMES['control']} {mean['control']} (n = {n['control']}); the groups {verdict}.")
    return Markdown(text + (f" {result.gate.why}" if w else ""))
