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
    """Joint Wald chi-square of the wave x group terms, b' V^-1 b computed as |L^-1 b|^2 with the
    Cholesky factor L of V: never negative, which a general solve of a nearly singular V can be.
    A V that is not positive definite has no test (:class:`NotEstimable`)."""
    from scipy.linalg import solve_triangular

    terms = [t for t in params.index if ":" in t]
    try:
        chol = np.linalg.cholesky(cov.loc[terms, terms].to_numpy())
    except np.linalg.LinAlgError:
        raise NotEstimable("no usable covariance of the wave x group terms (too few units)") from None
    z = solve_triangular(chol, params[terms].to_numpy(), lower=True)
    stat = float(z @ z)
    return stat, len(terms), float(sps.chi2.sf(stat, len(terms)))


FORMULA = "value ~ C(wave, Treatment('T0')) * C(group, Treatment('control'))"


class NotEstimable(ValueError):
    """The model has no unique estimate on these data; the message says why, in words for a reader."""


def uniform_cells(data: pd.DataFrame) -> list[str]:
    """The wave x group cells (``'VV at T2'``) in which every observation has the same value. In a
    logistic model such a cell's logit is infinite (separation): the fit runs off and its Wald test
    means nothing. On protected data a uniform cell is also a group disclosure."""
    spread = data.groupby(["wave", "group"], observed=True)["value"].nunique()
    return [f"{group} at {wave}" for (wave, group), k in spread.items() if k == 1 and group in GROUPS]


def _check_cells(data: pd.DataFrame, *, binary: bool) -> None:
    """``value ~ wave * group`` has one coefficient per wave x group cell: each cell needs an
    observation (an empty one, say no VV family at T2 yet, makes the design singular), there must be
    more observations than coefficients (the mixed model's variances need more:
    :func:`_check_variances`), and for a 0/1 outcome no cell may be all 0 or all 1."""
    waves = sorted(set(data["wave"]))
    counts = data.groupby(["wave", "group"]).size()
    empty = [f"{group} at {wave}" for wave in waves for group in GROUPS if counts.get((wave, group), 0) == 0]
    if empty:
        raise NotEstimable(f"no observation of {', '.join(empty)}")
    coefficients = len(waves) * len(GROUPS)
    if len(data) <= coefficients:
        raise NotEstimable(f"{len(data)} observations for the {coefficients} coefficients of the model")
    if binary and (uniform := uniform_cells(data)):
        # the reader's table explains why that leaves the logistic model without a finite estimate
        raise NotEstimable(f"the same value for every unit of {', '.join(uniform)}")


def _check_variances(exog: np.ndarray, units: pd.Series, value: pd.Series) -> None:
    """The mixed model's two variances each need data left over once the fixed effects are fitted.
    The residual variance is estimated from the variation within units, with n - n_units - r_w
    degrees of freedom (r_w: the rank of the design centred within units, the effects estimated
    within units). The units' variance is estimated from the variation between units, with
    n_units - (rank of the design - r_w) degrees of freedom (the effects only differences between
    units can estimate, such as group). Either at zero (say, one VV family measured at every wave
    and the other units once) leaves REML at the edge, with standard errors in the millions.
    Counted by rank with unit means, not unit dummies (large data)."""
    if not value.var() > 0:
        raise NotEstimable("the outcome has the same value in every observation")
    x = pd.DataFrame(exog, index=units.index)
    means = x.groupby(units.to_numpy()).transform("mean")
    n_units = int(units.nunique())
    rank_within = int(np.linalg.matrix_rank((x - means).to_numpy()))
    within = len(x) - n_units - rank_within
    between = n_units - (int(np.linalg.matrix_rank(x.to_numpy())) - rank_within)
    if within < 1:
        raise NotEstimable("too few repeated measurements of the same units")
    if between < 1:
        raise NotEstimable("too few units to estimate how much units differ")


def _check_covariance(cov: pd.DataFrame) -> None:
    """The estimates' covariance must be finite with every variance positive; a fit at the edge of
    what few units allow can return one that is not (a negative variance)."""
    v = cov.to_numpy()
    if not np.isfinite(v).all() or (np.diag(v) <= 0).any():
        raise NotEstimable("no usable standard errors (too few units)")


def fit_all_waves(data: pd.DataFrame, *, binary: bool) -> dict:
    """Fit the all-waves model of one outcome; returns coefficients and the interaction test.

    Returns
    -------
    dict
        ``coefficients`` (DataFrame: term, estimate, se, p), ``wald`` (chi-square), ``df``, ``p``,
        ``n_units``, ``n_obs``, ``model`` ('MixedLM' or 'GEE logistic'), ``converged``.

    Raises
    ------
    NotEstimable
        (a ValueError) Without both groups, or without T0 and a later wave; and when the data leave
        the model without a unique, finite estimate or without a
        usable covariance of the estimates: an empty wave x group cell, no more observations than
        coefficients, a 0/1 outcome constant within a cell, too little data for the mixed model's
        two variances or a fit that leaves no residual, a singular or indefinite covariance.
        Its message says why, for the reader. (A fit statsmodels did not see converge is returned
        with ``converged`` False; :func:`veiligverder.analysis.sensitivity.all_waves_table` does
        not report it.)
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
        have = " and ".join(sorted(present["group"])) or "no group"
        raise NotEstimable(f"needs both groups and T0 plus a later wave; the data have {have} at "
                           f"{' and '.join(sorted(present['wave'])) or 'no wave'}")
    _check_cells(data, binary=binary)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if binary:
                model = smf.gee(FORMULA, groups="unit_id", data=data, family=Binomial(), cov_struct=Exchangeable())
                fit = model.fit()
                converged = bool(getattr(fit, "converged", True))
                name = "GEE logistic"
            else:
                model = smf.mixedlm(FORMULA, data, groups=data["unit_id"])
                _check_variances(model.exog, data["unit_id"], data["value"])
                fit = model.fit(reml=True)
                if not fit.scale > 1e-6 * data["value"].var():  # residual SD under 0.1 % of the SD: a fit to rounding
                    raise NotEstimable("an exact fit, with no variation left within units")
                converged = bool(fit.converged)
                name = "MixedLM"
        except np.linalg.LinAlgError:
            raise NotEstimable("a singular matrix in the fit (too few units)") from None
    params = fit.params.drop(labels=[p for p in fit.params.index if p == "Group Var"], errors="ignore")
    cov = fit.cov_params().loc[params.index, params.index]
    _check_covariance(cov)
    stat, df, p = _interaction_wald(params, cov)
    coefs = pd.DataFrame({"term": params.index, "estimate": params.to_numpy(),
                          "se": np.sqrt(np.diag(cov)), "p": fit.pvalues[params.index].to_numpy()})
    coefs["term"] = coefs["term"].str.replace(r"C\((\w+), Treatment\('\w+'\)\)\[T\.(\w+)\]", r"\1=\2", regex=True)
    return {"coefficients": coefs, "wald": stat, "df": df, "p": p, "n_units": int(data["unit_id"].nunique()),
            "n_obs": int(len(data)), "model": name, "converged": converged}
