"""Validation of ``veiligverder.analysis.sensitivity``: all-waves models and the follow-up rules.

Sources
-------
- Fixed effects and their covariance: statsmodels' own ``smf.mixedlm`` (REML, random intercept per
  unit) and ``smf.gee`` (logistic, exchangeable working correlation, robust covariance), fitted here
  directly on the same data.
- The joint Wald test of the q = 2 wave x group terms: W = b' V^-1 b, referred to chi-square with q
  degrees of freedom (e.g. Agresti, *Categorical Data Analysis*, sec. 1.3.3), computed by hand with
  numpy and ``scipy.stats.chi2.sf``.
- Simulated data with known coefficients: recovery within 3 standard errors.
- Two-wave analysis: :func:`veiligverder.analysis.analyse`, whose interaction F is the squared pooled
  t on change scores (``scipy.stats.ttest_ind``), as tests/test_power.py checks.
"""

from __future__ import annotations

import types
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats as sps
from statsmodels.genmod.cov_struct import Exchangeable
from statsmodels.genmod.families import Binomial

from veiligverder import analysis, design, stats
from veiligverder.analysis import sensitivity
from veiligverder.stats import models

WAVES = ("T0", "T1", "T2")
INTERCEPT, SLOPE_T1, SLOPE_T2, GROUP_VV = 10.0, -1.0, -1.5, 0.5
TERMS = ["Intercept", "wave=T1", "wave=T2", "group=VV", "wave=T1:group=VV", "wave=T2:group=VV"]
INTERACTION_TERMS = [t for t in TERMS if ":" in t]


def simulate(seed: int, *, inter: tuple[float, float], n: int = 80, binary: bool = False,
             dropout: float = 0.15) -> pd.DataFrame:
    """Three waves per unit, a random intercept (SD 1), residual SD 1 and some dropout after T0.

    ``inter`` are the true wave x group coefficients for T1 and T2 (VV relative to control); for
    0/1 data the linear predictor (centred) is on the logit scale.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(2 * n):
        group = "VV" if i % 2 == 0 else "control"
        u = rng.normal()
        for k, wave in enumerate(WAVES):
            if k > 0 and rng.random() < dropout:
                continue
            eta = (GROUP_VV if group == "VV" else 0.0) + (0.0, SLOPE_T1, SLOPE_T2)[k]
            if group == "VV" and k > 0:
                eta += inter[k - 1]
            if binary:
                value = float(rng.random() < 1 / (1 + np.exp(-(eta + 0.8 * u))))
            else:
                value = INTERCEPT + eta + u + rng.normal()
            rows.append({"unit_id": f"u{i:03d}", "group": group, "wave": wave, "value": value})
    return pd.DataFrame(rows)


def hand_wald(params: pd.Series, cov: pd.DataFrame) -> tuple[float, float]:
    """b' V^-1 b of the two interaction terms of a statsmodels fit, with its chi-square(2) p value."""
    names = [t for t in params.index if ":" in t]
    assert len(names) == 2
    b = params[names].to_numpy()
    v = cov.loc[names, names].to_numpy()
    w = float(b @ np.linalg.inv(v) @ b)
    return w, float(sps.chi2.sf(w, 2))


def direct_mixedlm(data: pd.DataFrame):
    d = data.sort_values(["unit_id", "wave"]).reset_index(drop=True)
    return smf.mixedlm(models.FORMULA, d, groups=d["unit_id"]).fit(reml=True)


def direct_gee(data: pd.DataFrame):
    d = data.sort_values(["unit_id", "wave"]).reset_index(drop=True)
    return smf.gee(models.FORMULA, groups="unit_id", data=d, family=Binomial(), cov_struct=Exchangeable()).fit()


@pytest.fixture(scope="module")
def continuous_effect() -> pd.DataFrame:
    return simulate(101, inter=(1.0, 2.0))


@pytest.fixture(scope="module")
def continuous_null() -> pd.DataFrame:
    return simulate(102, inter=(0.0, 0.0))


# --------------------------------------------------------------------------------------------
# continuous outcomes: MixedLM


def test_mixedlm_recovers_a_known_interaction(continuous_effect):
    fit = models.fit_all_waves(continuous_effect, binary=False)
    assert fit["model"] == "MixedLM" and fit["converged"]
    coefs = fit["coefficients"].set_index("term")
    assert list(coefs.index) == TERMS
    truth = {"Intercept": INTERCEPT, "wave=T1": SLOPE_T1, "wave=T2": SLOPE_T2, "group=VV": GROUP_VV,
             "wave=T1:group=VV": 1.0, "wave=T2:group=VV": 2.0}
    for term, true in truth.items():
        est, se = coefs.loc[term, ["estimate", "se"]]
        assert abs(est - true) < 3 * se, (term, est, se)
    assert coefs.loc["wave=T2:group=VV", "p"] < 1e-6
    assert fit["df"] == 2
    assert fit["p"] < 1e-10
    assert fit["n_units"] == continuous_effect["unit_id"].nunique() == 160
    assert fit["n_obs"] == len(continuous_effect)


def test_mixedlm_without_interaction_is_not_significant(continuous_null):
    fit = models.fit_all_waves(continuous_null, binary=False)
    assert fit["p"] > 0.05  # seed 102: p = 0.37 (checked); a true null should not look tiny
    coefs = fit["coefficients"].set_index("term")
    for term in INTERACTION_TERMS:
        assert abs(coefs.loc[term, "estimate"]) < 3 * coefs.loc[term, "se"]


@pytest.mark.parametrize("which", ["continuous_effect", "continuous_null"])
def test_mixedlm_equals_statsmodels_and_the_hand_wald(which, request):
    data = request.getfixturevalue(which)
    fit = models.fit_all_waves(data, binary=False)
    ref = direct_mixedlm(data)
    fe = ref.fe_params
    coefs = fit["coefficients"]
    np.testing.assert_allclose(coefs["estimate"].to_numpy(), fe.to_numpy(), rtol=0, atol=1e-6)
    cov = ref.cov_params().loc[fe.index, fe.index]
    np.testing.assert_allclose(coefs["se"].to_numpy(), np.sqrt(np.diag(cov)), rtol=1e-6)
    np.testing.assert_allclose(coefs["p"].to_numpy(), ref.pvalues[fe.index].to_numpy(), rtol=1e-5, atol=1e-12)
    w, p = hand_wald(fe, cov)
    assert fit["wald"] == pytest.approx(w, rel=1e-6)
    assert fit["p"] == pytest.approx(p, rel=1e-5, abs=1e-300)
    assert fit["df"] == 2


# --------------------------------------------------------------------------------------------
# 0/1 outcomes: GEE logistic


@pytest.fixture(scope="module")
def binary_effect() -> pd.DataFrame:
    return simulate(201, inter=(1.0, 1.5), n=150, binary=True)


@pytest.fixture(scope="module")
def binary_null() -> pd.DataFrame:
    return simulate(202, inter=(0.0, 0.0), n=150, binary=True)


@pytest.mark.parametrize("which", ["binary_effect", "binary_null"])
def test_gee_equals_statsmodels_and_the_hand_wald(which, request):
    data = request.getfixturevalue(which)
    fit = models.fit_all_waves(data, binary=True)
    assert fit["model"] == "GEE logistic" and fit["converged"]
    ref = direct_gee(data)
    coefs = fit["coefficients"]
    assert list(coefs["term"]) == TERMS
    np.testing.assert_allclose(coefs["estimate"].to_numpy(), ref.params.to_numpy(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(coefs["se"].to_numpy(), ref.bse.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(coefs["p"].to_numpy(), ref.pvalues.to_numpy(), rtol=1e-8, atol=1e-300)
    w, p = hand_wald(ref.params, ref.cov_params())
    assert fit["wald"] == pytest.approx(w, rel=1e-8)
    assert fit["p"] == pytest.approx(p, rel=1e-8, abs=1e-300)
    assert fit["df"] == 2
    assert fit["n_units"] == data["unit_id"].nunique()
    assert fit["n_obs"] == len(data)


def test_gee_detects_a_known_interaction_and_not_a_null(binary_effect, binary_null):
    eff = models.fit_all_waves(binary_effect, binary=True)
    coefs = eff["coefficients"].set_index("term")
    assert eff["p"] < 1e-3  # seed 201: p = 9e-5 (checked)
    # marginal (population-averaged) log odds ratios are attenuated by the random intercept, so
    # check the sign and that they are not larger than the conditional truth plus 3 SE
    for term, true in (("wave=T1:group=VV", 1.0), ("wave=T2:group=VV", 1.5)):
        est, se = coefs.loc[term, ["estimate", "se"]]
        assert 0 < est < true + 3 * se
    null = models.fit_all_waves(binary_null, binary=True)
    assert null["p"] > 0.05  # seed 202: p = 0.32 (checked)


def test_gee_reports_statsmodels_convergence(binary_null, monkeypatch):
    """``converged`` comes from the GEE results, not a constant."""
    from statsmodels.genmod.generalized_estimating_equations import GEE

    original = GEE.fit

    def not_converged(self, *args, **kwargs):
        res = original(self, *args, **kwargs)
        res.converged = False
        return res

    monkeypatch.setattr(GEE, "fit", not_converged)
    assert models.fit_all_waves(binary_null, binary=True)["converged"] is False


# --------------------------------------------------------------------------------------------
# input handling


def test_categorical_group_with_an_unused_level_fits_as_plain_labels(continuous_effect):
    """After rematching the group column is categorical with an empty 'cohort' level; the model
    must equal the one on plain labels (an all-zero dummy would make the design singular)."""
    cat = continuous_effect.assign(
        group=pd.Categorical(continuous_effect["group"], categories=["VV", "control", "cohort"]),
        wave=pd.Categorical(continuous_effect["wave"], categories=list(WAVES)))
    plain = models.fit_all_waves(continuous_effect, binary=False)
    got = models.fit_all_waves(cat, binary=False)
    pd.testing.assert_frame_equal(got["coefficients"], plain["coefficients"])
    assert got["wald"] == pytest.approx(plain["wald"], rel=1e-12)


def test_fit_all_waves_needs_both_groups_and_a_later_wave(continuous_effect):
    with pytest.raises(models.NotEstimable, match="^needs both groups and T0 plus a later wave; the data have VV at T0 "
                                                  "and T1 and T2$"):
        models.fit_all_waves(continuous_effect[continuous_effect["group"] == "VV"], binary=False)
    with pytest.raises(ValueError, match="both groups"):
        models.fit_all_waves(continuous_effect[continuous_effect["group"] == "VV"], binary=False)
    with pytest.raises(ValueError, match="T0 plus a later wave"):
        models.fit_all_waves(continuous_effect[continuous_effect["wave"] == "T0"], binary=False)
    with pytest.raises(ValueError, match="T0"):
        models.fit_all_waves(continuous_effect[continuous_effect["wave"] != "T0"], binary=False)


def test_all_waves_selects_vv_and_control_observations():
    parents = pd.DataFrame({
        "parent_id": ["P1", "P1", "P1", "P2", "P2", "P3", "P3", "P4"],
        "family_id": ["F1", "F1", "F1", "F2", "F2", "F3", "F3", "F4"],
        "group": ["VV", "VV", "VV", "control", "control", "cohort", "cohort", "VV"],
        "wave": ["T0", "T1", "T2", "T0", "T2", "T0", "T1", "T0"],
        "violence_partner": [4.0, np.nan, 1.0, 2.0, 3.0, 9.0, 9.0, np.nan],
        "low_income": [1.0, 1.0, 0.0, 0.0, np.nan, 1.0, 0.0, 1.0],
    })
    children = pd.DataFrame({
        "child_id": ["C1", "C1", "C2"], "family_id": ["F1", "F1", "F3"],
        "group": ["VV", "VV", "cohort"], "wave": ["T0", "T1", "T0"], "child_trauma": [1.0, 0.0, 1.0],
    })
    families = pd.DataFrame({"family_id": ["F1"], "group": ["control"], "wave": ["T0"], "violence_total": [5.0]})
    m = types.SimpleNamespace(parents=parents, children=children, families=families)
    assert design.OUTCOMES["violence_partner"]["frame"] == "parents"

    got = sensitivity.all_waves(m, "violence_partner")
    expected = pd.DataFrame({"unit_id": ["P1", "P1", "P2", "P2"], "group": ["VV", "VV", "control", "control"],
                             "wave": ["T0", "T2", "T0", "T2"], "value": [4.0, 1.0, 2.0, 3.0]})
    pd.testing.assert_frame_equal(got, expected)

    got = sensitivity.all_waves(m, "low_income")
    assert list(got["unit_id"]) == ["P1", "P1", "P1", "P2", "P4"]
    assert list(got["value"]) == [1.0, 1.0, 0.0, 0.0, 1.0]

    got = sensitivity.all_waves(m, "child_trauma")  # the children frame, keyed by child_id
    pd.testing.assert_frame_equal(got, pd.DataFrame({"unit_id": ["C1", "C1"], "group": ["VV", "VV"],
                                                     "wave": ["T0", "T1"], "value": [1.0, 0.0]}))
    got = sensitivity.all_waves(m, "violence_total")  # the families frame, keyed by family_id
    assert list(got.columns) == ["unit_id", "group", "wave", "value"]
    assert got.iloc[0].tolist() == ["F1", "control", "T0", 5.0]


# --------------------------------------------------------------------------------------------
# the synthetic twin: follow-up rules and the all-waves table


OUTCOMES = ["violence_partner", "low_income", "parenting_stress"]


@pytest.fixture(scope="module")
def twin_measures(synthetic_dataset):
    from veiligverder import measures

    return measures.derive(synthetic_dataset)


@pytest.fixture(scope="module")
def rules(twin_measures):
    return sensitivity.follow_up_rules_table(twin_measures, OUTCOMES)


def test_follow_up_rules_table_shape(rules):
    table, results = rules
    assert table.index.name == "outcome"
    assert list(table.index) == OUTCOMES  # one row per outcome ...
    assert list(table.columns) == [c for r in sensitivity.RULES  # ... and two columns per rule
                                   for c in (f"{r}: n", f"{r}: group x time")] + ["rules agree"]
    assert set(results) == {f"sensitivity.{o}.{r}.{k}" for o in OUTCOMES for r in sensitivity.RULES
                            for k in ("interaction_p", "interaction_np2")}
    for o in OUTCOMES:
        words = {table.loc[o, f"{r}: group x time"] for r in sensitivity.RULES}
        assert table.loc[o, "rules agree"] == ("yes" if len(words) == 1 else "no")


@pytest.mark.parametrize("rule", sensitivity.RULES)
def test_follow_up_rules_table_equals_analyse(rules, twin_measures, rule):
    table, results = rules
    for o in OUTCOMES:
        a = analysis.analyse(twin_measures, o, follow_up_rule=rule)
        p = a.results[f"{o}.anova.interaction.p"]
        np2 = a.results[f"{o}.anova.interaction.np2"]
        assert np.isfinite(p)  # these outcomes are estimable on the twin under every rule
        assert results[f"sensitivity.{o}.{rule}.interaction_p"] == p
        assert results[f"sensitivity.{o}.{rule}.interaction_np2"] == np2
        assert table.loc[o, f"{rule}: n"] == f"{a.results[f'{o}.n.VV']} / {a.results[f'{o}.n.control']}"
        assert table.loc[o, f"{rule}: group x time"] == stats.describe_effect(p, np2, kind="between")


def test_latest_rule_p_is_the_t_test_on_change_scores(rules, twin_measures):
    """Independent check of the 'latest' column: the interaction p equals scipy's pooled t-test on
    the change scores of the report's sample (T2 where present, else T1, minus T0)."""
    _, results = rules
    for o in OUTCOMES:
        frame = getattr(twin_measures, design.OUTCOMES[o]["frame"])
        unit = design.OUTCOMES[o]["unit"]
        wide = (frame.loc[frame["group"].isin(["VV", "control"]) & frame[o].notna()]
                .pivot_table(index=[unit, "group"], columns="wave", values=o, aggfunc="first")
                .reindex(columns=list(WAVES)))
        change = (wide["T2"].fillna(wide["T1"]) - wide["T0"]).dropna().reset_index()
        t = sps.ttest_ind(change.loc[change["group"] == "VV", 0], change.loc[change["group"] == "control", 0])
        assert results[f"sensitivity.{o}.latest.interaction_p"] == pytest.approx(t.pvalue, rel=1e-8)


def test_all_waves_table_on_the_twin(twin_measures):
    table, results = sensitivity.all_waves_table(twin_measures, ["violence_partner", "low_income"])
    for o, binary in (("violence_partner", False), ("low_income", True)):
        fit = models.fit_all_waves(sensitivity.all_waves(twin_measures, o), binary=binary)
        assert table.loc[o, "model"] == ("GEE logistic" if binary else "MixedLM")
        assert table.loc[o, "wave x group"] == f"χ²(2) = {fit['wald']:.2f}, p = {fit['p']:.3f}"
        assert results[f"sensitivity.{o}.allwaves.p"] == fit["p"]
        assert results[f"sensitivity.{o}.allwaves.n_obs"] == fit["n_obs"]
        p2 = analysis.analyse(twin_measures, o).results[f"{o}.anova.interaction.p"]
        assert table.loc[o, "two-wave ANOVA (latest), group x time"] == f"p = {p2:.3f}"
        assert table.loc[o, "same conclusion"] == ("yes" if (p2 < 0.05) == (fit["p"] < 0.05) else "no")


def test_all_waves_table_withholds_models_resting_on_small_cells(twin_measures):
    """On real data a wave x group cell of fewer units than the threshold withholds the model. The
    outcome's values are made distinct, so that only the size of the cells counts: then the group
    disclosure rule (``dominated``: all but fewer than t units share a value, the test after the
    next) withholds a cell of exactly t units too (t - 1 others), and the model is shown from a
    threshold of one less than the smallest cell."""
    parents = twin_measures.parents.copy()
    parents["violence_partner"] += np.arange(len(parents)) * 1e-3
    twin_measures = types.SimpleNamespace(parents=parents, children=twin_measures.children,
                                          families=twin_measures.families)
    data = sensitivity.all_waves(twin_measures, "violence_partner")
    smallest = int(data.groupby(["group", "wave"])["unit_id"].nunique().min())
    table, results = sensitivity.all_waves_table(twin_measures, ["violence_partner"], threshold=smallest + 1)
    assert table.loc["violence_partner", "model"] == "withheld (disclosure control)" and results == {}
    table, results = sensitivity.all_waves_table(twin_measures, ["violence_partner"], threshold=smallest)
    assert table.loc["violence_partner", "model"] == "withheld (disclosure control)" and results == {}
    table, results = sensitivity.all_waves_table(twin_measures, ["violence_partner"], threshold=smallest - 1)
    assert table.loc["violence_partner", "model"] == "MixedLM" and "sensitivity.violence_partner.allwaves.p" in results
    table, results = sensitivity.all_waves_table(twin_measures, ["violence_partner"], withheld=["violence_partner"])
    assert results == {}


# --------------------------------------------------------------------------------------------
# data the model cannot support: 'not estimable' with the reason, never a number


def test_an_empty_wave_x_group_cell_is_not_estimable(continuous_effect):
    """No VV observation at T2 yet (an interim dataset): the T2 x VV coefficient has no data."""
    interim = continuous_effect[~((continuous_effect["group"] == "VV") & (continuous_effect["wave"] == "T2"))]
    with pytest.raises(models.NotEstimable, match="^no observation of VV at T2$"):
        models.fit_all_waves(interim, binary=False)


def test_data_too_thin_for_the_mixed_model_are_not_estimable_with_the_reason():
    """Hand-built from units a (VV) and b (control), measured at every wave, plus units measured once
    or twice. Degrees of freedom for the two variances (see ``models._check_variances``): within
    units n - n_units - r_w, between units n_units - (rank X - r_w), where r_w = 4 (the wave and
    wave x group terms) and rank X = 6.

    - six observations: no more than the six coefficients;
    - seven (c: VV at T0 only): within 7 - 3 - 4 = 0 (statsmodels returned standard errors of
      1.2e7 and W = 0.98);
    - eight (d: control at T0 only): within 8 - 4 - 4 = 0;
    - nine (c also at T1, changing by as much as a did): within 1, but the fit leaves no residual;
    - ten (c at T1 changing otherwise, d at T1 too): within 2, between 4 - 2 = 2: estimable,
      converged, as statsmodels fits it directly;
    - the 0/1 version of six observations: no more than the GEE's six coefficients."""
    one_each = pd.DataFrame({"unit_id": ["a", "a", "a", "b", "b", "b"], "group": ["VV"] * 3 + ["control"] * 3,
                             "wave": list(WAVES) * 2, "value": [1.0, 2.0, 4.0, 2.0, 2.0, 3.0]})
    seven = pd.concat([one_each, one_each.iloc[[0]].assign(unit_id="c", value=0.0)])
    eight = pd.concat([seven, one_each.iloc[[3]].assign(unit_id="d", value=1.0)])
    nine = pd.concat([eight, one_each.iloc[[1]].assign(unit_id="c", value=1.0)])
    ten = pd.concat([eight, one_each.iloc[[1]].assign(unit_id="c", value=3.0),
                     one_each.iloc[[4]].assign(unit_id="d", value=1.5)])
    with pytest.raises(models.NotEstimable, match="^6 observations for the 6 coefficients of the model$"):
        models.fit_all_waves(one_each, binary=False)
    for data in (seven, eight):
        with pytest.raises(models.NotEstimable, match="^too few repeated measurements of the same units$"):
            models.fit_all_waves(data, binary=False)
    with pytest.raises(models.NotEstimable, match="^an exact fit, with no variation left within units$"):
        models.fit_all_waves(nine, binary=False)
    fit = models.fit_all_waves(ten, binary=False)
    with warnings.catch_warnings():  # statsmodels retries another optimiser and notes the boundary
        warnings.simplefilter("ignore")
        direct = direct_mixedlm(ten)
    assert fit["converged"] and direct.converged
    np.testing.assert_allclose(fit["coefficients"]["estimate"], direct.fe_params.to_numpy(), rtol=1e-8)
    assert fit["wald"] == pytest.approx(hand_wald(direct.fe_params, direct.cov_params())[0], rel=1e-8)
    assert fit["wald"] == pytest.approx(4.408, abs=5e-4) and (fit["coefficients"]["se"] < 1.5).all()
    with pytest.raises(models.NotEstimable, match="^6 observations for the 6 coefficients of the model$"):
        models.fit_all_waves(one_each.assign(value=[0.0, 1.0, 1.0, 1.0, 0.0, 1.0]), binary=True)


def test_too_few_units_for_the_units_variance_is_not_estimable():
    """Two units, each at every wave, plus nothing else: between-units 2 - (6 - 4) = 0 degrees of
    freedom, so how much units differ cannot be told from the group difference."""
    two = pd.DataFrame({"unit_id": ["a"] * 3 + ["b"] * 3 + ["a"] * 3 + ["b"] * 3,
                        "group": ["VV"] * 3 + ["control"] * 3 + ["VV"] * 3 + ["control"] * 3,
                        "wave": list(WAVES) * 4, "value": [1.0, 2.0, 4.0, 2.0, 2.0, 3.0, 1.5, 2.5, 3.0, 2.5, 1.0, 3.5]})
    with pytest.raises(models.NotEstimable, match="^too few units to estimate how much units differ$"):
        models.fit_all_waves(two, binary=False)
    with pytest.raises(models.NotEstimable, match="^the outcome has the same value in every observation$"):
        models.fit_all_waves(two.assign(value=2.0), binary=False)


def test_a_binary_outcome_constant_in_a_cell_is_not_estimable(binary_effect):
    """Every control unit 1 at T0: the cell's logit is infinite; GEE used to run off to estimates
    near 33 with standard errors near 2e7, and on few units a Wald statistic below zero."""
    data = binary_effect.copy()
    data.loc[(data["group"] == "control") & (data["wave"] == "T0"), "value"] = 1.0
    assert models.uniform_cells(data) == ["control at T0"]
    with pytest.raises(models.NotEstimable, match="^the same value for every unit of control at T0$"):
        models.fit_all_waves(data, binary=True)
    # a continuous outcome constant in a cell is fine: the mixed model has a finite estimate
    cont = data.assign(value=data["value"] * 3.0 + np.arange(len(data)) % 5 * (data["group"] == "VV"))
    assert np.isfinite(models.fit_all_waves(cont, binary=False)["wald"])


@pytest.mark.parametrize("seed", range(40))
def test_few_units_give_a_finite_nonnegative_wald_or_not_estimable(seed):
    """Three to six units with random answers, as an odd small site can give: every fit either says
    why it is not estimable or returns W >= 0 with a p value in [0, 1] (W = |L^-1 b|^2 can not be
    negative; before, a general solve of a nearly singular V gave W = -0.12)."""
    rng = np.random.default_rng(seed)
    rows = [(f"u{u}", "VV" if u % 2 == 0 else "control", w, float(rng.integers(0, 3)))
            for u in range(int(rng.integers(3, 7))) for w in WAVES if rng.random() < 0.8]
    data = pd.DataFrame(rows, columns=["unit_id", "group", "wave", "value"])
    for binary in (False, True):
        d = data.assign(value=(data["value"] > 0).astype(float)) if binary else data
        try:
            fit = models.fit_all_waves(d, binary=binary)
        except models.NotEstimable as exc:
            assert str(exc) and "Traceback" not in str(exc)
            continue
        except ValueError as exc:  # only the documented one: a group or T0 plus a later wave missing
            assert "needs both groups and T0 plus a later wave" in str(exc)
            continue
        assert fit["wald"] >= 0 and 0 <= fit["p"] <= 1, fit
        assert np.isfinite(fit["coefficients"][["estimate", "se"]].to_numpy()).all()


def test_all_waves_table_says_why_and_withholds_a_uniform_binary_cell_on_protected_data(twin_measures):
    """The reason reaches the table; with a threshold (real data) a 0/1 outcome that is the same for
    every unit of a cell is withheld instead, as a group disclosure, and nothing about it is named."""
    data = sensitivity.all_waves(twin_measures, "parent_trauma")
    assert models.uniform_cells(data)  # the twin has one: every VV parent at T2 shares the value
    table, results = sensitivity.all_waves_table(twin_measures, ["parent_trauma"])
    assert table.loc["parent_trauma", "wave x group"] == "not estimable: the same value for every unit of VV at T2"
    assert results == {"sensitivity.parent_trauma.allwaves.estimable": 0}
    table, results = sensitivity.all_waves_table(twin_measures, ["parent_trauma"], threshold=1)
    assert table.loc["parent_trauma", "model"] == "withheld (disclosure control)" and results == {}
    assert "same value" not in table.to_string() and "VV at T2" not in table.to_string()


def test_a_model_that_does_not_converge_is_not_shown_as_a_result(twin_measures, monkeypatch):
    """statsmodels gives up (``converged`` False): the table says so instead of printing a test."""
    real = sensitivity.fit_all_waves
    monkeypatch.setattr(sensitivity, "fit_all_waves", lambda data, binary: {**real(data, binary=binary),
                                                                            "converged": False})
    table, results = sensitivity.all_waves_table(twin_measures, ["violence_partner"])
    assert table.loc["violence_partner", "wave x group"] == "not estimable: the fit did not converge"
    assert table.loc["violence_partner", "model"] == "not estimable"
    assert results == {"sensitivity.violence_partner.allwaves.estimable": 0}


def test_all_waves_table_withholds_a_model_with_a_cell_dominated_by_one_value(twin_measures):
    """Group disclosure (appendix *Disclosure control*, rule 3): VV parents at T1 all answer 0 but
    two. With threshold 5 the model is withheld (its cell mean would tell each parent's answer);
    with threshold 2 two differing units are enough and the model is shown."""
    parents = twin_measures.parents.copy()
    cell = (parents["group"] == "VV") & (parents["wave"] == "T1") & parents["violence_partner"].notna()
    keep = parents.index[cell][:2]
    parents.loc[cell & ~parents.index.isin(keep), "violence_partner"] = 0.0
    parents.loc[keep, "violence_partner"] = [3.0, 7.0]
    measures = types.SimpleNamespace(parents=parents, children=twin_measures.children,
                                     families=twin_measures.families)
    table, results = sensitivity.all_waves_table(measures, ["violence_partner"], threshold=5)
    assert table.loc["violence_partner", "model"] == "withheld (disclosure control)" and results == {}
    table, results = sensitivity.all_waves_table(measures, ["violence_partner"], threshold=2)
    assert table.loc["violence_partner", "model"] == "MixedLM" and "sensitivity.violence_partner.allwaves.p" in results


def test_all_waves_table_takes_only_continuous_and_binary_outcomes(twin_measures):
    """A category (violence_category) or a grade asked at follow-up only (help_grade) has no
    all-waves model: asking for one is a mistake named as such, not a row saying 'too few units'."""
    for outcome, kind in (("violence_category", "category"), ("help_grade", "between")):
        with pytest.raises(ValueError, match=f"^'{outcome}' is a {kind} outcome; the all-waves models take"):
            sensitivity.all_waves_table(twin_measures, ["violence_partner", outcome])
