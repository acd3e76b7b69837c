"""Models on every wave: a linear mixed model (continuous outcomes) or a marginal logistic GEE
(0/1 outcomes), with the joint Wald test of the wave x group terms.

- continuous outcomes: random intercept per unit (``statsmodels`` MixedLM, REML),
  ``value ~ wave * group``;
- 0/1 outcomes: exchangeable working correlation within units (``statsmodels`` GEE, robust
  standard errors).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from veiligverder.vocab import BASELINE_WAVE, GROUPS


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
    if not set(GROUPS) <= present["group"] or BASELINE_WAVE not in present["wave"] or len(present["wave"]) < 2:
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
