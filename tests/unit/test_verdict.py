"""The one verdict engine (veiligverder.reproduction.verdict) and the one claims file it reads.

Every rule is tested at its boundary: distances and range ends are inclusive (with 1e-9 of slack
for floating-point rounding), significance and direction limits strict; no value, NaN or infinity
is 'not computable' and a value the disclosure gate withheld is 'withheld' - neither is a pass.
The last tests check that the scorecard and the calibration judge a shared claim with the very same
tolerance object from reproduction/claims.yml, and that the twin's generator reads the file without
importing the layers above it.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from veiligverder import paths
from veiligverder.contract.claims import RULES, Claims, ClaimsError, Tolerance, load_claims, parse_claim
from veiligverder.reproduction import calibration, scorecard
from veiligverder.reproduction.verdict import (AGREES, DIFFERS, NOT_COMPUTABLE, SLACK, WITHHELD, judge, meets,
                                               published_text, tolerance_text)


def claim(value, tolerance, **extra):
    """A stand-alone claim with one tolerance (as the file writes it)."""
    return parse_claim({"id": "test.claim", "source": "test", "value": value, "tolerance": tolerance, **extra})


# ------------------------------------------------------------------------------------ every rule at its boundary
@pytest.mark.parametrize(
    ("value", "tolerance", "achieved", "verdict"),
    [
        # exact: equal or not (counts)
        (34, "exact", 34, AGREES),
        (34, "exact", 34.0, AGREES),
        (34, "exact", 33, DIFFERS),
        (34, "exact", 34.000001, DIFFERS),
        # absolute: |x - v| <= d, both sides, at d exactly (0.93 - 0.88 is 0.05000000000000004 in floats)
        (0.88, {"absolute": 0.05}, 0.93, AGREES),
        (0.88, {"absolute": 0.05}, 0.83, AGREES),
        (0.88, {"absolute": 0.05}, 0.9301, DIFFERS),
        (0.88, {"absolute": 0.05}, 0.8299, DIFFERS),
        # points: the same distance, in percentage points
        (28.2, {"points": 3}, 31.2, AGREES),
        (28.2, {"points": 3}, 25.2, AGREES),
        (28.2, {"points": 3}, 31.21, DIFFERS),
        (28.2, {"points": 3}, 25.19, DIFFERS),
        # relative: |x - v| <= r |v|, also for a negative published value
        (100, {"relative": 0.15}, 115.0, AGREES),
        (100, {"relative": 0.15}, 85.0, AGREES),
        (100, {"relative": 0.15}, 115.01, DIFFERS),
        (100, {"relative": 0.15}, 84.99, DIFFERS),
        (-20, {"relative": 0.15}, -23.0, AGREES),
        (-20, {"relative": 0.15}, -23.01, DIFFERS),
        # significant: p < a, strictly (p = a is not 'p < a')
        ("< .001", {"significant": 0.001}, 0.000999, AGREES),
        ("< .001", {"significant": 0.001}, 0.001, DIFFERS),
        # not_significant: p >= a (p = a is not significant)
        ("not significant", {"not_significant": 0.05}, 0.05, AGREES),
        ("not significant", {"not_significant": 0.05}, 0.0499, DIFFERS),
        ("not significant", {"not_significant": 0.05}, 1.0, AGREES),
        # range: lo <= x <= hi, both ends in; an open end
        ("0.52 to 0.89", {"range": [0.52, 0.89]}, 0.52, AGREES),
        ("0.52 to 0.89", {"range": [0.52, 0.89]}, 0.89, AGREES),
        ("0.52 to 0.89", {"range": [0.52, 0.89]}, 0.5199, DIFFERS),
        ("0.52 to 0.89", {"range": [0.52, 0.89]}, 0.8901, DIFFERS),
        ("not excessive", {"range": [-math.inf, 8]}, 8, AGREES),
        ("not excessive", {"range": [-math.inf, 8]}, -1e9, AGREES),
        ("not excessive", {"range": [-math.inf, 8]}, 8.01, DIFFERS),
        # above / below: strict (no change is not an increase)
        ("increase", {"above": 0}, 1e-12, AGREES),
        ("increase", {"above": 0}, 0.0, DIFFERS),
        ("just below 6", {"below": 6}, 5.99, AGREES),
        ("just below 6", {"below": 6}, 6.0, DIFFERS),
    ],
)
def test_every_rule_at_its_boundary(value, tolerance, achieved, verdict):
    assert judge(claim(value, tolerance), achieved).verdict == verdict


def test_slack_is_for_rounding_only():
    c = claim(10.0, {"absolute": 1.0})
    assert judge(c, 11.0 + SLACK / 2).ok
    assert not judge(c, 11.0 + 1e-6).ok


@pytest.mark.parametrize("missing", [None, math.nan, math.inf, -math.inf, pd.NA, float("nan")])
@pytest.mark.parametrize("tolerance", ["exact", {"points": 3}, {"not_significant": 0.05}, {"range": [0, 1]}])
def test_no_value_is_not_computable_and_never_a_pass(missing, tolerance):
    value = 1 if tolerance in ("exact", {"points": 3}) else "words"
    j = judge(claim(value, tolerance), missing)
    assert (j.verdict, j.ok) == (NOT_COMPUTABLE, False)


@pytest.mark.parametrize("achieved", [34, 0.0, None, math.nan])
def test_withheld_wins_over_any_value(achieved):
    j = judge(claim(34, "exact"), achieved, withheld=True)
    assert (j.verdict, j.ok, j.tolerance) == (WITHHELD, False, "exact")


def test_factor_turns_a_share_into_the_printed_percent():
    c = claim(20.0, {"points": 5}, factor=100)
    assert judge(c, 0.25).ok and not judge(c, 0.2501).ok
    assert judge(claim(0.0, "exact", factor=100), 0.0).ok


def test_a_result_that_is_not_a_number_names_the_claim():
    with pytest.raises(TypeError, match=r"test\.claim \(points\)"):
        judge(claim(28.2, {"points": 3}), "28.2")


@pytest.mark.parametrize(
    ("tolerance", "text"),
    [("exact", "exact"), ({"absolute": 0.05}, "± 0.05"), ({"points": 3}, "± 3 points"),
     ({"relative": 0.15}, "± 15 %"), ({"significant": 0.001}, "p < 0.001"), ({"not_significant": 0.05}, "p ≥ 0.05"),
     ({"range": [0.52, 0.89]}, "0.52 to 0.89"), ({"range": [-math.inf, 8]}, "≤ 8"), ({"range": [1, math.inf]}, "≥ 1"),
     ({"above": 0}, "> 0"), ({"below": 6}, "< 6")],
)
def test_tolerance_text(tolerance, text):
    assert tolerance_text(claim(1.0, tolerance).tolerance) == text


def test_published_text_shows_the_threshold_of_a_p_claim():
    assert published_text(claim("< .001", {"significant": 0.001})) == "p < 0.001"
    assert published_text(claim("not significant", {"not_significant": 0.05})) == "n.s. (p ≥ 0.05)"
    assert published_text(claim(28.2, {"points": 3})) == 28.2


def test_the_file_documents_exactly_the_rules_the_engine_implements():
    header = paths.CLAIMS.read_text(encoding="utf-8").split("\ntolerances:")[0]
    documented = set(re.findall(r"^#\s+(?:(exact)\s|\{(\w+):)", header, flags=re.M))
    assert {a or b for a, b in documented} == set(RULES)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_is_implemented(rule):
    limit = {"none": None, "number": 0.5, "pair": (0.0, 1.0)}[RULES[rule]]
    tol = Tolerance(rule, limit)
    assert isinstance(tolerance_text(tol), str)
    assert isinstance(meets(tol, 0.5, 0.5), bool)


# ------------------------------------------------------------------------------------ malformed entries
@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"value": 1, "tolerance": {"about": 5}}, r"claims\.yml test\.claim: tolerance .* is not like"),
        ({"value": 1, "tolerance": "nearly"}, "is not like"),
        ({"value": 1, "tolerance": {"points": -3}}, r"rule 'points' needs one number"),
        ({"value": "x", "tolerance": {"range": [0.9, 0.5]}}, r"rule 'range' needs \[lo, hi\] with lo <= hi"),
        ({"value": "x", "tolerance": {"significant": "p < .05"}}, r"rule 'significant' needs one number"),
        ({"value": "about 5", "tolerance": {"points": 3}}, r"test\.claim: rule 'points' compares with the published value"),
        ({"value": 1, "tolerance": "exact", "result": "n.x"}, r"test\.claim: a claim with a result id needs a label"),
    ],
)
def test_a_malformed_entry_names_the_file_the_id_and_the_rule(entry, message):
    with pytest.raises(ClaimsError, match=message):
        parse_claim({"id": "test.claim", "source": "test", **entry})


def test_duplicate_ids_and_unknown_sets_are_refused():
    base = {"id": "a", "set": "s", "source": "x", "value": 1}
    with pytest.raises(ClaimsError, match=r"duplicate claim ids \['a'\]"):
        Claims({"sets": {"s": {"tolerance": "exact"}}, "claims": [base, base]})
    with pytest.raises(ClaimsError, match=r"a: unknown set 'other'"):
        Claims({"sets": {"s": {"tolerance": "exact"}}, "claims": [{**base, "set": "other"}]})


# ------------------------------------------------------------------------------------ the claims file
def _resolve(doc, dotted: str):
    """A dotted report_facts key; a key may itself hold dots ('8.5-9'), so the longest match wins."""
    node, parts = doc, dotted.split(".")
    while parts:
        for n in range(len(parts), 0, -1):
            key = ".".join(parts[:n])
            if isinstance(node, list) and key.isdigit():
                node, parts = node[int(key)], parts[n:]
                break
            if isinstance(node, dict) and key in node:
                node, parts = node[key], parts[n:]
                break
        else:
            raise KeyError(dotted)
    return node


def test_every_claim_cites_a_report_facts_key_with_the_same_number():
    facts = yaml.safe_load(paths.REPORT_FACTS.read_text(encoding="utf-8"))
    for c in load_claims().claims():
        cited = _resolve(facts, c.source)
        if isinstance(c.value, (int, float)) and isinstance(cited, (int, float)):
            assert float(c.value) == pytest.approx(float(cited)), c.id


def test_every_named_tolerance_judges_a_claim_and_the_alphas_share_one():
    claims = load_claims()
    used = {c.tolerance.name for c in claims.claims()}
    assert set(claims.tolerances) <= used, set(claims.tolerances) - used
    # reliability_table heads its column with this one tolerance ('within 0.05')
    assert {c.tolerance for c in claims.targets("alphas")} == {claims.tolerances["alpha"]}


def test_every_claim_is_checked_by_the_scorecard_or_the_calibration():
    claims = load_claims()
    assert all(c.result or c.stat for c in claims.claims())
    scored = claims.scored()
    assert len({c.result for c in scored}) == len(scored), "two claims compare with the same result id"


# ------------------------------------------------------------------------------------ one tolerance for both
def test_scorecard_and_calibration_use_the_same_claim_and_tolerance_object():
    on_card = {c.id: c for c in scorecard.claims()}
    calibrated = {c.id: c for c in calibration.calibration_targets()}
    shared = on_card.keys() & calibrated.keys()
    assert len(shared) > 150
    for cid in shared:
        assert on_card[cid] is calibrated[cid], cid
    male = on_card["t3.male.VV"]
    assert male.tolerance is calibrated["t3.male.VV"].tolerance is load_claims().tolerances["share_t3"]
    assert (male.tolerance.rule, male.tolerance.limit) == ("points", 3.0)


def test_scorecard_and_calibration_give_a_shared_claim_the_same_verdict(synthetic_dataset):
    # Tabel 3, VV male %: the calibration recomputes it from the twin; the scorecard reads the
    # same number as a result of results.json. Same tolerance text, same verdict.
    table = calibration.calibration_table(synthetic_dataset, target_set="table3").set_index("target")
    row = table.loc["t3.male.VV"]
    card = scorecard.scorecard({"table3.male_pct.VV": row["achieved"]}).set_index("result_id")
    assert card.loc["table3.male_pct.VV", "tolerance"] == row["tolerance"] == "± 3 points"
    assert (card.loc["table3.male_pct.VV", "verdict"] == AGREES) is bool(row["ok"]) is True
    off = scorecard.scorecard({"table3.male_pct.VV": row["achieved"] + 3.5}).set_index("result_id")
    assert off.loc["table3.male_pct.VV", "verdict"] == DIFFERS


def test_the_generator_reads_the_claims_without_the_layers_above_it():
    code = ("import sys, veiligverder.synthetic as s; s.load_targets().value('t3.male.VV'); "
            "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('veiligverder.')}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(eval(out))  # noqa: S307 - our own printed list
    assert not loaded & {"analysis", "reproduction", "report", "design", "stats", "pipeline"}, loaded
