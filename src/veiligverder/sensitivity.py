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
"""

from __future__ import annotations

from collections.abc import Callable, Container

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from veiligverder import analysis, design

WAVES = ("T0", "T1", "T2")
RULES = ("T1", "T2", "latest")


def all_waves(measures, outcome: str) -> pd.DataFrame:
    """Every observation of an outcome for VV and control units: ``[unit_id, group, wave, value]``."""
    spec = design.OUTCOMES[outcome]
    frame = getattr(measures, spec["frame"])
    data = frame.loc[frame["group"].isin(analysis.GROUPS), [spec["unit"], "group", "wave", outcome]]
    data = data.rename(columns={spec["unit"]: "unit_id", outcome: "value"}).dropna(subset=["value"])
    return data.reset_index(drop=True)


def _interaction_wald(params: pd.Series, cov: pd.DataFrame) -> tuple[float, int, float]:
    """Joint Wald chi-square of the wave x group terms."""
    terms = [t for t in params.index if ":" in t]
    b = params[terms].to_numpy()
    v = cov.loc[terms, terms].to_numpy()
    stat = float(b @ np.linalg.solve(v, b))
    return stat, len(terms), float(sps.chi2.sf(stat, len(terms)))


FORMULA = "value ~ C(wave, Treatment('T0')) * C(group, Treatment('control'))"


def fit_all_waves(data: pd.DataFrame, *, binary: bool) -> dict:
    """Fit the all-waves model of one outcome; returns coefficients and the interaction test.

    Returns
    -------
    dict
        ``coefficients`` (DataFrame: term, estimate, se, p), ``wald`` (chi-square), ``df``, ``p``,
        ``n_units``, ``n_obs``, ``model`` ('MixedLM' or 'GEE logistic'), ``converged``.
    """
    import statsmodels.formula.api as smf
    from statsmodels.genmod.cov_struct import Exchangeable
    from statsmodels.genmod.families import Binomial

    # plain labels: a categorical column keeps unused levels (e.g. 'cohort' after rematching), which
    # patsy turns into an all-zero dummy and a singular design
    data = data.assign(group=data["group"].astype(str), wave=data["wave"].astype(str))
    data = data.sort_values(["unit_id", "wave"]).reset_index(drop=True)
    present = {"group": set(data["group"]), "wave": set(data["wave"])}
    if not {"VV", "control"} <= present["group"] or "T0" not in present["wave"] or len(present["wave"]) < 2:
        raise ValueError(f"needs both groups and T0 plus a later wave; the data have groups "
                         f"{sorted(present['group'])} and waves {sorted(present['wave'])}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if binary:
            model = smf.gee(FORMULA, groups="unit_id", data=data, family=Binomial(), cov_struct=Exchangeable())
            fit = model.fit()
            converged = bool(getattr(fit, "converged", True))
            name = "GEE logistic"
        else:
            model = smf.mixedlm(FORMULA, data, groups=data["unit_id"])
            fit = model.fit(reml=True)
            converged = bool(fit.converged)
            name = "MixedLM"
    params = fit.params.drop(labels=[p for p in fit.params.index if p == "Group Var"], errors="ignore")
    cov = fit.cov_params().loc[params.index, params.index]
    stat, df, p = _interaction_wald(params, cov)
    coefs = pd.DataFrame({"term": params.index, "estimate": params.to_numpy(),
                          "se": np.sqrt(np.diag(cov)), "p": fit.pvalues[params.index].to_numpy()})
    coefs["term"] = coefs["term"].str.replace(r"C\((\w+), Treatment\('\w+'\)\)\[T\.(\w+)\]", r"\1=\2", regex=True)
    return {"coefficients": coefs, "wald": stat, "df": df, "p": p, "n_units": int(data["unit_id"].nunique()),
            "n_obs": int(len(data)), "model": name, "converged": converged}


def all_waves_table(measures, outcomes: list[str], *, withheld: Container[str] = (),
                    threshold: int | None = None) -> tuple[pd.DataFrame, dict]:
    """One row per outcome: the all-waves model's interaction test next to chapter 5's two-wave one.

    Outcomes in ``withheld`` (those whose two-wave analysis the disclosure gate withholds, since the
    model rests on the same units) get a row that says so and no result ids; so do outcomes in
    which a group has 1 to ``threshold`` - 1 units at some wave (on real data the chapter passes
    the disclosure threshold: the model's wave x group terms would rest on them).
    Returns the table and result ids ``sensitivity.<outcome>.allwaves.<p|wald|n_units|n_obs>``.
    """
    rows, results = [], {}
    for outcome in outcomes:
        kind = design.OUTCOMES[outcome]["kind"]
        data = all_waves(measures, outcome)
        cell_n = data.groupby(["group", "wave"])["unit_id"].nunique()
        if outcome in withheld or (threshold is not None and ((cell_n >= 1) & (cell_n < threshold)).any()):
            rows.append({"outcome": outcome, "model": "withheld (disclosure control)", "units": "–",
                         "observations": "–", "wave x group": "–"})
            continue
        try:
            fit = fit_all_waves(data, binary=kind == "binary")
        except (ValueError, np.linalg.LinAlgError) as exc:  # too few units or a singular design
            rows.append({"outcome": outcome, "model": "not estimable", "units": data["unit_id"].nunique(),
                         "observations": len(data), "wave x group": str(exc)[:60]})
            continue
        two_wave = analysis.analyse(measures, outcome)
        p2 = two_wave.results[f"{outcome}.anova.interaction.p"]
        rows.append({"outcome": outcome, "model": fit["model"], "units": fit["n_units"], "observations": fit["n_obs"],
                     "wave x group": f"χ²({fit['df']}) = {fit['wald']:.2f}, p = {fit['p']:.3f}",
                     "two-wave ANOVA, group x time": "p not computable" if p2 is None or not np.isfinite(p2)
                     else f"p = {p2:.3f}",
                     "same conclusion": "yes" if (p2 is not None and np.isfinite(p2)
                                                  and (p2 < 0.05) == (fit["p"] < 0.05)) else "no"})
        for key in ("p", "wald", "n_units", "n_obs"):
            results[f"sensitivity.{outcome}.allwaves.{key}"] = fit[key]
    return pd.DataFrame(rows).set_index("outcome"), results


def follow_up_rules_table(measures, outcomes: list[str], *,
                          analyse: Callable[..., analysis.OutcomeAnalysis] | None = None,
                          mark: str = "–") -> tuple[pd.DataFrame, dict]:
    """Chapter 5's group x time conclusion under each follow-up rule, side by side.

    ``analyse(outcome, follow_up_rule=...)`` runs one analysis (default: ungated
    :func:`veiligverder.analysis.analyse`; chapters pass ``Study.analyse``, which applies the
    disclosure gate: a withheld n shows ``mark`` and a withheld test reads 'withheld').
    Returns the table (rows: outcomes; per rule: n VV/control, interaction p, words) and the result
    ids ``sensitivity.<outcome>.<rule>.interaction_p`` and ``....interaction_np2``.
    """
    analyse = analyse or (lambda o, **kw: analysis.analyse(measures, o, **kw))
    rows, results = [], {}
    for outcome in outcomes:
        row = {"outcome": outcome}
        for rule in RULES:
            a = analyse(outcome, follow_up_rule=rule)
            t = a.test.set_index("source").loc["interaction"]
            n = {g: mark if a.results[f"{outcome}.n.{g}"] is None else a.n(g) for g in ("VV", "control")}
            row[f"{rule}: n"] = f"{n['VV']} / {n['control']}"
            row[f"{rule}: group x time"] = (t["words"] if np.isfinite(t["p_unc"]) or a.withheld
                                            else "not computable")
            results[f"sensitivity.{outcome}.{rule}.interaction_p"] = t["p_unc"]
            results[f"sensitivity.{outcome}.{rule}.interaction_np2"] = t["np2"]
        words = {row[f"{r}: group x time"] for r in RULES}
        row["rules agree"] = "yes" if len(words) == 1 else "no"
        rows.append(row)
    return pd.DataFrame(rows).set_index("outcome"), results
