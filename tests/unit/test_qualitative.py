"""Schema and published-count checks of the coded qualitative tables in data/qualitative/.

The expected counts come from data/reference/report_facts.yml (section ``qualitative``), which
transcribes the report (sections 3.4 and 4.2.6); the coding rules are in data/qualitative/README.md.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from veiligverder import paths

QUAL = paths.QUALITATIVE_DIR
NOT_REPORTED = "not reported"
ID_PATTERNS = {"case_evaluations.csv": r"CE\d{2}", "interviews.csv": r"I\d{2}"}
COLUMNS = {
    "themes.csv": ["code", "label", "description", "report_section"],
    "case_evaluations.csv": ["case_id", "vignette", "team", "violence", "family_composition", "tools_used",
                             "network_involved", "themes", "outcome", "report_section"],
    "interviews.csv": ["interview_id", "respondent_role", "region", "grade_low", "grade_high", "themes"],
    "interview_sample.csv": ["attribute", "category", "n", "report_section"],
}


def _read(name: str) -> pd.DataFrame:
    # keep_default_na=False: a literal 'NA' or an empty cell must stay visible to the checks below
    return pd.read_csv(QUAL / name, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def facts() -> dict:
    return yaml.safe_load(paths.REPORT_FACTS.read_text(encoding="utf-8"))["qualitative"]


@pytest.fixture(scope="module")
def theme_codes() -> set[str]:
    return set(_read("themes.csv")["code"])


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_columns_exact_and_no_empty_cells(name):
    table = _read(name)
    assert list(table.columns) == COLUMNS[name]
    blank = table.apply(lambda col: col.str.strip().eq(""))
    assert not blank.to_numpy().any(), f"{name}: empty cells at rows {list(table.index[blank.any(axis=1)])}"


@pytest.mark.parametrize("name", sorted(ID_PATTERNS))
def test_ids_unique_and_well_formed(name):
    ids = _read(name).iloc[:, 0]
    assert ids.is_unique
    assert ids.str.fullmatch(ID_PATTERNS[name]).all(), list(ids[~ids.str.fullmatch(ID_PATTERNS[name])])


def test_sixteen_case_evaluations(facts):
    cases = _read("case_evaluations.csv")
    assert len(cases) == facts["case_evaluations"] == 16
    assert list(cases["case_id"]) == [f"CE{i:02d}" for i in range(1, 17)]


def test_network_involved_values():
    assert set(_read("case_evaluations.csv")["network_involved"]) <= {"yes", "no", "unclear"}


@pytest.mark.parametrize("name", ["case_evaluations.csv", "interviews.csv"])
def test_theme_codes_all_defined(name, theme_codes):
    used = {code for cell in _read(name)["themes"] for code in cell.split(";")}
    unknown = used - theme_codes - {NOT_REPORTED}
    assert not unknown, f"{name}: theme codes not in themes.csv: {sorted(unknown)}"


def test_a_theme_cell_is_either_not_reported_or_a_list_of_codes():
    for cell in _read("case_evaluations.csv")["themes"]:
        parts = cell.split(";")
        assert parts == [NOT_REPORTED] or NOT_REPORTED not in parts, cell
        assert len(parts) == len(set(parts)), f"repeated theme in {cell!r}"


def test_theme_codes_match_the_chapter_4_fragments(theme_codes):
    fragments = {p.stem for p in (paths.BOOK_DIR / "ch4_text").glob("*.md")}
    assert theme_codes == fragments
    assert all(re.fullmatch(r"[a-z_]+", code) for code in theme_codes)


def test_every_theme_is_raised_somewhere(theme_codes):
    used = {code for name in ("case_evaluations.csv", "interviews.csv")
            for cell in _read(name)["themes"] for code in cell.split(";")}
    assert theme_codes <= used


def test_interview_roles_match_the_report(facts):
    detail = facts["client_interviews_detail"]
    roles = _read("interviews.csv")["respondent_role"].value_counts().to_dict()
    assert roles == {"mother": detail["mothers"], "father": detail["fathers"], "child": detail["children"]}
    assert len(_read("interviews.csv")) == facts["client_interviews"]["reported_in_3_4_1"]


def _band_label(low: float, high: float) -> str:
    """The report_facts label of a grade band: '6-6.5' for a range, '4' for a single grade."""
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"


def test_band_label_examples():
    assert _band_label(6.0, 6.5) == "6-6.5"
    assert _band_label(8.5, 9.0) == "8.5-9"
    assert _band_label(4.0, 4.0) == "4"


def test_parent_grade_bands_match_report_facts(facts):
    interviews = _read("interviews.csv")
    parents = interviews[interviews["respondent_role"].isin(["mother", "father"])]
    low = pd.to_numeric(parents["grade_low"], errors="raise")
    high = pd.to_numeric(parents["grade_high"], errors="raise")
    assert (low <= high).all() and low.between(1, 10).all() and high.between(1, 10).all()
    bands = pd.Series([_band_label(lo, hi) for lo, hi in zip(low, high)]).value_counts().to_dict()
    assert bands == facts["parent_grades_of_vv"]
    child = interviews[interviews["respondent_role"] == "child"]
    assert (child[["grade_low", "grade_high"]] == "not applicable").all().all()


def test_interview_sample_counts_match_report_facts(facts):
    sample = _read("interview_sample.csv")
    sample["n"] = pd.to_numeric(sample["n"], errors="raise").astype(int)

    def counts(attribute: str) -> dict[str, int]:
        rows = sample[sample["attribute"] == attribute]
        return dict(zip(rows["category"], rows["n"]))

    assert counts("region") == facts["client_interviews_detail"]["regions"]
    assert counts("grade_band") == facts["parent_grades_of_vv"]
    assert sorted(counts("respondents").values()) == sorted(
        [facts["client_interviews"]["reported_in_3_4_1"], facts["client_interviews"]["reported_in_ch4_intro"]])
    assert list(counts("expert_session").values()) == [facts["expert_group_session"]["professionals"]]
    parents = facts["client_interviews_detail"]["mothers"] + facts["client_interviews_detail"]["fathers"]
    for attribute in ("parent_household", "family_situation", "closure", "safety_contribution"):
        assert sum(counts(attribute).values()) == parents, attribute
