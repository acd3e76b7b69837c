"""Chapter 5's paragraph under each outcome figure (:func:`veiligverder.report.present.describe`):
the finding on the group × time interaction first, then the means with their n, then the tests;
withheld numbers stay withheld and a test that does not count as a difference is not put in words."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from veiligverder import stats
from veiligverder.analysis.disclosure import Gate
from veiligverder.analysis.outcomes import OutcomeAnalysis, analyse
from veiligverder.analysis.study import gate_outcome
from veiligverder.report.present import describe
from veiligverder.vocab import EFFECT_KIND

VIOLENCE = "total violence (incidents a year per family)"


def outcome(means: dict, tests: dict, *, n=(40, 38), name: str = "violence_total", note: str = "") -> OutcomeAnalysis:
    """An outcome analysis by hand: ``means`` {(group, time): mean}, ``tests`` {source: (F, p, np2)}."""
    summary = pd.DataFrame([{"group": g, "time": t, "n": k, "mean": means[g, t]}
                            for g, k in zip(("VV", "control"), n) for t in ("baseline", "follow_up")])
    test = pd.DataFrame([{"source": s, "F": F, "p_unc": p, "np2": np2, "df1": 1.0, "df2": float(sum(n) - 2),
                          "words": stats.describe_effect(p, np2, kind=EFFECT_KIND[s])}
                         for s, (F, p, np2) in tests.items()])
    sample = pd.DataFrame({"unit_id": range(sum(n)), "group": ["VV"] * n[0] + ["control"] * n[1],
                           "time": "baseline"})
    return OutcomeAnalysis(name, sample, summary, test, note=note)


def means(vv: tuple[float, float], control: tuple[float, float]) -> dict:
    return {("VV", "baseline"): vv[0], ("VV", "follow_up"): vv[1],
            ("control", "baseline"): control[0], ("control", "follow_up"): control[1]}


TIME = (40.1, 0.0001, 0.30)         # significant, large (repeated: .26)
NO_TIME = (1.1, 0.30, 0.01)
GROUP_NONE = (0.5, 0.48, 0.004)
GROUP_MEDIUM = (6.5, 0.01, 0.07)    # significant, medium (between: .06)
INTER = (9.2, 0.003, 0.09)          # significant, medium
NO_INTER = (0.2, 0.60, 0.002)


def test_vv_improved_more_leads_with_the_finding_then_the_numbers():
    a = outcome(means((120.4, 30.2), (110.0, 80.6)), {"time": TIME, "group": GROUP_NONE, "interaction": INTER})
    text = describe(a, VIOLENCE, digits=0, higher_is="worse")
    assert text.startswith(f"The Veilig Verder group improved more on {VIOLENCE} than the control group. ")
    assert ("In the Veilig Verder group the mean fell from 120 to 30 (n = 40 families); "
            "in the control group from 110 to 81 (n = 38 families).") in text
    assert "This group × time effect is medium (F(1, 76) = 9.20, p = .003, partial η² = .09)." in text
    assert "the mean fell over time, a large effect (F(1, 76) = 40.10, p < .001, partial η² = .30)" in text
    assert "show no difference that counts (not significant; F(1, 76) = 0.50, p = .480" in text
    # the finding comes before the numbers, the numbers before the tests
    assert text.index("improved more") < text.index("120 to 30") < text.index("F(1, 76) = 9.20")


def test_control_changed_more_names_the_control_group_first():
    a = outcome(means((6.1, 6.3), (6.0, 7.4)), {"time": TIME, "group": GROUP_NONE, "interaction": INTER},
                name="qol_parent", n=(30, 25))
    text = describe(a, "the parents' quality of life (grade 1-10)", higher_is="better")
    assert text.startswith("The control group improved more on the parents' quality of life (grade 1-10) than "
                           "the Veilig Verder group. ")
    assert ("In the Veilig Verder group the mean rose from 6.1 to 6.3 (n = 30 parents); in the control group "
            "from 6.0 to 7.4 (n = 25 parents).") in text
    # lower is better here: the group whose score fell did better, and the text says it the other way round
    worse = describe(a, "a burden score", higher_is="worse")
    assert worse.startswith("Both groups got worse on a burden score, but the Veilig Verder group less so. ")


def test_opposite_moves_with_a_better_direction():
    a = outcome(means((0.50, 0.30), (0.48, 0.55)), {"time": NO_TIME, "group": GROUP_NONE, "interaction": INTER},
                name="parent_trauma")
    text = describe(a, "clinical trauma of parents", percent=True, digits=0, higher_is="worse")
    assert text.startswith("The Veilig Verder group improved on clinical trauma of parents, while the control "
                           "group got worse. ")
    assert "In the Veilig Verder group the share fell from 50 % to 30 % (n = 40 parents); in the control " \
           "group it rose from 48 % to 55 % (n = 38 parents)." in text
    assert "Taken together, the groups' change over time does not count as a difference (not significant; " \
           "F(1, 76) = 1.10, p = .300" in text


def test_without_a_direction_hint_the_words_stay_neutral():
    a = outcome(means((120.4, 30.2), (110.0, 80.6)), {"time": TIME, "group": GROUP_NONE, "interaction": INTER})
    text = describe(a, VIOLENCE, digits=0)
    assert text.startswith(f"The two groups changed differently on {VIOLENCE}: it fell in both groups, but more "
                           "in the Veilig Verder group. ")
    assert "improved" not in text and "worse" not in text
    opposite = describe(outcome(means((3.0, 2.0), (3.0, 4.0)), {"time": NO_TIME, "group": GROUP_NONE,
                                                                 "interaction": INTER}, name="x"), "a score")
    assert opposite.startswith("The two groups changed differently on a score: it fell in the Veilig Verder group "
                               "and rose in the control group. ")
    assert "(n = 40);" in opposite  # no unit word for an outcome the design does not know


def test_time_only_effect_says_both_groups_moved_and_alike():
    a = outcome(means((30.0, 22.0), (29.0, 24.0)), {"time": TIME, "group": GROUP_MEDIUM, "interaction": NO_INTER},
                name="parenting_stress")
    text = describe(a, "parenting stress (NOSI-K)", higher_is="worse")
    assert text.startswith("Both groups improved on parenting stress (NOSI-K) between baseline and follow-up, "
                           "and neither group changed more than the other by a margin that counts. ")
    assert ("In the Veilig Verder group the mean fell from 30.0 to 22.0 (n = 40 parents); in the control group "
            "from 29.0 to 24.0 (n = 38 parents).") in text
    assert ("The change over time is a large effect (F(1, 76) = 40.10, p < .001, partial η² = .30); the group × "
            "time interaction is not significant (F(1, 76) = 0.20, p = .600, partial η² = .00).") in text
    # 26.0 against 26.5 averaged over the waves: the control group is higher
    assert ("Averaged over the two waves the mean is higher in the control group than in the Veilig Verder group, "
            "a medium group effect (F(1, 76) = 6.50, p = .010, partial η² = .07).") in text
    neutral = describe(a, "parenting stress (NOSI-K)")
    assert neutral.startswith("Parenting stress (NOSI-K) fell in both groups between baseline and follow-up")
    assert "improved" not in neutral


def test_nothing_counts_says_so_without_direction_words():
    a = outcome(means((4.2, 4.0), (4.1, 4.3)), {"time": NO_TIME, "group": GROUP_NONE, "interaction": NO_INTER},
                name="safety_grade")
    text = describe(a, "the parents' sense of safety (grade 1-10)", higher_is="better")
    assert text.startswith("The two groups moved in opposite directions on the parents' sense of safety "
                           "(grade 1-10), but neither that nor the change over time counts as a difference. ")
    assert "In the Veilig Verder group the mean fell from 4.2 to 4.0 (n = 40 parents); in the control group it " \
           "rose from 4.1 to 4.3 (n = 38 parents)." in text
    assert ("The time effect is not significant (F(1, 76) = 1.10, p = .300, partial η² = .01), the group × time "
            "interaction not significant (F(1, 76) = 0.20, p = .600, partial η² = .00).") in text
    assert "improved" not in text and "differently" not in text
    same_way = describe(outcome(means((4.2, 4.0), (4.1, 3.8)), {"time": NO_TIME, "group": GROUP_NONE,
                                                                "interaction": NO_INTER}, name="safety_grade"),
                        "the safety grade", higher_is="better")
    assert same_way.startswith("No change in the safety grade counts as a difference: not over time, and not "
                               "between the groups in how they changed. ")
    assert "in the control group from 4.1 to 3.8 (n = 38 parents)" in same_way and "improved" not in same_way


def test_significant_but_too_small_interaction_is_not_a_difference():
    """p < .05 with partial η² below .01 (between): Tabel 1 does not call it a difference."""
    tiny = (4.1, 0.04, 0.005)
    assert not stats.is_difference(tiny[1], tiny[2], kind="between")
    a = outcome(means((4.2, 3.0), (4.1, 3.8)), {"time": NO_TIME, "group": GROUP_NONE, "interaction": tiny},
                name="safety_grade")
    text = describe(a, "the safety grade", higher_is="better")
    assert text.startswith("No change in the safety grade counts as a difference")
    assert ("the group × time interaction significant, too small to call a difference (F(1, 76) = 4.10, "
            "p = .040, partial η² = .01)") in text


def test_level_means_are_said_to_stay():
    a = outcome(means((2.04, 1.96), (2.0, 1.0)), {"time": TIME, "group": GROUP_NONE, "interaction": INTER},
                name="drinks_own")
    text = describe(a, "drinking", higher_is="worse")
    # 2.04 and 1.96 both show as 2.0: the text says what the reader can check in the numbers
    assert "In the Veilig Verder group the mean stayed at 2.0 (n = 40 parents); in the control group it fell " \
           "from 2.0 to 1.0" in text
    assert text.startswith("The control group improved on drinking, while the Veilig Verder group did not. ")


# --------------------------------------------------------------------------------------------
# withheld (the disclosure gate) and not estimable


def four_vv_families() -> tuple[OutcomeAnalysis, OutcomeAnalysis]:
    """Total violence of 4 VV and 12 control families, ungated and through a gate of 5."""
    rng = np.random.default_rng(7)
    rows = []
    for i in range(16):
        group = "VV" if i < 4 else "control"
        base = 100 + 37.3 * i + rng.integers(0, 9)
        for wave, value in (("T0", base), ("T2", base * (0.31 if group == "VV" else 0.83))):
            rows.append({"family_id": f"f{i}", "group": group, "wave": wave, "violence_total": value})
    measures = SimpleNamespace(families=pd.DataFrame(rows))
    raw = analyse(measures, "violence_total")
    gated = gate_outcome(analyse(measures, "violence_total"), Gate(threshold=5))
    return raw, gated


def test_withheld_group_shows_marks_and_not_one_of_its_numbers():
    raw, gated = four_vv_families()
    assert gated.results["violence_total.n.VV"] is None and gated.results["violence_total.mean.VV.baseline"] is None
    text = describe(gated, VIOLENCE, digits=0, higher_is="worse")
    vv = raw.summary.set_index(["group", "time"])["mean"]["VV"]
    for t in ("baseline", "follow_up"):
        for digits in (0, 1, 2):
            assert f"{vv[t]:.{digits}f}" not in text, (t, digits)
    assert "n = 4" not in text
    for test_stat in raw.test.itertuples():
        assert f"{test_stat.F:.2f}" not in text
        assert "F(" not in text and "partial η²" not in text
    control = raw.summary.set_index(["group", "time"])["mean"]["control"]
    assert text.startswith(f"The tests for {VIOLENCE} are withheld, so whether the groups changed differently "
                           "cannot be shown here. ")
    assert (f"In the Veilig Verder group the mean went from <5 to <5 (n = <5); in the control group it fell from "
            f"{control['baseline']:.0f} to {control['follow_up']:.0f} (n = 12 families).") in text
    assert text.endswith(Gate(threshold=5).why)
    assert "improved" not in text and "differently on" not in text


def test_not_estimable_note_keeps_the_gate_and_names_the_reason():
    raw, gated = four_vv_families()
    gated.note = "not estimable on this dataset: no VV child has a follow-up value"
    text = describe(gated, "direct child maltreatment", higher_is="worse")
    assert text.startswith("Whether the groups changed differently on direct child maltreatment cannot be tested: "
                           "the mixed ANOVA is not estimable on this dataset: no VV child has a follow-up value. ")
    vv = raw.summary.set_index(["group", "time"])["mean"]["VV"]
    assert all(f"{vv[t]:.1f}" not in text for t in ("baseline", "follow_up"))
    assert "(n = <5)" in text and text.endswith(Gate(threshold=5).why)

    # ungated, with a group without units: the means that exist, '–' for the others, no gate sentence
    nan = float("nan")
    a = outcome(means((nan, nan), (3.0, 2.5)), {s: (nan, nan, nan) for s in ("time", "group", "interaction")},
                n=(0, 12), name="violence_child_direct", note="not estimable on this dataset: no VV child")
    text = describe(a, "direct child maltreatment")
    assert text == ("Whether the groups changed differently on direct child maltreatment cannot be tested: the "
                    "mixed ANOVA is not estimable on this dataset: no VV child. In the Veilig Verder group the "
                    "mean went from – to – (n = 0 children); in the control group it fell from 3.0 to 2.5 "
                    "(n = 12 children).")


def test_non_finite_f_without_a_note_says_the_sample_is_too_small():
    nan = float("nan")
    a = outcome(means((3.0, 2.0), (3.5, 3.0)), {s: (nan, nan, nan) for s in ("time", "group", "interaction")},
                n=(2, 3))
    text = describe(a, VIOLENCE, digits=0)
    assert text.startswith(f"Whether the groups changed differently on {VIOLENCE} cannot be tested: the mixed "
                           "ANOVA is not estimable on this dataset, the sample is too small. ")
    assert "(n = 2 families)" in text and "(n = 3 families)" in text and "improved" not in text


def test_higher_is_takes_only_its_three_values():
    a = outcome(means((3.0, 2.0), (3.5, 3.0)), {"time": TIME, "group": GROUP_NONE, "interaction": INTER})
    with pytest.raises(ValueError, match="higher_is"):
        describe(a, "x", higher_is="lower")
