"""Disclosure control tested by attack.

Rule tests pin :func:`veiligverder.analysis.disclosure.withhold` at every boundary. The build test
takes the synthetic twin, cuts its VV group down to 3 families, makes one of them extreme and gives
them distinctive ids and free text, plants an (empty) ``SYNTHETIC`` marker that must NOT switch
protection off, builds the whole book, and then attacks the outputs: every VV mean, share and test
statistic the ungated analyses give for that group is searched for in every output file at 0, 1
and 2 decimals; results.json must hold them as null and list them in ``_meta.suppressed``; no
withheld share may be recomputable from its published siblings.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from veiligverder import vocab
from veiligverder.analysis.disclosure import Gate, cells_frame, dominated, withhold

from support.attack_datasets import small_group_copy
from test_privacy import find_markers


def dist(counts: dict[str, int], set_: str = "s", analysis: str = "a") -> list[dict]:
    total = sum(counts.values())
    return [{"id": k, "kind": "share", "n": v, "total": total, "set": set_, "analysis": analysis}
            for k, v in counts.items()]


# --------------------------------------------------------------------------------------------
# the rules, at every boundary


@pytest.mark.parametrize("n, withheld", [(0, False), (1, True), (4, True), (5, False), (6, False)])
def test_primary_rule_on_counts_at_the_threshold(n, withheld):
    out = withhold(cells_frame([{"id": "n.VV.families", "kind": "count", "n": n}]), threshold=5)
    assert (out == {"n.VV.families": "primary"}) is withheld
    assert withheld or out == {}


def test_a_small_share_gets_a_complementary_cell():
    """1 - the others would give a lone withheld share back: the smallest other non-empty share
    goes with it (the 'severe' 4 and 'mild' 6 together hold 10 >= 5 families)."""
    out = withhold(cells_frame(dist({"none": 10, "mild": 6, "severe": 4})), threshold=5)
    assert out == {"severe": "primary", "mild": "secondary"}


def test_complementary_cells_until_two_hold_the_threshold():
    # 1 + 2 = 3 < 5: a third cell is needed; empty cells never serve (they would protect nothing)
    out = withhold(cells_frame(dist({"a": 1, "b": 2, "c": 0, "d": 7, "e": 30})), threshold=5)
    assert out == {"a": "primary", "b": "primary", "d": "secondary"}
    # two primary cells that together hold 5: nothing more is needed
    assert withhold(cells_frame(dist({"a": 1, "b": 4, "c": 30})), threshold=5) == {"a": "primary", "b": "primary"}


def test_no_complement_possible_withholds_the_distribution():
    # 3 + 0: the only other cell holds all but 3 -> group disclosure of the whole set
    out = withhold(cells_frame(dist({"a": 3, "b": 0, "c": 30})), threshold=5)
    assert out == {"a": "primary", "b": "group disclosure", "c": "group disclosure"}


def test_every_withheld_share_survives_the_subtraction_attack():
    """Brute force over small distributions: after the gate, 1 - the published shares never pins
    a single withheld cell (at least two are withheld) and the withheld cells hold >= t units."""
    rng = np.random.default_rng(7)
    for _ in range(400):
        k = int(rng.integers(2, 6))
        counts = {f"c{i}": int(x) for i, x in enumerate(rng.integers(0, 12, k))}
        if sum(counts.values()) == 0:
            continue
        out = withhold(cells_frame(dist(counts)), threshold=5)
        held = [c for c in counts if c in out]
        if held:
            assert len(held) >= 2, (counts, out)
            assert sum(counts[c] for c in held) >= 5 or len(held) == len(counts), (counts, out)
        assert not any(1 <= counts[c] < 5 and c not in out for c in counts), (counts, out)


def test_shares_of_other_sets_are_not_touched():
    cells = dist({"none": 10, "mild": 6, "severe": 4}, "VV") + dist({"none": 10, "mild": 6, "severe": 6}, "ctl")
    cells = [{**c, "id": f"{c['set']}.{c['id']}"} for c in cells]
    out = withhold(cells_frame(cells), threshold=5)
    assert out == {"VV.severe": "primary", "VV.mild": "secondary"}


@pytest.mark.parametrize("counts, expected", [
    ({"lt1500": 12, "1500_3100": 0, "gt3100": 0}, "group disclosure"),   # all in one band
    ({"lt1500": 0, "1500_3100": 9, "gt3100": 5}, None),                  # a zero, but no band holds all but < 5
    ({"a": 20, "b": 0, "c": 0, "d": 5}, None),                           # all but 5: published
])
def test_group_disclosure(counts, expected):
    out = withhold(cells_frame(dist(counts)), threshold=5)
    assert set(out.values()) == ({expected} if expected else set())
    if expected:
        assert set(out) == set(counts)  # the zero cells too: '0 % above EUR 3100' would tell


def test_a_small_distribution_is_withheld_whole():
    out = withhold(cells_frame(dist({"yes": 0, "no": 3})), threshold=5)
    assert out == {"no": "primary", "yes": "primary"}  # 3 parents in all: nothing of it shows


def test_binary_share_with_an_unpublished_complement():
    """A 0/1 outcome's proportion: the complement is part of the set though it has no id."""
    cells = [{"id": "trauma.VV", "kind": "share", "n": 20, "total": 22, "set": "t", "analysis": "x"},
             {"id": "", "kind": "share", "n": 2, "total": 22, "set": "t", "analysis": "x"}]
    # 20 of 22 in the clinical range: all but 2 -> the share would tell nearly everyone's status
    assert withhold(cells_frame(cells), threshold=5) == {"trauma.VV": "group disclosure"}
    cells[0]["n"], cells[1]["n"] = 12, 10
    assert withhold(cells_frame(cells), threshold=5) == {}


def test_means_primary_and_dominated():
    cells = cells_frame([
        {"id": "m.VV", "kind": "mean", "n": 4, "analysis": "o"},
        {"id": "m.control", "kind": "mean", "n": 30, "analysis": "o", "dominated": True},
        {"id": "m.other", "kind": "mean", "n": 30, "analysis": "q"},
    ])
    assert withhold(cells, threshold=5) == {"m.VV": "primary", "m.control": "group disclosure"}
    assert dominated(pd.Series([2.0] * 6), threshold=5)             # SD 0: every unit's value
    assert dominated(pd.Series([0.0] * 26 + [1, 2, 3, 4.0]), threshold=5)  # 4 others: < 5
    assert not dominated(pd.Series([0.0] * 25 + [1, 2, 3, 4, 5.0]), threshold=5)
    assert not dominated(pd.Series([], dtype=float), threshold=5)


def test_tests_of_a_withheld_group_are_withheld_in_every_analysis_it_belongs_to():
    cells = dist({"none": 3, "mild": 5, "severe": 5}, "VV.base", ["within.VV", "between.base"])
    cells += dist({"none": 9, "mild": 5, "severe": 5}, "ctl.base", ["within.ctl", "between.base"])
    cells = [{**c, "id": f"{c['set']}.{c['id']}"} for c in cells]
    cells += [{"id": f"p.{a}", "kind": "stat", "analysis": a} for a in ("within.VV", "within.ctl", "between.base")]
    out = withhold(cells_frame(cells), threshold=5)
    assert out["p.within.VV"] == "test" and out["p.between.base"] == "test"
    assert "p.within.ctl" not in out and not any(k.startswith("ctl.") for k in out)


def test_the_gate_is_open_on_synthetic_data_and_names_its_rule():
    cells = cells_frame([{"id": "n", "kind": "count", "n": 2}])
    assert Gate(5, active=False).withhold(cells) == {}
    assert Gate(5).withhold(cells) == {"n": "primary: rests on fewer than 5 units"}
    assert Gate(3).withhold(cells) == {"n": "primary: rests on fewer than 3 units"}
    assert Gate(5).mark == "<5" and "`<5`" in Gate(5).why
    with pytest.raises(ValueError, match="at least 1"):
        Gate(0)


def test_unknown_cell_kind_is_an_error():
    with pytest.raises(ValueError, match="kinds"):
        withhold(cells_frame([{"id": "x", "kind": "median", "n": 3}]), threshold=5)


# --------------------------------------------------------------------------------------------
# the whole build, attacked


def _number_pattern(value: float, *, share: bool = False) -> list[re.Pattern]:
    """Regexes for a value printed at 0, 1 and 2 decimals (a share also as a percent), bounded by
    non-word characters. Only distinctive forms are searched: at least 3 digits at 0 decimals, at
    least 4 significant digits at 1 or 2 (shorter numbers such as '5.50' or '33.3' turn up by chance
    in other cells and among the report's own published values; a share of exactly 0 or 1, '0 %' or
    '100 %', is checked in results.json only)."""
    if share and value in (0.0, 1.0):
        return []
    forms = set()
    for v in ((value, value * 100) if share else (value,)):
        for d in (0, 1, 2):
            text = f"{v:.{d}f}"
            digits = len(text.replace("-", "").replace(".", "").lstrip("0"))
            if digits >= (3 if d == 0 else 4):
                forms.add(text)
    return [re.compile(rf"(?<![\w.]){re.escape(f)}(?![\w])") for f in forms]


def _is_share(result_id: str) -> bool:
    from veiligverder import design

    return ".share." in result_id or design.OUTCOMES.get(result_id.split(".")[0], {}).get("kind") == "binary"


_BASE64 = re.compile(r"[A-Za-z0-9+/=\\n]{120,}")  # images and other encoded blobs


@pytest.fixture(scope="module")
def small_build(attack_build):
    data, out, markers, _ = attack_build
    return data, out, markers


def _raw_vv_values(data: Path) -> dict[str, float]:
    """What the ungated analyses give for the VV group of the dataset: the values that must not show."""
    from veiligverder import analysis, design, measures
    from veiligverder.data import load_dataset

    ds = load_dataset(data)
    assert not ds.meta.synthetic
    m = measures.derive(ds)
    raw: dict[str, float] = {}
    for outcome in design.OUTCOMES:
        if outcome in ("violence_category", "help_grade"):
            continue
        a = analysis.analyse(m, outcome)
        raw.update({k: v for k, v in a.results.items() if ".VV." in k and ".mean." in k})
    c = analysis.analyse_category(m)
    raw.update({k: v for k, v in c.results.items() if ".VV." in k and ".share." in k})
    h = analysis.analyse_help_grade(m)
    raw["help_grade.mean.VV"] = h.results["help_grade.mean.VV"]
    return {k: float(v) for k, v in raw.items() if v is not None and np.isfinite(v)}


@pytest.mark.e2e
def test_small_group_values_never_reach_the_outputs(small_build):
    data, out, markers = small_build
    assert (out / "html" / "index.html").exists()
    results = json.loads((out / "results.json").read_text())
    assert results["_meta"]["synthetic"] is False  # the empty marker did not switch protection off
    suppressed = results["_meta"]["suppressed"]
    raw = _raw_vv_values(data)
    assert raw, "the attack needs VV values to look for"
    for key in raw:
        assert results.get(key) is None and key in suppressed, key
    for key in [k for k in results if k.endswith(".VV") and ".n." in k]:
        assert results[key] is None or results[key] == 0 or results[key] >= 5, key
    for key in ("n.VV.families", "table4.n.VV", "violence_total.anova.interaction.p", "help_grade.p"):
        assert results[key] is None and key in suppressed, key
    # distinctive ids and free text
    assert find_markers(out, markers) == {}
    # the values, printed any way, in any text output (the theme's own assets excepted)
    patterns = {k: _number_pattern(v, share=_is_share(k)) for k, v in raw.items()}
    assert any(patterns.values()) and raw["violence_total.mean.VV.baseline"] >= 100  # the extreme family shows
    hits: dict[str, list[str]] = {}
    for path in out.rglob("*"):
        if not path.is_file() or path.suffix not in {".html", ".ipynb", ".json", ".txt", ".js", ".md"}:
            continue
        if "_static" in path.parts:
            continue
        text = _BASE64.sub("", path.read_text(encoding="utf-8", errors="ignore"))
        for key, pats in patterns.items():
            for pat in pats:
                if pat.search(text):
                    hits.setdefault(key, []).append(f"{path.relative_to(out)}: {pat.pattern}")
    assert hits == {}, f"withheld values found in the outputs: {hits}"


@pytest.mark.e2e
def test_no_withheld_share_is_recomputable(small_build):
    _, out, _ = small_build
    results = json.loads((out / "results.json").read_text())
    sets: dict[str, list] = {}
    for key, value in results.items():
        m = re.fullmatch(r"(violence_category\.share\.\w+\.\w+|help_satisfaction\.share\.\w+)\.[a-z_]+", key)
        if m and key.count(".") == (4 if key.startswith("violence") else 3):
            sets.setdefault(m.group(1), []).append(value)
    assert sets and any(None in v for v in sets.values())
    for name, values in sets.items():
        held = sum(v is None for v in values)
        # one withheld share would be 1 minus the published ones; two or more give only their sum
        assert held != 1, f"{name}: {values} (1 - the others gives the withheld one)"


# --------------------------------------------------------------------------------------------
# group disclosure on a full-sized group, in process (no build): the twin as if it were real data


@pytest.fixture(scope="module")
def real_twin(synthetic_dataset):
    """The twin with its manifest ignored (as real data), every VV parent in the lowest income band
    and every VV parent giving the help the grade 7."""
    import dataclasses

    from veiligverder import analysis, measures

    ds = synthetic_dataset
    fam = ds.families.set_index("family_id")["group"]
    par = ds.parents.copy()
    vv = par["family_id"].map(fam).eq("VV")
    par.loc[vv, "income"] = "lt1500"
    par.loc[vv & par["help_grade"].notna(), "help_grade"] = 7.0
    real = dataclasses.replace(ds, parents=par, meta=dataclasses.replace(ds.meta, synthetic=False))
    m = measures.derive(real)
    return analysis.Study(real, m, {}, dict(m.keys), disclosure_threshold=5)


def test_all_vv_parents_in_one_income_band_withholds_the_vv_distribution(real_twin):
    from veiligverder.analysis import baseline

    t3 = real_twin.gate_table(*baseline.background_table(real_twin.dataset))
    income = t3.table.xs("net monthly household income", level="variable")
    assert (income["VV"] == "<5").all()                   # the zero cells too
    assert (income["control"] != "<5").all()              # the control group's bands stay
    # the test compares a withheld group: the one cell that shows it (first row) and its verdict
    assert income["test"].iloc[0] == "<5" and income["difference"].iloc[0] == "<5"
    assert income["test"].iloc[1:].eq("").all()         # the test stands once per variable
    assert t3.withheld["table3.net_monthly_income_pct.gt3100.VV"].startswith("group disclosure")
    assert t3.results["table3.net_monthly_income_pct.lt1500.VV"] is None
    assert t3.results["table3.net_monthly_income_pct.p"] is None
    assert t3.results["table3.net_monthly_income_pct.lt1500.control"] is not None
    # a variable where every VV category holds 0 or at least 5 parents is untouched
    assert t3.results["table3.male_pct.p"] is not None and t3.results["table3.male_pct.VV"] is not None


def test_all_vv_answers_equal_withholds_mean_and_test(real_twin):
    """A Welch t with df = n - 1 and the control's SD would give away that every VV grade is 7."""
    h = real_twin.analyse_help_grade()
    assert h.withheld["help_grade.mean.VV"].startswith("group disclosure")
    assert h.results["help_grade.mean.VV"] is None and h.results["help_grade.p"] is None
    assert np.isnan(h.summary.set_index("group").loc["VV", "mean"]) and np.isnan(h.test["p_unc"].iloc[0])
    assert h.results["help_grade.mean.control"] is not None
    assert h.results["help_grade.n.VV"] >= 5            # the group's size is not the secret here


# --------------------------------------------------------------------------------------------
# odd datasets build whole: one VV family, a group without children


@pytest.mark.e2e
def test_one_vv_family_without_children_runs_every_chapter(other_build):
    """A contract-valid dataset whose VV group is a single family without children (the shared
    ``other_build``): every chapter runs, child outcomes say why they cannot be estimated, and
    nothing of that family shows."""
    data, out = other_build
    assert len(list((out / "notebooks").glob("*.ipynb"))) == 15
    results = json.loads((out / "results.json").read_text())
    assert results["n.VV.families"] is None and results["n.VV.children"] == 0  # zero rests on nobody
    assert results["child_trauma.n.VV"] == 0 and results["child_trauma.anova.interaction.p"] is None
    assert results["violence_total.mean.VV.baseline"] is None
    assert "violence_total.mean.VV.baseline" in results["_meta"]["suppressed"]
    text = (out / "notebooks" / "ch5_3_trauma.ipynb").read_text()
    assert "not estimable on this dataset: no VV child" in text


def test_four_vv_families_withhold_every_vv_number(synthetic_dataset, tmp_path):
    """Four VV families (one below the threshold): each outcome's VV cells and tests are withheld,
    the control group's means are not, in process (the build path is tested above)."""
    from veiligverder import analysis, design

    data, _ = small_group_copy(Path(synthetic_dataset.meta.path), tmp_path / "vv4", n_vv=4, extreme=False, cohort=100)
    study = analysis.load_study(data)
    assert not study.synthetic
    small = 0
    for outcome, spec in design.OUTCOMES.items():
        if spec["kind"] == "between" or outcome == "violence_category":
            continue
        n_vv = analysis.analyse(study.measures, outcome).n("VV")  # ungated: the truth behind the gate
        a = study.analyse(outcome)
        if n_vv >= 1:  # 4 families, or the parents or children of 4 families (5 or more children too)
            small += 1
            assert a.results[f"{outcome}.n.VV"] is None, outcome
            assert a.results[f"{outcome}.mean.VV.baseline"] is None, outcome
            assert all(a.results[f"{outcome}.anova.{s}.{k}"] is None for s in vocab.SOURCES for k in ("F", "p", "np2"))
            assert a.withheld[f"{outcome}.n.VV"].startswith("primary"), outcome
    assert small >= 10
    c = study.analyse_category()
    assert all(v is None for k, v in c.results.items() if ".VV." in k or k.endswith(".VV") or "group_p" in k)
    # the control group's change rests on the control families alone: published
    assert c.results["violence_category.change_p.control"] is not None
    assert c.results["violence_category.n.control"] >= 5
