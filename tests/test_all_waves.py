"""The sensitivity chapter: all-waves models and the follow-up rules side by side.

References: the fixed effects and their covariance come from statsmodels (MixedLM, REML; GEE with
an exchangeable working correlation), fitted here directly on the same data; the joint Wald test of
the wave x group terms is recomputed by hand as b' V^-1 b with 2 degrees of freedom (scipy chi2).
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats as sps
from statsmodels.genmod.cov_struct import Exchangeable
from statsmodels.genmod.families import Binomial

from veiligverder import analysis, measures, sensitivity


def three_waves(seed: int, *, interaction: float, n: int = 60, binary: bool = False) -> pd.DataFrame:
    """Units with a random intercept observed at T0-T2; VV changes by ``interaction`` more per wave."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(2 * n):
        group = "VV" if i < n else "control"
        u = rng.normal(0, 1)
        for k, wave in enumerate(("T0", "T1", "T2")):
            if k > 0 and rng.random() < 0.15:  # some attrition
                continue
            eta = u + 0.3 * k * (-1) + (interaction * k if group == "VV" else 0.0)
            value = float(rng.random() < 1 / (1 + np.exp(-eta))) if binary else eta + rng.normal(0, 1)
            rows.append({"unit_id": f"u{i}", "group": group, "wave": wave, "value": value})
    return pd.DataFrame(rows)


def _hand_wald(params: pd.Series, cov: pd.DataFrame) -> tuple[float, float]:
    terms = [t for t in params.index if ":" in t]
    b, v = params[terms].to_numpy(), cov.loc[terms, terms].to_numpy()
    stat = float(b @ np.linalg.inv(v) @ b)
    return stat, float(sps.chi2.sf(stat, 2))


def test_mixed_model_matches_statsmodels_and_hand_wald():
    data = three_waves(1, interaction=-0.8)
    fit = sensitivity.fit_all_waves(data, binary=False)
    d = data.sort_values(["unit_id", "wave"]).reset_index(drop=True)
    ref = smf.mixedlm(sensitivity.FORMULA, d, groups=d["unit_id"]).fit(reml=True)
    fe = ref.fe_params
    got = fit["coefficients"].set_index("term")["estimate"].to_numpy()
    np.testing.assert_allclose(got, fe.to_numpy(), rtol=1e-6)
    stat, p = _hand_wald(fe, ref.cov_params().loc[fe.index, fe.index])
    assert fit["wald"] == pytest.approx(stat, rel=1e-6) and fit["p"] == pytest.approx(p, rel=1e-6)
    assert fit["df"] == 2 and fit["model"] == "MixedLM" and fit["converged"]
    assert fit["n_units"] == 120 and fit["n_obs"] == len(data)
    assert fit["p"] < 1e-4  # a true interaction of -0.8 per wave is found
    # the T2 x VV term estimates twice the per-wave difference, within sampling error
    t2 = fit["coefficients"].set_index("term").filter(like="T2", axis=0).filter(like=":", axis=0)
    assert t2["estimate"].iloc[0] == pytest.approx(-1.6, abs=3 * t2["se"].iloc[0])


def test_no_interaction_is_not_found():
    fit = sensitivity.fit_all_waves(three_waves(2, interaction=0.0), binary=False)
    assert fit["p"] > 0.05


def test_gee_logistic_matches_statsmodels_and_hand_wald():
    data = three_waves(3, interaction=-1.0, n=150, binary=True)
    fit = sensitivity.fit_all_waves(data, binary=True)
    d = data.sort_values(["unit_id", "wave"]).reset_index(drop=True)
    ref = smf.gee(sensitivity.FORMULA, groups="unit_id", data=d, family=Binomial(), cov_struct=Exchangeable()).fit()
    np.testing.assert_allclose(fit["coefficients"]["estimate"].to_numpy(), ref.params.to_numpy(), rtol=1e-6)
    stat, p = _hand_wald(ref.params, ref.cov_params())
    assert fit["wald"] == pytest.approx(stat, rel=1e-6) and fit["p"] == pytest.approx(p, rel=1e-6)
    assert fit["model"] == "GEE logistic" and fit["p"] < 0.01


def test_one_group_only_is_refused_with_the_reason():
    data = three_waves(4, interaction=0.0)
    with pytest.raises(ValueError, match="needs both groups"):
        sensitivity.fit_all_waves(data[data["group"] == "VV"], binary=False)


def test_all_waves_keeps_the_study_groups_and_observed_values():
    parents = pd.DataFrame({
        "parent_id": ["a", "a", "a", "b", "b", "c"], "group": ["VV", "VV", "VV", "control", "control", "cohort"],
        "wave": ["T0", "T1", "T2", "T0", "T2", "T0"], "safety_grade": [5.0, np.nan, 7.0, 6.0, 6.5, 9.0],
    })
    got = sensitivity.all_waves(types.SimpleNamespace(parents=parents), "safety_grade")
    assert got.to_dict("list") == {"unit_id": ["a", "a", "b", "b"], "group": ["VV", "VV", "control", "control"],
                                   "wave": ["T0", "T2", "T0", "T2"], "value": [5.0, 7.0, 6.0, 6.5]}


@pytest.fixture(scope="module")
def twin_measures(synthetic_dataset):
    return measures.derive(synthetic_dataset)


def test_follow_up_rules_table_on_the_twin(twin_measures):
    outcomes = ["violence_total", "parent_trauma"]
    table, results = sensitivity.follow_up_rules_table(twin_measures, outcomes)
    assert list(table.index) == outcomes
    for outcome in outcomes:
        latest = analysis.analyse(twin_measures, outcome, follow_up_rule="latest").results
        assert results[f"sensitivity.{outcome}.latest.interaction_p"] == latest[f"{outcome}.anova.interaction.p"]
        t1 = analysis.analyse(twin_measures, outcome, follow_up_rule="T1").results
        assert results[f"sensitivity.{outcome}.T1.interaction_np2"] == t1[f"{outcome}.anova.interaction.np2"]
    assert set(table["rules agree"]) <= {"yes", "no"}


def test_all_waves_table_on_the_twin(twin_measures):
    table, results = sensitivity.all_waves_table(twin_measures, ["violence_partner", "low_income"])
    assert table.loc["violence_partner", "model"] == "MixedLM"
    assert table.loc["low_income", "model"] == "GEE logistic"
    for o in ("violence_partner", "low_income"):
        assert 0 <= results[f"sensitivity.{o}.allwaves.p"] <= 1
        assert results[f"sensitivity.{o}.allwaves.n_obs"] >= 2 * analysis.analyse(twin_measures, o).n("VV")
