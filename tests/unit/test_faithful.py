"""Published beside computed (veiligverder.report.faithful), the effect-size words of the verdict
engine and the scorecard (veiligverder.reproduction.verdict.judge_word, scorecard.size_words_table),
and the robustness of the headline findings (veiligverder.analysis.sensitivity.robustness,
veiligverder.report.findings.robustness_sentence), on hand-made results."""

from __future__ import annotations

import pytest
import yaml

from veiligverder import paths
from veiligverder.analysis import sensitivity
from veiligverder.contract.claims import load_claims, parse_claim
from veiligverder.report import faithful, findings
from veiligverder.reproduction import scorecard
from veiligverder.reproduction.verdict import judge_word, size_words


def _eta2_claim(size: str, effect: str, value: float = 0.24):
    return parse_claim({"id": "x", "source": "s", "value": value, "tolerance": {"absolute": 0.04},
                        "size": size, "effect": effect})


# ------------------------------------------------------------------------------------ effect-size words
def test_24_is_medium_for_repeated_measures_so_the_reports_large_differs():
    word = judge_word(_eta2_claim("large", "time"), 0.24)
    assert (word.kind, word.computed, word.verdict) == ("repeated", "medium", "differs")
    assert word.rule == "Tabel 1, repeated measures: .02 / .13 / .26"
    assert judge_word(_eta2_claim("large", "time"), 0.26).verdict == "agrees"    # large from .26
    assert judge_word(_eta2_claim("large", "interaction"), 0.24).verdict == "agrees"  # between: large from .14


def test_a_range_of_words_agrees_with_either_end():
    assert size_words("small-to-medium") == ("small", "medium")
    claim = _eta2_claim("small-to-medium", "interaction", 0.05)
    assert judge_word(claim, 0.05).computed == "small" and judge_word(claim, 0.05).ok
    assert judge_word(claim, 0.09).computed == "medium" and judge_word(claim, 0.09).ok
    assert judge_word(claim, 0.14).verdict == "differs"      # large
    assert judge_word(claim, 0.005).verdict == "differs"     # none
    with pytest.raises(ValueError, match="size 'huge'"):
        size_words("huge", claim_id="x")


def test_a_withheld_or_missing_value_gets_no_word():
    claim = _eta2_claim("large", "time")
    assert judge_word(claim, 0.24, withheld=True)[:3] == ("withheld", "large", "")
    assert judge_word(claim, None).verdict == "not computable"
    assert judge_word(claim, float("nan")).computed == ""


def test_the_words_in_the_claims_file_are_the_reports():
    facts = yaml.safe_load(paths.REPORT_FACTS.read_text(encoding="utf-8"))
    worded = [c for c in load_claims().claims() if c.spec.get("size")]
    assert [c.id for c in worded] == ["fig2.time.np2", "fig3.time.np2", "fig11.interaction.np2",
                                      "fig13.interaction.np2", "fig14.interaction.np2"]
    for c in worded:
        node = facts
        parent = c.source.rsplit(".", 1)[0]  # figures.figN_....<effect>.eta2 -> its sibling `size`
        for part in parent.split("."):
            node = node[part]
        assert node["size"] == c.spec["size"] and node["eta2"] == c.value, c.id


def test_size_words_table_shows_both_words_for_the_published_values():
    table = scorecard.size_words_table().set_index("where")
    assert table.loc["Figuur 2", "report's word"] == "large"
    assert table.loc["Figuur 2", "Tabel 1 word"] == "medium"
    assert table.loc["Figuur 2", "same word"] == "no"
    assert table.loc["Figuur 3", "Tabel 1 word"] == "medium" and table.loc["Figuur 3", "same word"] == "yes"
    assert table.loc["Figuur 11", "Tabel 1 word"] == "medium"   # .09 between groups
    assert table.loc["Figuur 13", "Tabel 1 word"] == "small"    # .05 between groups
    assert (table["same word"] == "yes").sum() == 4


def test_scorecard_checks_number_and_word_apart():
    card = scorecard.scorecard({"violence_total.anova.time.np2": 0.22,
                                "qol_parent.anova.interaction.np2": 0.09}).set_index("result_id")
    row = card.loc["violence_total.anova.time.np2"]
    assert (row["verdict"], row["word_published"], row["word_computed"], row["word_verdict"]) == \
        ("agrees", "large", "medium", "differs")
    assert card.loc["qol_parent.anova.interaction.np2", "word_verdict"] == "agrees"
    assert card.loc["n.VV.families", "word_verdict"] == ""  # a count has no word
    words = scorecard.word_counts(card.reset_index())
    assert words == {"words": 5, "agrees": 1, "differs": 1, "not_computable": 3, "withheld": 0}


# ------------------------------------------------------------------------------------ published beside computed
def test_tabel4_means_published_beside_this_build():
    results = {"table4.total_violence_family.control": 124.4, "table4.total_violence_family.VV": 140.0}
    table = faithful.faithful_table(results, "Tabel 4")
    assert list(table.columns) == ["published", "this build", "tolerance", "verdict"]
    row = table.loc["total violence family, control"]
    assert row.tolist() == ["118", "124.4", "± 15 %", "agrees"]       # 124.4 is within 15 % of 118
    assert table.loc["total violence family, VV", "verdict"] == "differs"  # 140 is 40 % above 100
    assert table.loc["partner violence family, VV", "this build"] == "–"
    assert table.loc["partner violence family, VV", "verdict"] == "not computable"


def test_figure_2_shows_24_large_beside_22_medium():
    table = faithful.faithful_table({"violence_total.anova.time.np2": 0.22, "violence_total.anova.time.p": 0.0001,
                                     "violence_total.mean.control.baseline": 118.0,
                                     "violence_total.mean.control.follow_up": 60.0}, "fig-2")
    assert table.loc["total violence, time effect η²"].tolist() == ["0.24 (large)", "0.22 (medium)", "± 0.04", "agrees"]
    word = table.loc["total violence, time effect η²: the report's word"]
    assert word.tolist() == ["large", "medium", "Tabel 1, repeated measures: .02 / .13 / .26", "differs"]
    assert table.loc["total violence, time effect p < .001", "this build"] == "p < 0.001"
    # a claim the calibration recomputes from a stat is read from the means: -58 < 0, 'decrease'
    assert table.loc["control: follow-up minus baseline"].tolist() == ["'decrease'", "-58", "< 0", "agrees"]


@pytest.mark.parametrize("item, claim, published", [
    ("fig-3", "partner violence, time effect η²", "0.19 (medium-to-large)"),
    ("fig-11", "parents' quality of life, group x time η²", "0.09 (small-to-medium)"),
    ("fig-13", "low income, group x time η²", "0.05 (small-to-medium)"),
    ("fig-14", "unemployment, group x time η²", "0.05 (small-to-medium)"),
])
def test_the_other_eta_squared_figures(item, claim, published):
    result = load_claims().claim(f"fig{item[4:]}." + ("time" if item == "fig-3" else "interaction") + ".np2").result
    table = faithful.faithful_table({result: 0.07}, item)
    assert table.loc[claim, "published"] == published
    expected = "0.07 (small)" if item == "fig-3" else "0.07 (medium)"  # repeated: medium from .13; between: from .06
    assert table.loc[claim, "this build"] == expected
    assert table.loc[f"{claim}: the report's word", "verdict"] in ("agrees", "differs")


def test_withheld_shows_withheld_never_a_number_also_for_derived_values():
    class FakeRegistry:  # what a chapter passes: values (withheld ones None) and the gate's withheld ids
        values = {"violence_total.anova.time.np2": None, "violence_total.mean.control.baseline": None,
                  "violence_total.mean.control.follow_up": 60.0}
        suppressed = {"violence_total.anova.time.np2": "min_cell", "violence_total.mean.control.baseline": "min_cell"}

    table = faithful.faithful_table(FakeRegistry(), "fig-2")
    for claim in ("total violence, time effect η²", "total violence, time effect η²: the report's word",
                  "control: follow-up minus baseline"):
        assert table.loc[claim, "this build"] == "withheld" and table.loc[claim, "verdict"] == "withheld"
    text = faithful.faithful_text(FakeRegistry(), "fig-2")
    assert text.startswith("Figuur 2 against the report") and "3 are withheld by disclosure control" in text


def test_every_table_and_figure_has_claims_and_names_resolve():
    assert faithful.ITEMS[0] == "tab-2" and faithful.ITEMS[-1] == "fig-18" and len(faithful.ITEMS) == 21
    for item in faithful.ITEMS:
        assert faithful.claims_for(item), item
    assert [c.id for c in faithful.claims_for("fig-1")] == [c.id for c in faithful.claims_for("Figuur 1")]
    assert not any(c.source.startswith("figures.fig11_") for c in faithful.claims_for("fig-1"))
    with pytest.raises(ValueError, match="unknown table or figure"):
        faithful.claims_for("fig-19")


# ------------------------------------------------------------------------------------ robustness of the headlines
def _sensitivity_results() -> dict:
    """Like the twin's: trauma not significant with T1 and not estimable on all waves; income not
    significant with T1; paid work p = .064 on all waves; quality of life holds everywhere."""
    r = {}
    cells = {"parent_trauma": (0.054, 0.0068, 0.0021, None), "low_income": (0.135, 0.0105, 0.0054, 0.029),
             "unemployment": (0.036, 0.025, 0.012, 0.064), "qol_parent": (0.011, 0.0056, 0.0018, 0.0007)}
    for o, (t1, t2, latest, allwaves) in cells.items():
        for rule, p in zip(sensitivity.RULES, (t1, t2, latest)):
            r[f"sensitivity.{o}.{rule}.interaction_p"] = p
            r[f"sensitivity.{o}.{rule}.interaction_np2"] = 0.06
            r[f"{o}.anova.interaction.p"], r[f"{o}.anova.interaction.np2"] = latest, 0.06
        r[f"sensitivity.{o}.allwaves.estimable"] = int(allwaves is not None)
        if allwaves is not None:
            r[f"sensitivity.{o}.allwaves.p"] = allwaves
    return r


def test_robustness_names_each_exception_and_why():
    table = sensitivity.robustness(_sensitivity_results(), ["parent_trauma", "low_income", "unemployment", "qol_parent"])
    assert table["holds"].to_dict() == {"parent_trauma": False, "low_income": False, "unemployment": False,
                                        "qol_parent": True}
    assert table.loc["parent_trauma", "T1"] == "not significant, p = .054"
    assert table.loc["parent_trauma", "all waves"] == "not estimable"
    assert table.loc["low_income", "exceptions"] == "not significant, p = .135, with the one-year wave (T1) as follow-up"
    assert table.loc["unemployment", "exceptions"] == "not significant, p = .064, in the model on all three waves"
    assert table.loc["qol_parent", "exceptions"] == ""
    assert table.loc["parent_trauma", "exceptions"] == ("not significant, p = .054, with the one-year wave (T1) as "
                                                        "follow-up; the model on all three waves could not be estimated")


def test_a_significant_but_tiny_effect_does_not_hold_and_a_withheld_model_says_so():
    r = {"sensitivity.x.T1.interaction_p": 0.01, "sensitivity.x.T1.interaction_np2": 0.005}
    assert sensitivity.check(r, "x", "T1").startswith("significant but too small to call a difference")
    assert sensitivity.check(r, "x", "T2") == "not computable"
    assert sensitivity.check(r, "x", "all waves") == "withheld"


def test_disagreements_name_the_outcomes_behind_the_counts():
    waves, rules = sensitivity.disagreements(_sensitivity_results(), ["parent_trauma", "low_income",
                                                                      "unemployment", "qol_parent"])
    assert list(waves.index) == ["parent_trauma", "unemployment"]
    assert waves["parent_trauma"] == "the all-waves model is not estimable"
    assert waves["unemployment"] == "two-wave (latest) p = .012, all waves p = .064"
    assert list(rules.index) == ["parent_trauma", "low_income"]
    assert rules["low_income"].startswith("T1: not significant, T2: significant, medium")


def test_the_headline_sentence_says_which_hold_and_which_do_not():
    r = _sensitivity_results()
    held, not_held = findings.robust_findings(r)
    assert held == ["the parents' quality of life"]
    assert [label for label, _ in not_held] == ["parents with clinical trauma", "parents with a low income",
                                                "parents with less than 12 hours of paid work"]
    text = findings.robustness_sentence(r)
    assert text.startswith("Of these 4 differences, 1 holds under every follow-up rule")
    assert "3 depend on how the study is analysed" in text and "p = .064, in the model on all three waves" in text
    sentence = findings.outcome_sentence(r, "unemployment", with_robustness=True)
    assert sentence.endswith("This difference does not hold in every analysis: not significant, p = .064, "
                             "in the model on all three waves.")
    assert "does not hold" not in findings.outcome_sentence(r, "unemployment")
    assert findings.robustness_table(r).loc["the parents' quality of life", "holds under every analysis"] == "yes"
