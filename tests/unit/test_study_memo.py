"""Study.analyse is memoised per outcome and rule; every caller gets its own copy."""

from __future__ import annotations

import dataclasses

import pandas as pd

from veiligverder.analysis.study import prepare_study


def test_repeated_analyses_are_equal_copies_and_follow_the_settings(synthetic_dataset, monkeypatch):
    from veiligverder.analysis import study as study_module

    study = prepare_study(synthetic_dataset)
    calls = []
    real = study_module.analyse
    monkeypatch.setattr(study_module, "analyse", lambda *a, **k: calls.append(k) or real(*a, **k))
    first = study.analyse("violence_total")
    first.test.loc[:, "p_unc"] = -1.0  # a caller that changes what it got ...
    first.note = "changed"
    second = study.analyse("violence_total")  # ... changes nothing for the next caller
    assert len(calls) == 1
    assert (second.test["p_unc"] >= 0).all() and second.note == ""
    pd.testing.assert_frame_equal(second.test, real(study.measures, "violence_total").test)
    study.analyse("violence_total", follow_up_rule="T1")  # another rule is another analysis
    assert [c["follow_up_rule"] for c in calls] == ["latest", "T1"]
    other = dataclasses.replace(study, follow_up_rule="T1")  # a study with other settings starts empty
    other.analyse("violence_total")
    assert len(calls) == 3
