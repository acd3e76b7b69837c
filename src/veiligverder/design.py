"""The study design: which unit and wave each analysis uses, and how controls are matched.

Analysis samples (CONTRACT §3)
------------------------------
Every outcome is analysed at one unit level (family, parent or child). Baseline is the value at
T0; the follow-up value is chosen per unit by the *follow-up rule*: ``latest`` takes T2 where the
unit has a value there and T1 otherwise, ``T1`` and ``T2`` take that wave only. A unit of the VV or
control group enters the sample of an outcome when it has both a baseline and a follow-up value
for it. The help grade is a between-groups comparison of one grade per parent: the one at the
latest wave that has a grade.

Matching (report ch. 5.1)
-------------------------
The report chose 65 control families from the wider cohort to resemble the 34 VV families on
total and partner violence, education, migration background, income, number of children and
parental psychological problems, without saying how. The compendium repeats the step with the
method most used for it: a logistic propensity score on those variables and greedy nearest-
neighbour matching on its logit, up to two controls per VV family, without replacement, within a
caliper of 0.2 standard deviations of the logit (Austin 2011, *Pharmaceutical Statistics* 10:150;
the defaults of R's MatchIt ``method = "nearest"`` apart from the caliper). Balance is judged by
standardised mean differences (Austin 2009, *Statistics in Medicine* 28:3083), |SMD| < 0.1 being
the usual mark of balance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

GROUPS = ("VV", "control")
FOLLOW_UP_RULES = ("latest", "T1", "T2")
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


# --------------------------------------------------------------------------------------------
# matching

MATCHING_COVARIATES = {
    "violence_total": "total violence (incidents a year)",
    "violence_partner": "partner violence (incidents a year)",
    "low_education": "a parent with primary education only",
    "migration": "a parent with a migration background",
    "low_income": "a parent with net income below EUR 1500",
    "n_children": "children over 3 in the family",
    "psych_problems": "a parent with psychological problems",
}
CALIPER_SD = 0.2
RATIO = 2


def matching_covariates(dataset: Any, measures: Any) -> pd.DataFrame:
    """The report's matching variables per family at T0, one row per family with a T0 parent row.

    Family-level versions of parent variables count a family when any parent at T0 has the
    characteristic. Returns ``family_id``, ``group`` and the columns of ``MATCHING_COVARIATES``.
    """
    p = dataset.parents.loc[dataset.parents["wave"] == "T0"]
    par = pd.DataFrame({
        "family_id": p["family_id"].to_numpy(),
        "low_education": (p["education"] == "primary").to_numpy(float),
        "migration": (p["migration"].notna() & (p["migration"] != "dutch")).to_numpy(float),
        "low_income": (p["income"] == "lt1500").to_numpy(float),
        "psych_problems": (p["psych_problems"] == 1).to_numpy(float),
    }).groupby("family_id").max()
    fam = measures.families.loc[measures.families["wave"] == "T0", ["family_id", "group", "violence_total",
                                                                     "violence_partner"]].set_index("family_id")
    kids = dataset.families.set_index("family_id")["n_children_over3"].astype(float).rename("n_children")
    out = fam.join(par, how="inner").join(kids, how="left")
    return out.reset_index()[["family_id", "group", *MATCHING_COVARIATES]]


def propensity(covariates: pd.DataFrame, *, treated: str = "VV") -> pd.Series:
    """Logit of the propensity score of being in the ``treated`` group, by logistic regression on the
    matching variables (missing values replaced by the column mean; constant columns dropped)."""
    import statsmodels.api as sm

    x = covariates[list(MATCHING_COVARIATES)].astype(float)
    x = x.fillna(x.mean())
    x = x.loc[:, x.std() > 0]
    y = (covariates["group"] == treated).astype(float)
    design = sm.add_constant(x.to_numpy(), has_constant="add")
    fit = sm.GLM(y.to_numpy(), design, family=sm.families.Binomial()).fit()
    return pd.Series(design @ fit.params, index=covariates.index, name="logit_ps")


def nearest_neighbour(score: pd.Series, treated: pd.Series, *, ratio: int = RATIO, caliper: float,
                      seed: int = 0) -> pd.DataFrame:
    """Greedy nearest-neighbour matching without replacement on ``score`` within ``caliper``.

    Treated units take turns in a random order (seeded); in each of ``ratio`` rounds every treated
    unit takes the nearest still-free control within the caliper (MatchIt's greedy algorithm).

    Returns
    -------
    DataFrame
        One row per pair: ``treated`` and ``control`` (index labels of ``score``), ``distance``.
    """
    t_idx = score.index[treated.to_numpy(bool)]
    c_idx = score.index[~treated.to_numpy(bool)]
    order = np.random.default_rng(seed).permutation(len(t_idx))
    c_score = score.loc[c_idx].to_numpy(float)
    free = np.ones(len(c_idx), dtype=bool)
    pairs = []
    for _ in range(ratio):
        for i in order:  # greedy matching is sequential by definition: each choice removes a control
            d = np.abs(c_score - score.loc[t_idx[i]])
            d[~free] = np.inf
            j = int(np.argmin(d)) if len(d) else -1
            if j >= 0 and d[j] <= caliper:
                free[j] = False
                pairs.append((t_idx[i], c_idx[j], float(d[j])))
    return pd.DataFrame(pairs, columns=["treated", "control", "distance"])


def smd(treated: pd.Series, control: pd.Series, *, binary: bool) -> float:
    """Standardised mean difference (Austin 2009): the difference in means over the root of the
    average of the two variances; for 0/1 variables the variances are p(1 - p)."""
    t, c = treated.dropna().astype(float), control.dropna().astype(float)
    if binary:
        vt, vc = t.mean() * (1 - t.mean()), c.mean() * (1 - c.mean())
    else:
        vt, vc = t.var(ddof=1), c.var(ddof=1)
    sd = np.sqrt((vt + vc) / 2)
    diff = t.mean() - c.mean()
    return float(diff / sd) if sd > 0 else (0.0 if diff == 0 else float(np.sign(diff) * np.inf))


@dataclass
class Matching:
    """The result of :func:`match_controls`."""

    covariates: pd.DataFrame   # family_id, group, covariates, logit_ps, matched (0/1)
    pairs: pd.DataFrame        # treated, control family ids and distance
    balance: pd.DataFrame      # covariate, label, smd_before, smd_after
    caliper: float


def match_controls(covariates: pd.DataFrame, *, treated: str = "VV", ratio: int = RATIO,
                   caliper_sd: float = CALIPER_SD, seed: int = 0) -> Matching:
    """Choose controls for the ``treated`` families from all other families (control and cohort).

    Returns a :class:`Matching` whose ``covariates`` frame carries the logit propensity score and a
    ``matched`` flag, and whose ``balance`` compares the treated families with every candidate
    (before) and with the chosen controls (after).
    """
    cov = covariates.reset_index(drop=True)
    is_t = cov["group"] == treated
    if is_t.sum() == 0 or (~is_t).sum() == 0:
        raise DesignError(f"matching needs families in group {treated!r} and candidates outside it; "
                          f"groups present: {sorted(cov['group'].astype(str).unique())}")
    logit = propensity(cov, treated=treated)
    caliper = caliper_sd * float(logit.std(ddof=1))
    pairs = nearest_neighbour(logit, is_t, ratio=ratio, caliper=caliper, seed=seed)
    matched = cov.index.isin(pairs["control"])
    cov = cov.assign(logit_ps=logit, matched=matched.astype(int))
    rows = []
    for name, label in MATCHING_COVARIATES.items():
        binary = set(cov[name].dropna().unique()) <= {0.0, 1.0}
        rows.append({"covariate": name, "label": label,
                     "smd_before": smd(cov.loc[is_t, name], cov.loc[~is_t, name], binary=binary),
                     "smd_after": smd(cov.loc[is_t, name], cov.loc[matched, name], binary=binary)})
    out_pairs = pairs.assign(treated=cov.loc[pairs["treated"], "family_id"].to_numpy(),
                             control=cov.loc[pairs["control"], "family_id"].to_numpy())
    return Matching(cov, out_pairs, pd.DataFrame(rows), caliper)


def overlap_with_labels(matching: Matching, *, label: str = "control") -> dict[str, float]:
    """How many chosen controls carry the dataset's own ``label``, and how many labelled units were chosen."""
    cov = matching.covariates
    chosen = cov["matched"] == 1
    labelled = cov["group"] == label
    return {"n_chosen": int(chosen.sum()), "n_labelled": int(labelled.sum()),
            "n_both": int((chosen & labelled).sum()),
            "share_of_chosen": float((chosen & labelled).sum() / chosen.sum()) if chosen.any() else float("nan")}


def relabel(dataset: Any, matching: Matching) -> Any:
    """A copy of ``dataset`` whose control group is the matched families (others not VV become cohort)."""
    fam = dataset.families.copy()
    chosen = set(matching.covariates.loc[matching.covariates["matched"] == 1, "family_id"])
    group = fam["group"].astype(str)
    new = np.where(group == "VV", "VV", np.where(fam["family_id"].isin(chosen), "control", "cohort"))
    # plain strings, as the loader gives them: a categorical would carry the empty 'cohort' level
    # into every analysis sample, and group-wise statistics would then see three groups
    fam["group"] = pd.Series(new, index=fam.index, dtype=object)
    return replace(dataset, families=fam)


def relabel_measures(measures: Any, families: pd.DataFrame) -> Any:
    """A copy of ``measures`` whose ``group`` columns follow ``families`` (after :func:`relabel`)."""
    group = families.set_index("family_id")["group"]
    return replace(measures, **{name: frame.assign(group=frame["family_id"].map(group).to_numpy())
                                for name in ("parents", "children", "families")
                                for frame in [getattr(measures, name)]})


def love_plot(balance: pd.DataFrame, *, threshold: float = 0.1):
    """Love plot: absolute SMD per covariate before and after matching, with the 0.1 line."""
    import matplotlib.pyplot as plt

    b = balance.iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(b) + 1.2))
    y = np.arange(len(b))
    ax.scatter(b["smd_before"].abs(), y, marker="o", facecolors="none", edgecolors="0.35", label="before matching")
    ax.scatter(b["smd_after"].abs(), y, marker="o", color="#1f6f8b", label="after matching")
    ax.axvline(threshold, color="0.5", linestyle="--", linewidth=1)
    ax.set_yticks(y, b["label"])
    ax.set_xlabel("absolute standardised mean difference")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18 - 0.6 / len(b)), ncol=2, frameon=False)
    fig.tight_layout()
    return fig
