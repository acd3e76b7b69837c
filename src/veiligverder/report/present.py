"""Turn an outcome analysis into what a chapter shows: figure, test table and sentences.

The sentences are generated from the computed tests, so that the wording (significant or not,
the effect-size word of Tabel 1, which group moved) follows the data in force.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown

from veiligverder import analysis, design, stats
from veiligverder.analysis.baseline import POPULATIONS
from veiligverder.contract import labels
from veiligverder.vocab import ALPHA, EFFECT_KIND, GROUPS, SOURCES, TIMES
from veiligverder.report import figures

GROUP_NAMES = {"VV": "the Veilig Verder group", "control": "the control group"}


def fmt_p(p: float) -> str:
    """APA-style p value: 'p < .001' or 'p = .034' (:func:`veiligverder.contract.labels.fmt_p`)."""
    return labels.fmt_p(p)


def fmt_num(x: float, digits: int = 1) -> str:
    """A number for readers: no '-0.00', '–' for a missing value (:func:`veiligverder.contract.labels.fmt_num`)."""
    return labels.fmt_num(x, digits)


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


def participants_table(gated) -> pd.DataFrame:
    """Tabel 2 as the book shows it: the gated table (:meth:`veiligverder.analysis.Study.gate_table`)
    with the labels of :mod:`veiligverder.contract.labels` for columns and groups, and no index title."""
    table = gated.table.rename(columns=lambda c: labels.label("columns", c),
                               index=lambda g: labels.label("groups", g))
    return labels.reader_table(table.rename_axis(None))


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
    """The sentence under Tabel 3: of the characteristics compared, how many differ significantly
    between the groups (withheld or not computable tests not counted), from the gated
    ``table3.<variable>.p`` results."""
    ps = {k: v for k, v in gated.results.items() if k.startswith("table3.") and k.endswith(".p")}
    shown_p = [p for p in ps.values() if p is not None and math.isfinite(p)]
    n_sig = sum(p < ALPHA for p in shown_p)
    text = (f"Of the {len(ps)} characteristics of Tabel 3, {n_sig} differ significantly between the groups "
            f"at the .05 level")
    missing = len(ps) - len(shown_p)
    text += "." if not missing else f" ({missing} without a test that can be shown)."
    return _with_why(text, gate, gated.withheld)


def problems_text(results: dict, gate) -> Markdown:
    """The sentence under Tabel 4 on total violence, from the gated ``table4.*`` results."""
    key = "table4.total_violence_family"
    v = {pop: shown(results[f"{key}.{pop}"], gate) for pop in POPULATIONS}
    p = results[f"{key}.p"]
    p_text = f"p withheld ({gate.mark})" if p is None else fmt_p(p)
    withheld = any(results[f"{key}.{k}"] is None for k in ("population", "VV", "control", "p"))
    return _with_why(
        f"On average the families of the wider cohort reported {v['population']} incidents of violence in the year "
        f"before the report, the VV families {v['VV']} and the control families {v['control']} (study families "
        f"against the cohort: Welch's t-test, {p_text}).", gate, withheld)


def effect_rules_text() -> str:
    """Which Tabel 1 row gives the effect words of a mixed ANOVA's tests, with its thresholds (from
    :data:`veiligverder.stats.effsize.THRESHOLDS`): for the captions under the test tables."""
    from veiligverder.stats.effsize import THRESHOLDS

    def cuts(kind: str) -> list[str]:
        return [f"{x:.2f}".removeprefix("0") for x in THRESHOLDS[kind]]

    rep, bet = cuts("repeated"), cuts("between")
    return (f"the time effect by the repeated-measures rule (partial η² {rep[0]} small, {rep[1]} medium, "
            f"{rep[2]} large), the group and group × time effects by the between-groups rule "
            f"({', '.join(bet)})")


def matching_text(results: dict, gate, balance: pd.DataFrame | None = None, *, mark: float = 0.1,
                  left_out: dict[str, str] | None = None) -> Markdown:
    """The sentences after the matching figures, from the gated ``matching.*`` results and the
    balance table: how many controls were chosen, how many the dataset also calls controls (and
    what that means for the analyses), which matching variables the propensity model had to leave
    out (``left_out``: name -> reason, :attr:`veiligverder.design.Matching.left_out`) and which stay
    past ``mark`` (|SMD|). Left-out variables are counted only beside a balance table that is shown,
    and named (with the reason) only when the gate is off: that a variable does not vary, or adds
    nothing to the others, is a fact about every family."""
    n = {k.removeprefix("matching."): shown(v, gate) for k, v in results.items()}
    withheld = any(v is None for v in results.values())
    text = (f"The matching selected {n['n_controls']} controls for {n['n_treated']} VV families; "
            f"{n['overlap']} of them carry the dataset's own `control` label. ")
    overlap, chosen = results.get("matching.overlap"), results.get("matching.n_controls")
    if overlap is not None and chosen and overlap < chosen / 2:
        text += ("A repeat of the matching on the variables in the dataset thus picks mostly other families "
                 "than the study's control group: the study's own matching also steered clear of families in "
                 "another specific approach of the large study, and among similar families chance decides. "
                 "The analyses of this chapter therefore keep the dataset's own labels; the parameter "
                 "`rematch` runs them on the controls chosen here instead. ")
    if balance is not None and left_out:
        which = "one matching variable" if len(left_out) == 1 else f"{len(left_out)} matching variables"
        text += f"The propensity model has to leave out {which}, since these data cannot estimate its weight"
        if gate.active:  # which one, and why, says something about every family: not on protected data
            text += " (which, and why, is not shown on data under disclosure control)"
        else:
            text += ": " + "; ".join(f"{design.MATCHING_COVARIATES[k]}, which {why}" for k, why in left_out.items())
        text += (". R's `glm`, which MatchIt uses, reports such a coefficient as NA in the same way; the "
                 "balance table still lists every matching variable. ")
    if balance is not None and len(balance):
        after = balance.set_index("label")["smd_after"]
        past = after[after.abs() >= mark]
        if past.empty:
            text += (f"After matching every matching variable is balanced (|SMD| below {mark:g}, the usual "
                     "mark), so the chosen controls resemble the VV families on what they were matched on.")
        else:
            named = ", ".join(f"{k} ({labels.fmt_num(v, 2)})" for k, v in past.items())
            largest = labels.fmt_num(float(past.abs().max()), 2)
            one = len(past) == 1
            text += (f"After matching {len(after) - len(past)} of {len(after)} matching variables are balanced "
                     f"(|SMD| below {mark:g}); {named} {'stays' if one else 'stay'} past that mark. "
                     f"{'The' if one else 'The largest'} difference is {largest} standard deviations, so a "
                     f"comparison of outcomes that depend on {'it' if one else 'them'} should be read with "
                     "that imbalance in mind.")
    return _with_why(text.strip(), gate, withheld)


def matching_figure(match, gate) -> plt.Figure:
    """Chapter 5.1's love plot of the matching, or the withheld placeholder when the gate blanked the
    balance (``match.balance`` None)."""
    return figures.love_plot(match.balance) if match.balance is not None else withheld_figure(gate)


def balance_table(match, gate) -> pd.DataFrame:
    """Chapter 5.1's table of standardised mean differences before and after matching (rounded to
    two decimals), or the one-cell withheld table."""
    if match.balance is None:
        return withheld_table(gate)
    table = (match.balance.drop(columns="covariate").set_index("label").rename_axis(labels.label("columns", "covariate"))
             .rename(columns=lambda c: labels.label("columns", c)))
    return labels.reader_table(table.map(lambda x: labels.fmt_num(x, 2)))


def p_or_withheld(results: dict, key: str, withheld, gate) -> str:
    """A p value of the build's results for prose: 'p = .034', or 'p withheld (<5)' when the
    disclosure gate withheld it (``key`` in ``withheld``, the build's suppressed ids)."""
    return f"p withheld ({gate.mark})" if key in withheld else fmt_p(results[key])


def help_grade_sentence(results: dict) -> Markdown:
    """Chapter 6's sentence on the parents' grade for the help, from the build's results; when a
    group's mean is withheld or missing the groups are not compared."""
    vv, control = results.get("help_grade.mean.VV"), results.get("help_grade.mean.control")
    if vv is None or control is None:
        return Markdown("Too few parents graded the help to compare the groups.")
    return Markdown(
        f"The parents' grade for the help they received averaged {vv:.1f} in the VV group "
        f"(n = {results['help_grade.n.VV']}) and {control:.1f} in the control group "
        f"(n = {results['help_grade.n.control']}; Welch's t-test {fmt_p(results['help_grade.p'])}).")


def withheld_figure(gate) -> plt.Figure:
    """A small placeholder figure that says the figure is withheld (real data, too few units)."""
    fig, ax = plt.subplots(figsize=(6.4, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, f"Withheld: it would rest on fewer than {gate.threshold} units.", ha="center", va="center")
    return fig


def withheld_table(gate) -> pd.DataFrame:
    """A one-cell table that says the table is withheld."""
    return labels.reader_table(pd.DataFrame({"": [f"withheld ({gate.mark})"]}, index=pd.Index(["all cells"])))


def fmt_test(row) -> str:
    """'F(1, 97) = 30.12, p < .001, partial η² = .24' for one ANOVA row."""
    if not math.isfinite(row.F):
        return "not computable for this sample"
    eta = f"{row.np2:.2f}".replace("0.", ".", 1)
    return f"F({row.df1:.0f}, {row.df2:.0f}) = {row.F:.2f}, {fmt_p(row.p_unc)}, partial η² = {eta}"


def _mark(result) -> str:
    """The mark of a withheld value of a gated analysis."""
    return result.gate.mark if getattr(result, "gate", None) is not None else "–"


#: Unit words for the n of an outcome's groups, by the measures frame it lives in.
_UNIT_WORDS = {"families": ("family", "families"), "parents": ("parent", "parents"),
               "children": ("child", "children")}
#: Allowed values of ``higher_is``: what a higher score means for the families, when known.
HIGHER_IS = (None, "worse", "better")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _uncap(text: str) -> str:
    return text[:1].lower() + text[1:]


def _verb(sign: int | None) -> str:
    return {-1: "fell", 0: "stayed level", 1: "rose"}.get(sign, "changed")


def _size(row) -> str:
    """The Tabel 1 size word of a test that counts as a difference ('small', 'medium', 'large')."""
    return row.words.split(", ")[-1]


def describe(result: analysis.OutcomeAnalysis, what: str, *, unit: str = "", percent: bool = False,
             digits: int = 1, higher_is: str | None = None) -> str:
    """Sentences for one outcome, finding first: did the two groups change differently over time
    (the group × time interaction), then the means with their n, then the remaining tests.

    A test counts as a difference only when significant and at least 'small' by Tabel 1
    (:func:`veiligverder.stats.is_difference`); nothing else is put into words. Which way a score
    moved (fell, rose) comes from the means as shown, rounded to ``digits``; ``higher_is``
    (``'worse'``, ``'better'`` or None) says what a higher score means, and only when it is given
    does the text speak of improving. Withheld means, n's and tests show the gate's mark and the
    text ends with the gate's sentence why; no direction is read from a withheld mean.
    """
    if higher_is not in HIGHER_IS:
        raise ValueError(f"higher_is must be one of {HIGHER_IS}, got {higher_is!r}")
    scale, suffix = (100.0, " %") if percent else (1.0, f" {unit}" if unit else "")
    noun = "share" if percent else "mean"
    s = result.summary.set_index(["group", "time"])["mean"] * scale
    o = result.outcome
    held = result.withheld

    def gone(g: str, t: str) -> bool:
        return f"{o}.mean.{g}.{t}" in held or not math.isfinite(s[g, t])

    def m(g: str, t: str) -> str:
        return _mark(result) if f"{o}.mean.{g}.{t}" in held else f"{fmt_num(s[g, t], digits)}{suffix}"

    def sign(g: str) -> int | None:
        """Which way group g's mean moved, as the rounded means show it; None when one is not shown."""
        if gone(g, "baseline") or gone(g, "follow_up"):
            return None
        a, b = (round(float(s[g, t]), digits) for t in TIMES)
        return (b > a) - (b < a)

    singular, plural = _UNIT_WORDS.get(design.OUTCOMES.get(o, {}).get("frame", ""), ("", ""))

    def n_text(g: str) -> str:
        if f"{o}.n.{g}" in held:
            return f"n = {_mark(result)}"
        k = result.n(g)
        word = singular if k == 1 else plural
        return f"n = {k}" + (f" {word}" if word else "")

    def moved(g: str) -> str:
        d = sign(g)
        how = "went" if d is None else _verb(d)
        return (f"{how} from {m(g, 'baseline')} to {m(g, 'follow_up')}" if d != 0
                else f"stayed at {m(g, 'baseline')}")

    # the numbers: each group's move from baseline to follow-up, with its n
    second = f"it {moved('control')}"
    if sign("VV") is not None and sign("VV") == sign("control") != 0:
        second = moved("control").split(" ", 1)[1]  # 'from c to d': the same verb as the first group's
    numbers = (f"In {GROUP_NAMES['VV']} the {noun} {moved('VV')} ({n_text('VV')}); "
               f"in {GROUP_NAMES['control']} {second} ({n_text('control')}).")
    why = f" {result.gate.why}" if held else ""

    t = result.test.set_index("source")
    if getattr(result, "note", ""):
        return (f"Whether the groups changed differently on {what} cannot be tested: the mixed ANOVA is "
                f"{result.note}. {numbers}{why}")
    if held:
        return (f"The tests for {what} are withheld, so whether the groups changed differently cannot be "
                f"shown here. {numbers}{why}")
    if not math.isfinite(t.loc["time", "F"]):
        return (f"Whether the groups changed differently on {what} cannot be tested: the mixed ANOVA is not "
                f"estimable on this dataset, the sample is too small. {numbers}")

    time, group, inter = (t.loc[k] for k in SOURCES)
    is_time, is_group, is_inter = (stats.is_difference(r.p_unc, r.np2, kind=EFFECT_KIND[k])
                                   for k, r in zip(SOURCES, (time, group, inter)))
    d = {g: float(s[g, "follow_up"] - s[g, "baseline"]) for g in GROUPS}
    dirs = {g: sign(g) for g in GROUPS}
    # the time effect's direction: the mean of the groups' changes (the unweighted marginal means
    # that the Type III time effect compares)
    overall_sign = 1 if sum(d[g] for g in GROUPS) > 0 else -1

    def group_sentence() -> str:
        if is_group:
            level = {g: (float(s[g, "baseline"]) + float(s[g, "follow_up"])) / 2 for g in GROUPS}
            hi, lo = sorted(GROUPS, key=lambda g: -level[g])
            return (f"Averaged over the two waves the {noun} is higher in {GROUP_NAMES[hi]} than in "
                    f"{GROUP_NAMES[lo]}, a {_size(group)} group effect ({fmt_test(group)}).")
        return (f"Averaged over the two waves the groups' {noun}s show no difference that counts "
                f"({group.words}; {fmt_test(group)}).")

    if is_inter:
        text = [f"{_cap(_contrast(what, d, dirs, higher_is))}.", numbers,
                f"This group × time effect is {_size(inter)} ({fmt_test(inter)})."]
        if is_time:
            text.append(f"Over both groups together the {noun} {_verb(overall_sign)} over time, a {_size(time)} "
                        f"effect ({fmt_test(time)}); " + _uncap(group_sentence()))
        else:
            text.append(f"Taken together, the groups' change over time does not count as a difference "
                        f"({time.words}; {fmt_test(time)}). " + group_sentence())
        return " ".join(text)

    interaction = f"the group × time interaction is {inter.words} ({fmt_test(inter)})"
    if is_time:
        both = all(dirs[g] == overall_sign for g in GROUPS)
        if higher_is is not None:
            good = overall_sign == (-1 if higher_is == "worse" else 1)
            who = "Both groups" if both else "The two groups together"
            lead = f"{who} {'improved' if good else 'got worse'} on {what} between baseline and follow-up"
        else:
            where = "in both groups" if both else "over the two groups together"
            lead = f"{_cap(what)} {_verb(overall_sign)} {where} between baseline and follow-up"
        return " ".join([f"{lead}, and neither group changed more than the other by a margin that counts.", numbers,
                         f"The change over time is a {_size(time)} effect ({fmt_test(time)}); {interaction}.",
                         group_sentence()])
    if {dirs["VV"], dirs["control"]} == {-1, 1}:
        lead = (f"The two groups moved in opposite directions on {what}, but neither that nor the change over "
                f"time counts as a difference.")
    else:
        lead = (f"No change in {what} counts as a difference: not over time, and not between the groups in how "
                f"they changed.")
    return " ".join([
        lead, numbers,
        f"The time effect is {time.words} ({fmt_test(time)}), the group × time interaction {inter.words} "
        f"({fmt_test(inter)}).", group_sentence()])


def _contrast(what: str, d: dict, dirs: dict, higher_is: str | None) -> str:
    """The finding of a group × time effect that counts: which group changed which way, or more.
    ``d`` is each group's change (follow-up minus baseline), ``dirs`` its sign as the rounded means
    show it; ``higher_is`` ('worse', 'better') lets the words say which group did better."""
    vv, control = GROUP_NAMES["VV"], GROUP_NAMES["control"]
    if higher_is is not None:
        gain = {g: (-d[g] if higher_is == "worse" else d[g]) for g in GROUPS}
        fav = {g: dirs[g] * (-1 if higher_is == "worse" else 1) for g in GROUPS}
        better = max(GROUPS, key=lambda g: gain[g])
        other = next(g for g in GROUPS if g != better)
        b, w = GROUP_NAMES[better], GROUP_NAMES[other]
        if fav[better] > 0 and fav[other] > 0:
            return f"{b} improved more on {what} than {w}"
        if fav[better] > 0:
            return f"{b} improved on {what}, while {w} " + ("did not" if fav[other] == 0 else "got worse")
        if fav[better] == 0 and fav[other] < 0:
            return f"{b} held level on {what}, while {w} got worse"
        if fav[better] < 0 and fav[other] < 0:
            return f"both groups got worse on {what}, but {b} less so"
    if dirs["VV"] == dirs["control"] == 0:
        return f"the two groups changed differently on {what}, though too little to show in the rounded means"
    if dirs["VV"] == dirs["control"]:
        steeper = max(GROUPS, key=lambda g: abs(d[g]))
        return (f"the two groups changed differently on {what}: it {_verb(dirs['VV'])} in both groups, but "
                f"more in {GROUP_NAMES[steeper]}")
    return (f"the two groups changed differently on {what}: it {_verb(dirs['VV'])} in {vv} and "
            f"{_verb(dirs['control'])} in {control}")


def test_tables(result: analysis.OutcomeAnalysis, *, percent: bool = False, digits: int = 2) -> pd.DataFrame:
    """The small table under each figure, in one block: a row per group (n, mean at baseline and at
    follow-up) and a row per ANOVA effect (F with its degrees of freedom, p, partial eta squared and
    the words of Tabel 1). Cells that do not apply stay empty."""
    top, tests = analysis.test_table(result)
    scale = 100.0 if percent else 1.0
    blank = ""
    rows = []
    o, w = result.outcome, result.withheld
    for g, (name, r) in zip(GROUPS, top.iterrows()):
        def cell(t: str, column: str) -> str:
            return _mark(result) if f"{o}.mean.{g}.{t}" in w else fmt_num(r[column] * scale, digits)

        rows.append({"": name, "n": _mark(result) if f"{o}.n.{g}" in w else int(r["n"]),
                     "baseline" + (" (%)" if percent else ""): cell("baseline", "mean at baseline"),
                     "follow-up" + (" (%)" if percent else ""): cell("follow_up", "mean at follow-up"),
                     "F": blank, "p": blank, "partial η²": blank, "effect": blank})
    for source, r in tests.iterrows():
        label = labels.label("sources", source)
        finite = math.isfinite(r["F"])
        gone = _mark(result) if f"{o}.anova.{source}.F" in w else "–"
        rows.append({"": label, "n": blank, "baseline" + (" (%)" if percent else ""): blank,
                     "follow-up" + (" (%)" if percent else ""): blank,
                     "F": f"F({r['df1']:.0f}, {r['df2']:.0f}) = {r['F']:.2f}" if finite else gone,
                     "p": fmt_p(r["p"]).removeprefix("p ").removeprefix("= ") if finite else gone,
                     "partial η²": labels.fmt_num(r["partial η²"], 2).replace("0.", ".", 1) if finite else gone,
                     "effect": r["words"]})
    return labels.reader_table(pd.DataFrame(rows).set_index(""))


def glue_outcome(key: str, result: analysis.OutcomeAnalysis, *, what: str, ylabel: str, norm: float | None = None,
                 norm_label: str = "norm", percent: bool = False, unit: str = "", digits: int = 1,
                 higher_is: str | None = None) -> None:
    """Glue the figure (``key``), its test table (``key_tests``) and its sentences (``key_text``,
    :func:`describe`; ``higher_is`` says whether a higher score is ``'worse'`` or ``'better'``)."""
    from myst_nb import glue

    fig = figures.two_wave_figure(result.summary, ylabel=ylabel, norm=norm, norm_label=norm_label, percent=percent)
    glue(key, fig, display=False)
    plt.close(fig)
    glue(f"{key}_tests", test_tables(result, percent=percent), display=False)
    glue(f"{key}_text", Markdown(describe(result, what, unit=unit, percent=percent, digits=digits,
                                         higher_is=higher_is)), display=False)


def category_tests(result: analysis.CategoryAnalysis) -> pd.DataFrame:
    """Test table under figure 1: Stuart-Maxwell within each group, between-group test per wave."""
    rows = []
    w = result.withheld
    for r in result.within.itertuples():
        gone = f"violence_category.change_p.{r.group}" in w
        rows.append({"comparison": f"change within {GROUP_NAMES[r.group].removeprefix('the ')}",
                     "test": labels.test_label("stuart-maxwell"), "statistic": _stat(r.statistic, result, gone),
                     "df": _mark(result) if gone else _df(r.df), "p": _mark(result) if gone else fmt_p(r.p_unc)})
    for r in result.between.itertuples():
        gone = f"violence_category.group_p.{r.time}" in w
        rows.append({"comparison": f"VV against control at {labels.label('times', r.time)}",
                     "test": labels.test_label(r.method),
                     "statistic": _stat(r.statistic, result, gone), "df": _mark(result) if gone else _df(r.df),
                     "p": _mark(result) if gone else fmt_p(r.p_unc)})
    return labels.reader_table(pd.DataFrame(rows).set_index("comparison").astype(str))


def _df(x) -> str:
    """Degrees of freedom: a whole number without decimals ('2', not '2.0'), '–' when missing."""
    return labels.fmt_num(x, 0 if math.isfinite(float(x)) and float(x).is_integer() else 1)


def _stat(x: float, result, gone: bool) -> str:
    if gone:
        return _mark(result)
    return labels.fmt_num(x, 2)


def describe_category(result: analysis.CategoryAnalysis) -> Markdown:
    """Sentences for figure 1, following the computed tests."""
    sh = result.shares.set_index(["group", "time", "category"])["share"] * 100
    held = result.withheld

    def share(g: str, t: str) -> str:
        gone = f"violence_category.share.{g}.{t}.none" in held
        return _mark(result) if gone else f"{fmt_num(sh[g, t, 'none'], 0)} %"

    parts = []
    for g in GROUPS:
        w = result.within.set_index("group").loc[g]
        if f"violence_category.change_p.{g}" in held:
            moved = "its change is withheld"
        else:
            moved = ("the distribution over the categories shifted significantly" if w.p_unc < ALPHA
                     else "the distribution over the categories did not shift significantly")
            moved += f" (Stuart-Maxwell, {fmt_p(w.p_unc)})"
        parts.append(f"In {GROUP_NAMES[g]} the share of families without violence went from "
                     f"{share(g, 'baseline')} to {share(g, 'follow_up')} and {moved}.")
    b = result.between.set_index("time")
    shown_times = [t for t in TIMES if f"violence_category.group_p.{t}" not in held]
    diff = [labels.label("times", t) for t in shown_times if b.loc[t, "p_unc"] < ALPHA]
    if diff:
        parts.append("The groups differ at " + " and ".join(diff) + ".")
    elif shown_times:
        parts.append("The groups do not differ at " + " nor at ".join(
            f"{labels.label('times', t)} ({fmt_p(b.loc[t, 'p_unc'])})" for t in shown_times) + ".")
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
                 labels.fmt_num(s.loc[g, "mean"], 2)), "test": ""}
            for g in GROUPS]
    tt = (f"t({t['dof']:.1f}) = {t['T']:.2f}, {fmt_p(t['p_unc'])}" if math.isfinite(t["T"])
          else _mark(result) if f"{name}.p" in w else "not computable")
    rows.append({"": labels.test_label("welch"), "n": "", "mean": "", "test": tt})
    band = getattr(result, "band_test", None)
    if band is not None:
        b = band.iloc[0]
        bt = (labels.fmt_test(b["method"], b["p_unc"]) if math.isfinite(b["p_unc"])
              else _mark(result) if f"{name}.band_p" in w else "not computable")
        rows.append({"": "bands, VV against control", "n": "", "mean": "", "test": bt})
    return labels.reader_table(pd.DataFrame(rows).set_index("").astype(str))


def _between_name(result) -> str:
    return "help_satisfaction" if hasattr(result, "band_test") else "help_grade"


def describe_satisfaction(result) -> Markdown:
    """Sentences for figure 17, following the computed shares and tests."""
    sh = result.shares * 100

    def pct(x: float) -> str:
        return f"{fmt_num(x, 0)} %" if math.isfinite(x) else _mark(result)

    satisfied = {g: pct(sh.loc[g, "satisfied"] + sh.loc[g, "very satisfied"]) for g in GROUPS}
    dissatisfied = {g: pct(sh.loc[g, "dissatisfied"]) for g in GROUPS}
    p = result.test["p_unc"].iloc[0]
    if "help_satisfaction.p" in result.withheld:
        verdict = "cannot be compared here"
    else:
        verdict = ("differ significantly" if math.isfinite(p) and p < ALPHA else "do not differ significantly")
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
    mean = {g: _mark(result) if f"help_grade.mean.{g}" in w else fmt_num(s.loc[g, "mean"]) for g in GROUPS}
    n = {g: _mark(result) if f"help_grade.n.{g}" in w else int(s.loc[g, "n"]) for g in GROUPS}
    if "help_grade.p" in w:
        verdict = "cannot be compared here"
    else:
        verdict = ("differ significantly" if math.isfinite(p) and p < ALPHA else "do not differ significantly")
        verdict += f" (Welch's t-test, {fmt_p(p)})"
    text = (f"Parents in {GROUP_NAMES['VV']} gave the help a mean grade of {mean['VV']} (n = {n['VV']}), parents in "
            f"{GROUP_NAMES['control']} {mean['control']} (n = {n['control']}); the groups {verdict}.")
    return Markdown(text + (f" {result.gate.why}" if w else ""))


FOLLOW_UP_WORDS = {"latest": "the latest wave with a value (T2, else T1)", "T1": "T1 only", "T2": "T2 only"}


def banner(study, *, follow_up: bool = True) -> Markdown:
    """The admonition atop a chapter: which data, which scoring keys and (``follow_up``: for chapters
    with two-wave analyses) which follow-up rule are in force, so a reader sees every setting that
    shaped the page's numbers."""
    illustrative = sorted(k for k, v in study.keys.items() if v.get("illustrative"))
    if study.synthetic:
        head = (":::{admonition} Synthetic data\n:class: warning\n\n"
                "The numbers on this page are computed from the **synthetic twin**: invented families whose "
                "answers were generated to resemble what the report published. They illustrate the method "
                "and are not findings about real families.\n")
    else:
        head = (":::{admonition} Data in force\n:class: note\n\n"
                f"The numbers on this page are computed from the dataset `{study.dataset.meta.path.name}` "
                f"(content hash {study.dataset.meta.content_hash[:12]}); numbers resting on fewer than "
                f"{study.disclosure_threshold} units or families are withheld.\n")
    if illustrative:
        from veiligverder.instruments import short_names

        short = short_names()
        keys = ("Scoring keys: **illustrative** (not the licensed keys) for "
                + ", ".join(short.get(k, k) for k in illustrative) + ".\n")
    else:
        where = f" (folder `{_folder_name(study.keys_dir)}`)" if study.keys_dir else ""
        keys = f"Scoring keys: the licensed keys supplied by the user{where}.\n"
    rule = (f"Follow-up (`follow_up_rule: {study.follow_up_rule}`): "
            f"{FOLLOW_UP_WORDS.get(study.follow_up_rule, study.follow_up_rule)}.\n") if follow_up else ""
    extra = "Control families were re-selected by matching (parameter `rematch`).\n" if study.rematched else ""
    return Markdown(head + keys + rule + extra + ":::\n")


def _folder_name(path) -> str:
    """The last part of a folder path (the book never shows a reader's full local path)."""
    from pathlib import Path

    return Path(str(path)).name
