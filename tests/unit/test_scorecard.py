"""The reproduction scorecard (veiligverder.reproduction.scorecard) on hand-made results.

Its claims are the entries of reproduction/claims.yml with a result id; its verdicts come from
veiligverder.reproduction.verdict.judge (tested at every boundary in test_verdict.py). Here: the
public API the notebooks use, the withheld and not-computable verdicts, and the tolerances the
appendix glues.
"""

from __future__ import annotations

import pandas as pd
import pytest

from veiligverder.contract.claims import load_claims
from veiligverder.reproduction import scorecard
from veiligverder.reproduction.verdict import tolerance_text


def _agreeing_results() -> dict[str, float]:
    """A result for every claim that meets its tolerance (the published number, or a p on the right side)."""
    out = {}
    for c in scorecard.claims():
        rule, limit = c.tolerance.rule, c.tolerance.limit
        if rule == "significant":
            out[c.result] = limit / 2
        elif rule == "not_significant":
            out[c.result] = min(1.0, limit * 2)
        else:
            out[c.result] = float(c.value) / c.factor
    return out


def test_every_claim_has_a_label_a_place_and_a_result_id():
    claims = scorecard.claims()
    assert len(claims) == len(load_claims().scored()) > 150
    assert all(c.label and c.where and c.result for c in claims)


def test_published_numbers_agree_and_the_tally_adds_up():
    card = scorecard.scorecard(_agreeing_results())
    assert list(card.columns) == scorecard.COLUMNS
    assert card["verdict"].eq("agrees").all(), card.loc[card["verdict"] != "agrees"].to_string()
    assert scorecard.counts(card) == {"claims": len(card), "agrees": len(card), "differs": 0,
                                      "not_computable": 0, "withheld": 0}


def test_a_withheld_result_shows_no_value_and_an_absent_one_is_not_computable():
    results = _agreeing_results()
    results.pop("n.VV.parents")
    card = scorecard.scorecard(results, {"n.VV.families": "count"}).set_index("result_id")
    assert card.loc["n.VV.families", "verdict"] == "withheld"
    assert pd.isna(card.loc["n.VV.families", "recomputed"])
    assert card.loc["n.VV.parents", "verdict"] == "not computable"
    assert card.loc["n.VV.children", "verdict"] == "agrees"
    tally = scorecard.counts(card.reset_index())
    assert (tally["withheld"], tally["not_computable"], tally["differs"]) == (1, 1, 0)
    assert sum(v for k, v in tally.items() if k != "claims") == tally["claims"]


def test_a_claim_off_by_more_than_its_tolerance_differs():
    results = _agreeing_results()
    results["table3.male_pct.VV"] = 28.2 + 3.01                   # Tabel 3: ± 3 points
    results["violence_total.anova.time.p"] = 0.001                # Figuur 2: p < .001
    card = scorecard.scorecard(results).set_index("result_id")
    assert card.loc["table3.male_pct.VV", "verdict"] == "differs"
    assert card.loc["violence_total.anova.time.p", "verdict"] == "differs"
    assert card.loc["violence_total.anova.time.p", "published"] == "p < 0.001"
    assert scorecard.counts(card.reset_index())["differs"] == 2


def test_the_tolerances_shown_come_from_the_file():
    claims = load_claims()
    texts = scorecard.tolerance_texts()
    assert texts == {name: tolerance_text(t) for name, t in claims.tolerances.items()}
    assert texts["share_t3"] == "± 3 points" and texts["mean"] == "± 15 %"
    table = scorecard.tolerance_table()
    assert table["claims"].sum() == len(scorecard.claims())
    card = scorecard.scorecard({})
    assert list(table.index) == list(dict.fromkeys(card["tolerance"]))
    assert table.loc["± 3 points", "where"] == "Tabel 3"


@pytest.mark.parametrize("key", sorted(scorecard.NOT_RECOMPUTED))
def test_not_recomputed_parts_exist_in_report_facts(key):
    import yaml

    from veiligverder import paths

    facts = yaml.safe_load(paths.REPORT_FACTS.read_text(encoding="utf-8"))
    assert key in facts


def test_not_recomputed_table_names_every_part_in_words():
    """Every part of the published facts that is not recomputed has a reader's name and reason, and
    the table shows no code name."""
    import re

    from veiligverder.reproduction.scorecard import NOT_RECOMPUTED, NOT_RECOMPUTED_READER, not_recomputed_table

    assert set(NOT_RECOMPUTED_READER) == set(NOT_RECOMPUTED)
    table = not_recomputed_table()
    assert table.index.tolist() == [NOT_RECOMPUTED_READER[k][0] for k in NOT_RECOMPUTED]
    assert table.loc["effect-size rules (Tabel 1)", "why not recomputed"] == "applied to every η² in the book, not a result"
    text = " ".join([*table.index, *table["why not recomputed"]])
    assert not re.search(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", text), text
