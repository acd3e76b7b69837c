"""Every build parameter reaches its use (issue 12).

Unit level, in process on the synthetic twin: ``load_study`` keeps each parameter on the study, and
each test shows that the analysis that should use it gives a different, and the directly computed,
answer when it changes -- ``follow_up_rule`` (two-wave analyses, the all-waves comparison, power),
``keys_dir`` (scoring, the instruments table, the banner), ``cumulation_threshold`` (Tabel 4),
``disclosure_threshold`` (the gate) and ``seed`` (matching, power simulations).

End to end: the session's ``other_build`` runs with ``follow_up_rule: T1`` and a licensed keys folder
(tests/conftest.py); the last tests read its executed notebooks and results.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from support.attack_datasets import small_group_copy
from support.builds import OTHER_BUILD_KEYS, OTHER_BUILD_RULE, licensed_keys
from veiligverder import analysis, design
from veiligverder.analysis import baseline, sensitivity
from veiligverder.analysis.power import power_study
from veiligverder.instruments import instruments_table, short_names
from veiligverder.report import present
from veiligverder.report.results import clean_value
from veiligverder.stats import power

#: Outcomes of chapter 5 followed over two waves (the mixed ANOVA).
TWO_WAVE = [o for o, spec in design.OUTCOMES.items() if spec["kind"] in ("continuous", "binary")]

#: Chapters whose numbers rest on a two-wave analysis, so their banner names the follow-up rule:
#: chapter 5.2-5.5, the summary and the conclusion (drawn from chapter 5's results), power and the
#: sensitivity page. Chapter 3 (instruments, reliability at T0), 4 (qualitative), 5.1 (baseline
#: tables, matching) and 5.6 (help, each parent's latest answer whatever the rule) have none.
RULE_CHAPTERS = {"index", "ch5_2_violence", "ch5_3_trauma", "ch5_4_wellbeing", "ch5_5_risk_factors",
                 "ch6_conclusion", "power", "sensitivity"}
NO_RULE_CHAPTERS = {"ch3_methods", "ch4_experiences", "ch5_1_participants", "ch5_6_help", "appendix_contract"}
#: Chapters that load the study and so show the banner with the scoring keys in force.
BANNER_CHAPTERS = RULE_CHAPTERS | {"ch3_methods", "ch5_1_participants", "ch5_6_help"}


@pytest.fixture(scope="module")
def twin(synthetic_dataset) -> Path:
    return Path(synthetic_dataset.meta.path)


@pytest.fixture(scope="module")
def latest(twin) -> analysis.Study:
    """The twin with every parameter at its default (follow-up rule 'latest')."""
    return analysis.load_study(twin)


@pytest.fixture(scope="module")
def t1(twin) -> analysis.Study:
    return analysis.load_study(twin, follow_up_rule="T1")


def assert_same_analysis(a, b) -> None:
    """Two outcome analyses with the same sample, summary, test and result ids."""
    pd.testing.assert_frame_equal(a.sample.reset_index(drop=True), b.sample.reset_index(drop=True))
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.test, b.test)
    assert a.results == b.results


# --------------------------------------------------------------------------------------------
# follow_up_rule


def test_follow_up_rule_reaches_every_two_wave_analysis(latest, t1):
    assert (latest.follow_up_rule, t1.follow_up_rule) == ("latest", "T1")
    differ = []
    for outcome in TWO_WAVE:
        gated = t1.analyse(outcome)  # no rule passed: the study's
        assert_same_analysis(gated, analysis.analyse(t1.measures, outcome, follow_up_rule="T1"))
        p = f"{outcome}.anova.interaction.p"
        if gated.results[p] != latest.analyse(outcome).results[p]:
            differ.append(outcome)
    # on the twin T1 drops the units measured at T2: most outcomes change
    assert {"violence_total", "parent_trauma", "low_income", "qol_parent"} <= set(differ)
    assert t1.analyse("low_income").n("VV") < latest.analyse("low_income").n("VV")

    c = t1.analyse_category()
    direct = analysis.analyse_category(t1.measures, follow_up_rule="T1")
    pd.testing.assert_frame_equal(c.shares, direct.shares)
    assert c.results == direct.results
    assert c.results != latest.analyse_category().results
    # the study's rule is only a default: an explicit rule still wins
    assert_same_analysis(t1.analyse("qol_parent", follow_up_rule="latest"), latest.analyse("qol_parent"))


def test_follow_up_rule_reaches_the_all_waves_comparison(latest, t1):
    outcomes = ["violence_partner", "low_income"]
    table, results = sensitivity.all_waves_table(t1.measures, outcomes, follow_up_rule="T1")
    column = "two-wave ANOVA (T1), group x time"
    assert column in table.columns and not any("latest" in c for c in table.columns)
    for outcome in outcomes:
        p_t1 = analysis.analyse(t1.measures, outcome, follow_up_rule="T1").results[f"{outcome}.anova.interaction.p"]
        p_latest = latest.analyse(outcome).results[f"{outcome}.anova.interaction.p"]
        assert f"{p_t1:.3f}" != f"{p_latest:.3f}"  # the two rules print different p's here
        assert table.loc[outcome, column] == f"p = {p_t1:.3f}"
        fit_p = results[f"sensitivity.{outcome}.allwaves.p"]
        assert table.loc[outcome, "same conclusion"] == ("yes" if (p_t1 < 0.05) == (fit_p < 0.05) else "no")
    # the page's call: the study's rule and gate
    page_table, page_results = sensitivity.study_all_waves_table(t1, outcomes)
    pd.testing.assert_frame_equal(page_table, table)
    assert page_results == results
    latest_table, _ = sensitivity.study_all_waves_table(latest, ["low_income"])
    assert latest_table.loc["low_income", "two-wave ANOVA (latest), group x time"] != table.loc["low_income", column]


def test_follow_up_rule_reaches_the_power_samples(t1, latest):
    pw = power_study(t1, ["low_income"], replications=10, seed=1, sizes=(20,), n_jobs=1)
    expected = power.change_scores(analysis.analyse(t1.measures, "low_income", follow_up_rule="T1").sample)
    np.testing.assert_array_equal(pw.samples["low_income"].vv, expected.vv)
    np.testing.assert_array_equal(pw.samples["low_income"].control, expected.control)
    assert pw.observed_n["low_income"] == (t1.analyse("low_income").n("VV"), t1.analyse("low_income").n("control"))
    other = power_study(latest, ["low_income"], replications=10, seed=1, sizes=(20,), n_jobs=1)
    assert other.observed_n["low_income"] != pw.observed_n["low_income"]
    assert other.results["power.low_income.d"] != pw.results["power.low_income.d"]


# --------------------------------------------------------------------------------------------
# keys_dir


@pytest.fixture(scope="module")
def user_keys(tmp_path_factory) -> Path:
    """A licensed-marked copy of the illustrative keys whose KIDSCREEN-10 norm mean is 2 higher."""
    folder = licensed_keys(tmp_path_factory.mktemp("keys") / "my_keys")
    path = folder / "kid.yml"
    key = yaml.safe_load(path.read_text())
    key["norms"]["kidscreen10"]["mean"] += 2.0
    path.write_text(yaml.safe_dump(key, sort_keys=False))
    return folder


def test_keys_dir_reaches_the_instruments_table(user_keys, latest):
    shown = instruments_table(keys_dir=user_keys).set_index("short name")["key"]
    licensed = shown[shown != "—"]
    short = short_names()
    assert set(licensed.index) == {short[k] for k in latest.keys} and len(licensed) == 6
    assert set(licensed) == {"licensed (user's)"}
    default = instruments_table().set_index("short name")["key"]
    assert set(default[default != "—"]) == {"illustrative"}


def test_keys_dir_reaches_every_scored_instrument_and_the_banner(twin, latest, user_keys):
    study = analysis.load_study(twin, keys_dir=user_keys)
    assert Path(study.keys_dir) == user_keys
    assert {k: Path(v["path"]).parent for k, v in study.keys.items()} == {k: user_keys for k in latest.keys}
    assert not any(v["illustrative"] for v in study.keys.values())
    # the folder's key scored the children: T = 50 + 10 (raw - mean) / sd, mean 2 higher
    sd = yaml.safe_load((user_keys / "kid.yml").read_text())["norms"]["kidscreen10"]["sd"]
    before, after = latest.measures.children["qol_child"], study.measures.children["qol_child"]
    assert before.notna().sum() > 10
    np.testing.assert_allclose(after.to_numpy(float), before.to_numpy(float) - 20.0 / sd)

    text = present.banner(study).data
    assert "Scoring keys: the licensed keys supplied by the user (folder `my_keys`)." in text
    assert str(user_keys.parent) not in text and "illustrative" not in text
    assert "**illustrative**" in present.banner(latest).data


# --------------------------------------------------------------------------------------------
# cumulation_threshold


def cumulative_share(measures, threshold: int) -> pd.Series:
    """Tabel 4's 'a parent with cumulative risk (%)' per population, from the parents' risk counts:
    families at T0 with at least one parent counting ``threshold`` or more risk factors, among the
    families where some parent's count is known."""
    parents = measures.parents.loc[measures.parents["wave"] == "T0"]
    most = parents.groupby("family_id")["risk_count"].max().dropna()
    fam = measures.families.loc[measures.families["wave"] == "T0"].set_index("family_id")["group"]
    flag = (most >= threshold).groupby(fam.reindex(most.index)).mean() * 100
    return flag.rename({"cohort": "population"})


def test_cumulation_threshold_reaches_tabel_4(twin, latest):
    study = analysis.load_study(twin, cumulation_threshold=3)
    low = baseline.baseline_problems(study.measures.families)[1]
    default = baseline.baseline_problems(latest.measures.families)[1]
    for pop in ("population", "VV", "control"):
        rid = f"table4.cumulative_risk.{pop}"
        assert low[rid] == pytest.approx(cumulative_share(study.measures, 3)[pop])
        assert default[rid] == pytest.approx(cumulative_share(latest.measures, 5)[pop])
        assert low[rid] > default[rid]
    # the other lines of Tabel 4 do not depend on it
    assert low["table4.total_violence_family.VV"] == default["table4.total_violence_family.VV"]


# --------------------------------------------------------------------------------------------
# disclosure_threshold


@pytest.fixture(scope="module")
def vv4(twin, tmp_path_factory) -> Path:
    """A non-synthetic copy of the twin with 4 VV families (a small cohort: quick to load)."""
    data, _ = small_group_copy(twin, tmp_path_factory.mktemp("vv4") / "vv4", n_vv=4, extreme=False, cohort=100)
    return data


def test_disclosure_threshold_reaches_the_gate(vv4):
    strict = analysis.load_study(vv4)  # default threshold 5: four VV families are too few
    loose = analysis.load_study(vv4, disclosure_threshold=4)
    assert not strict.synthetic and (strict.gate.threshold, loose.gate.threshold) == (5, 4)
    assert (strict.gate.mark, loose.gate.mark) == ("<5", "<4")
    table2 = baseline.participants(strict.dataset)
    results = baseline.participant_results(table2)
    assert results["n.VV.families"] == 4
    shown5, shown4 = strict.gate_table(table2, results), loose.gate_table(table2, results)
    assert shown5.results["n.VV.families"] is None and "n.VV.families" in shown5.withheld
    assert shown4.results["n.VV.families"] == 4 and "n.VV.families" not in shown4.withheld
    assert set(shown4.withheld) < set(shown5.withheld)
    a5, a4 = strict.analyse("violence_total"), loose.analyse("violence_total")
    assert a5.results["violence_total.n.VV"] is None
    assert a4.results["violence_total.n.VV"] == analysis.analyse(loose.measures, "violence_total").n("VV") == 4


def test_power_keeps_the_disclosure_rule(vv4):
    """On non-synthetic data an outcome whose two-wave analysis is withheld takes no part in the power
    page, although its change scores exist."""
    study = analysis.load_study(vv4)
    outcomes = ["violence_total", "low_income"]
    for outcome in outcomes:
        assert not study.usable(outcome)
        power.change_scores(analysis.analyse(study.measures, outcome).sample, outcome)  # computable
    pw = power_study(study, outcomes, replications=10, seed=1, sizes=(20,), n_jobs=1)
    assert pw.samples == {} and pw.results == {} and pw.curves.empty and pw.table.empty
    assert pw.reached == [] and pw.largest == max(power.DEFAULT_SIZES)


# --------------------------------------------------------------------------------------------
# seed


def test_seed_reaches_the_power_simulations(latest):
    kw = {"replications": 40, "sizes": (20, 40, 60), "n_jobs": 1}
    outcomes = ["qol_parent", "low_income"]
    one, again = power_study(latest, outcomes, seed=1, **kw), power_study(latest, outcomes, seed=1, **kw)
    two = power_study(latest, outcomes, seed=2, **kw)
    pd.testing.assert_frame_equal(one.curves, again.curves)
    assert not np.array_equal(one.curves["power"].to_numpy(), two.curves["power"].to_numpy())
    # the same simulation as stats.power with that seed, and the same result ids as the page had
    direct = power.power_curves(one.samples, replications=40, sizes=(20, 40, 60), seed=1, n_jobs=1, progress=False)
    pd.testing.assert_frame_equal(one.curves, direct)
    assert sorted(one.results) == sorted(
        f"power.{o}.{k}" for o in outcomes for k in ("d", "n80_simulated", "n80_analytic", "power.n20",
                                                     "power.n40", "power.n60"))
    assert one.results["power.qol_parent.power.n40"] == direct.set_index(["outcome", "n_per_group"]).loc[
        ("qol_parent", 40), "power"]


def test_seed_reaches_the_matching(twin, latest):
    def pairs(m) -> set[tuple[str, str]]:
        return set(map(tuple, m.matching.pairs[["treated", "control"]].to_numpy()))

    # Study.matching_report draws with the study's seed: treated families take turns in the order
    # the seed draws, and on the twin they compete for the same candidates (ties of 'nearest free
    # control'), so the order changes who is paired with whom, and with some seeds also which
    # candidates are chosen at all (which seeds do depends on the twin: the first one found is used)
    seeded = {s: pairs(dataclasses.replace(latest, seed=s).matching_report()) for s in range(1, 9)}
    assert seeded[1] == pairs(analysis.matching_report(latest.dataset, latest.measures, seed=1))
    assert seeded[1] != seeded[2]

    def chosen(s: int) -> set[str]:
        return {c for _, c in seeded[s]}

    other = next((s for s in seeded if chosen(s) != chosen(1)), None)
    assert other is not None, "on the twin, seeds 1-8 all choose the same controls"
    # load_study passes its seed to the matching that relabels the groups (rematch)
    controls = {}
    for s in (1, other):
        study = analysis.load_study(twin, rematch=True, seed=s)
        assert study.seed == s and study.rematched
        fam = study.dataset.families
        controls[s] = set(fam.loc[fam["group"] == "control", "family_id"])
        assert controls[s] == chosen(s)
    assert controls[1] != controls[other]


# --------------------------------------------------------------------------------------------
# end to end: one build with follow_up_rule T1 and a keys folder (the session's other_build)


def outputs_text(notebook: Path) -> str:
    """Everything an executed notebook shows: the outputs of its cells (not their sources, which
    hold the injected parameters), as one string."""
    parts = []
    for cell in json.loads(notebook.read_text())["cells"]:
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append("".join(out["text"]))
            for value in out.get("data", {}).values():
                parts.append("".join(value) if isinstance(value, list) else str(value))
    return "\n".join(parts)


@pytest.mark.e2e
def test_a_t1_build_with_a_keys_folder_shows_them_where_they_are_used(other_build):
    data, out = other_build
    shown = {p.stem: outputs_text(p) for p in (out / "notebooks").glob("*.ipynb")}
    assert set(shown) == RULE_CHAPTERS | NO_RULE_CHAPTERS | {"appendix_provenance", "appendix_scorecard"}
    rule = f"Follow-up (`follow_up_rule: {OTHER_BUILD_RULE}`): T1 only."
    for chapter in RULE_CHAPTERS:
        assert rule in shown[chapter], chapter
        assert "follow_up_rule: latest" not in shown[chapter], chapter
    for chapter in NO_RULE_CHAPTERS:
        assert "follow_up_rule" not in shown[chapter], chapter
    keys = f"Scoring keys: the licensed keys supplied by the user (folder `{OTHER_BUILD_KEYS}`)."
    for chapter in BANNER_CHAPTERS:
        assert keys in shown[chapter], chapter
    assert "licensed (user's)" in shown["ch3_methods"]
    assert "illustrative" not in shown["ch3_methods"]
    # the provenance appendix lists every parameter by design, the keys folder by its name only
    assert "parameter follow_up_rule" in shown["appendix_provenance"]
    assert OTHER_BUILD_KEYS in shown["appendix_provenance"]
    full = str(data.parent / OTHER_BUILD_KEYS)
    assert [c for c, text in shown.items() if full in text] == []
    # the sensitivity page compares the all-waves model with the T1 analysis (its header says so)
    assert "two-wave ANOVA (T1), group x time" in shown["sensitivity"]


@pytest.mark.e2e
def test_a_t1_build_publishes_the_t1_numbers(other_build):
    """Every published (not withheld) result of the two-wave analyses is the T1 analysis of the data
    with the build's keys folder, and some differ from what the default rule gives."""
    data, out = other_build
    results = json.loads((out / "results.json").read_text())
    assert results["_meta"]["parameters"]["follow_up_rule"] == OTHER_BUILD_RULE
    assert Path(results["_meta"]["parameters"]["keys_dir"]).name == OTHER_BUILD_KEYS
    study = analysis.load_study(data, follow_up_rule="T1", keys_dir=data.parent / OTHER_BUILD_KEYS)
    default = analysis.load_study(data)
    published, differ = 0, []
    for name, analyse in [(o, lambda s, o=o: s.analyse(o)) for o in TWO_WAVE] + [
            ("violence_category", lambda s: s.analyse_category())]:
        expected, other = analyse(study).results, analyse(default).results
        for rid, value in expected.items():
            assert results[rid] == clean_value(value), rid
            if results[rid] is not None:
                published += 1
                differ += [rid] if clean_value(other.get(rid)) != results[rid] else []
    assert published >= 20 and differ, (published, differ)
