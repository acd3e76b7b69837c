"""How controls are matched to the VV families (report ch. 5.1, repeated).

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

from dataclasses import dataclass, field, replace
from typing import Any

from veiligverder.design.samples import DesignError

import numpy as np
import pandas as pd



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


#: Why a matching variable is left out of the propensity model (see :func:`propensity_design`).
NO_VARIATION = "does not vary between the families"
ALIASED = "is a linear combination of the matching variables before it"


def independent_columns(design: np.ndarray, *, tol: float = 1e-11) -> np.ndarray:
    """Which columns of ``design`` to keep so that it has full column rank: each column in turn is
    kept unless it is, within ``tol``, a linear combination of the columns kept before it.

    This is R's rule for aliased terms. ``glm.fit`` (R's ``src/library/stats/R/glm.R``) solves each
    step with the LINPACK QR ``dqrdc2`` (``.Call(C_Cdqrls, ..., min(1e-7, control$epsilon/1000))``,
    so ``tol`` = 1e-11 at the default ``epsilon`` 1e-8; ``lm.fit`` uses 1e-7). Its limited column
    pivoting moves a column whose norm, once the earlier columns are projected out, falls below
    ``tol`` times its own norm behind the others, and ``glm`` reports that coefficient as ``NA``.
    A loop over columns (a handful), not rows.
    """
    x = np.asarray(design, dtype=float)
    basis = np.zeros((x.shape[0], 0))
    keep = np.zeros(x.shape[1], dtype=bool)
    for j in range(x.shape[1]):
        col, norm = x[:, j], float(np.linalg.norm(x[:, j]))
        for _ in range(2):  # Gram-Schmidt twice: orthogonal to working precision
            col = col - basis @ (basis.T @ col)
        rest = float(np.linalg.norm(col))
        if norm > 0 and rest > tol * norm:
            basis = np.column_stack([basis, col / rest])
            keep[j] = True
    return keep


def propensity_design(covariates: pd.DataFrame) -> tuple[np.ndarray, dict[str, str]]:
    """The propensity model's design matrix (a constant, then the matching variables it can use) and
    the matching variables left out, each with the reason in words.

    Missing values are replaced by the column mean. A variable is left out when it does not vary
    (or is missing everywhere), or when it is a linear combination of the constant and the variables
    before it, for instance total violence equal to partner violence in a dataset without children:
    the model then has no unique estimate, and R's ``glm`` (MatchIt's default) reports such a
    coefficient as ``NA`` and predicts without it (:func:`independent_columns`)."""
    x = covariates[list(MATCHING_COVARIATES)].astype(float)
    x = x.fillna(x.mean())
    varies = (x.std() > 0).to_numpy()
    left_out = {name: NO_VARIATION for name in x.columns[~varies]}
    x = x.loc[:, varies]
    design = np.column_stack([np.ones(len(x)), x.to_numpy()])
    keep = independent_columns(design)
    left_out.update({name: ALIASED for name in x.columns[~keep[1:]]})
    return design[:, keep], {name: left_out[name] for name in MATCHING_COVARIATES if name in left_out}


def propensity(covariates: pd.DataFrame, *, treated: str = "VV") -> pd.Series:
    """Logit of the propensity score of being in the ``treated`` group, by logistic regression on the
    matching variables that :func:`propensity_design` keeps.

    With very few treated families the groups can be perfectly separated; statsmodels then warns
    and the logits grow large (``exp`` overflows on the way; with two families the residual degrees
    of freedom are 0 and the scale divides by zero). The matching still runs and its
    balance table shows how well it worked, so these warnings (which would print the library's
    path into a chapter) are not shown."""
    return _propensity_fit(covariates, treated)[0]


def _propensity_fit(covariates: pd.DataFrame, treated: str) -> tuple[pd.Series, dict[str, str]]:
    """:func:`propensity` and the matching variables its model left out (:func:`propensity_design`)."""
    import warnings

    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    design, left_out = propensity_design(covariates)
    y = (covariates["group"] == treated).astype(float)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = sm.GLM(y.to_numpy(), design, family=sm.families.Binomial()).fit()
    return pd.Series(design @ fit.params, index=covariates.index, name="logit_ps"), left_out


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
    left_out: dict[str, str] = field(default_factory=dict)  # matching variable -> why the propensity model left it out


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
    logit, left_out = _propensity_fit(cov, treated)
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
    return Matching(cov, out_pairs, pd.DataFrame(rows), caliper, left_out)


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
