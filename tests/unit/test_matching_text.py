"""Chapter 5.1's sentences on the matching: the counts, what a small overlap means, the imbalance named."""

from __future__ import annotations

import pandas as pd

from veiligverder.analysis.disclosure import Gate
from veiligverder.report.present import matching_text

RESULTS = {"matching.n_treated": 34, "matching.n_controls": 68, "matching.overlap": 10}


def balance(after: list[float]) -> pd.DataFrame:
    names = ["total violence", "primary education only", "income below EUR 1500"]
    return pd.DataFrame({"covariate": ["a", "b", "c"], "label": names, "smd_before": [0.5, 0.3, 0.2],
                         "smd_after": after})


def test_small_overlap_and_one_variable_past_the_mark():
    text = matching_text(RESULTS, Gate(active=False), balance([0.01, -0.112867, 0.0999])).data
    assert text.startswith("The matching selected 68 controls for 34 VV families; 10 of them carry the dataset's "
                           "own `control` label. A repeat of the matching")
    assert "keep the dataset's own labels" in text
    # -0.11 is past 0.1 in size; 0.0999 is not; 0.10 exactly would be (>=)
    assert "2 of 3 matching variables are balanced (|SMD| below 0.1); primary education only (-0.11) stays" in text
    assert "The difference is 0.11 standard deviations, so a comparison of outcomes that depend on it" in text
    two = matching_text(RESULTS, Gate(active=False), balance([0.01, -0.112867, 0.2049])).data
    assert ("primary education only (-0.11), income below EUR 1500 (0.20) stay past that mark. The largest "
            "difference is 0.20 standard deviations, so a comparison of outcomes that depend on them") in two


def test_large_overlap_and_full_balance_say_so_and_nothing_else():
    results = RESULTS | {"matching.overlap": 40}
    text = matching_text(results, Gate(active=False), balance([0.01, -0.05, 0.1 - 1e-9])).data
    assert "A repeat of the matching" not in text
    assert text.endswith("After matching every matching variable is balanced (|SMD| below 0.1, the usual mark), "
                         "so the chosen controls resemble the VV families on what they were matched on.")
    at_mark = matching_text(results, Gate(active=False), balance([0.01, -0.05, 0.1])).data
    assert "2 of 3 matching variables are balanced" in at_mark and "income below EUR 1500 (0.10)" in at_mark


def test_withheld_balance_gives_only_the_counts():
    text = matching_text(RESULTS, Gate(active=False), None).data
    assert "balanced" not in text and "68 controls" in text


def test_effect_rules_text_reads_tabel_1_from_the_thresholds(monkeypatch):
    """The caption under each ANOVA table names both Tabel 1 rows with their cut-offs, as the
    thresholds hold them (a changed threshold changes the caption)."""
    from veiligverder.report.present import effect_rules_text
    from veiligverder.stats import effsize

    assert effect_rules_text() == ("the time effect by the repeated-measures rule (partial η² .02 small, .13 medium, "
                                   ".26 large), the group and group × time effects by the between-groups rule "
                                   "(.01, .06, .14)")
    monkeypatch.setitem(effsize.THRESHOLDS, "between", (0.01, 0.05, 0.15))
    assert effect_rules_text().endswith("between-groups rule (.01, .05, .15)")


LEFT_OUT = {"violence_partner": "is a linear combination of the matching variables before it",
            "psych_problems": "does not vary between the families"}


def test_left_out_variables_are_named_with_their_reason_when_the_gate_is_off():
    text = matching_text(RESULTS, Gate(active=False), balance([0.01, 0.02, 0.03]), left_out=LEFT_OUT).data
    assert ("The propensity model has to leave out 2 matching variables, since these data cannot estimate its "
            "weight: partner violence (incidents a year), which is a linear combination of the matching variables "
            "before it; a parent with psychological problems, which does not vary between the families. R's `glm`, "
            "which MatchIt uses, reports such a coefficient as NA") in text
    one = matching_text(RESULTS, Gate(active=False), balance([0.01, 0.02, 0.03]),
                        left_out={"psych_problems": LEFT_OUT["psych_problems"]}).data
    assert "has to leave out one matching variable, since" in one


def test_left_out_variables_are_only_counted_under_disclosure_control_and_not_beside_a_withheld_table():
    gate = Gate(active=True, threshold=5)
    text = matching_text(RESULTS, gate, balance([0.01, 0.02, 0.03]), left_out=LEFT_OUT).data
    assert "has to leave out 2 matching variables" in text and "(which, and why, is not shown" in text
    assert "partner violence" not in text and "psychological" not in text and "does not vary" not in text
    assert "leave out" not in matching_text(RESULTS, gate, None, left_out=LEFT_OUT).data
    assert "leave out" not in matching_text(RESULTS, Gate(active=False), balance([0.01, 0.02, 0.03]), left_out={}).data
