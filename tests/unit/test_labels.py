"""The one labels table (veiligverder.contract.labels): complete for the codebook, in its order,
and the number and table formats every reader-facing table goes through."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from veiligverder import contract
from veiligverder.contract import labels

CATEGORY_COLUMNS = [(t, c) for t in contract.TABLES for c, spec in contract.table_spec(t)["columns"].items()
                    if spec.get("type") == "category"]


def test_the_codebook_has_category_columns():
    assert ("parents", "education") in CATEGORY_COLUMNS and ("parents", "income") in CATEGORY_COLUMNS


@pytest.mark.parametrize("table, column", CATEGORY_COLUMNS)
def test_every_codebook_category_has_a_label_in_codebook_order(table, column):
    listed = labels.categories(labels.codebook_list(table, column))
    assert list(listed) == labels.codebook_categories(table, column)
    assert all(isinstance(v, str) and v and "_" not in v for v in listed.values())


def test_category_labels_are_readable():
    assert labels.category_label("education", "mavo_lbo") == "lower secondary (mavo / lbo)"
    assert labels.category_label("income", "lt1500") == "below EUR 1500"
    assert labels.category_label("income", "1500_3100") == "EUR 1500 to 3100"  # not the integer 15003100
    assert labels.category_label("children_over3", "3plus") == "3 or more"


def test_table_order_follows_the_codebook_not_the_alphabet():
    assert labels.ordered(["gt3100", "1500_3100", "lt1500"], "net_monthly_income_pct") == ["lt1500", "1500_3100", "gt3100"]
    assert labels.ordered(["55plus", "25_34", "lt25"], "age_pct") == ["lt25", "25_34", "55plus"]
    # a category the list does not know goes last, in the order given
    assert labels.ordered(["zz", "other", "dutch"], "migration_pct") == ["dutch", "other", "zz"]


def test_every_tabel3_variable_and_tabel4_line_has_a_label():
    from veiligverder.analysis.baseline import TABLE4_MEANS, TABLE4_SHARES

    for line in [*TABLE4_MEANS, *TABLE4_SHARES]:
        assert "_" not in labels.label("problems", line)
    assert labels.variable_label("children_over3_pct") == "children older than 3 in the family"
    assert list(labels.variable_categories("age_pct").values())[0] == "under 25"


def test_a_missing_label_fails_loudly():
    with pytest.raises(labels.LabelError, match="no label for 'nonsense_code'"):
        labels.label("tests", "nonsense_code")


def test_test_names_and_significance_in_words():
    assert labels.test_label("fisher-freeman-halton") == "Fisher-Freeman-Halton test"
    assert labels.test_label("chi2") == "chi-square test"
    assert labels.fmt_test("fisher-freeman-halton", 0.95) == "Fisher-Freeman-Halton test, p = .950"
    assert labels.fmt_test("welch", float("nan")) == "not computable"
    assert labels.significance(0.95) == "not significant"
    assert labels.significance(0.01) == "significant"
    assert labels.significance(float("nan")) == ""


@pytest.mark.parametrize("x, digits, shown", [
    (-0.001, 2, "0.00"), (-0.004, 2, "0.00"), (-0.005001, 2, "-0.01"), (-0.0, 1, "0.0"), (0.0, 0, "0"),
    (-0.4, 0, "0"), (1.25, 1, "1.2"), (-3.14159, 2, "-3.14"), (12, 0, "12"),
    (float("nan"), 2, "–"), (None, 1, "–"), (float("inf"), 1, "–"), (np.float64(-0.0001), 3, "0.000"),
])
def test_fmt_num(x, digits, shown):
    assert labels.fmt_num(x, digits) == shown


def test_fmt_p():
    assert labels.fmt_p(0.0004) == "p < .001"
    assert labels.fmt_p(0.0341) == "p = .034"
    assert labels.fmt_p(float("nan")) == "p not computable"


def frame() -> pd.DataFrame:
    # -0.0: what round(-0.001, 2) gives, and what pandas would print as -0.00
    return pd.DataFrame({"effect (d)": [0.06, round(-0.001, 2), math.nan], "note": ["x" * 120, None, "short"]},
                        index=pd.Index(["total violence", "partner violence", "child"], name="outcome"))


def test_display_frame_formats_cells_for_readers():
    shown = labels.display_frame(frame())
    assert list(shown["effect (d)"]) == ["0.06", "0.00", "–"]  # the column's decimals, no -0
    assert shown.loc["partner violence", "note"] == "–"
    assert shown.columns.name == "outcome" and shown.index.name is None  # the index name in the corner


def test_reader_table_html_is_whole_with_one_header_row():
    table = labels.reader_table(frame())
    html = table._repr_html_()
    assert "x" * 120 in html and "…" not in html and "..." not in html
    assert html.count("<tr") == 4  # one header row and three body rows
    assert "NaN" not in html and "-0.0" not in html and "<th>outcome</th>" in html


def test_reader_table_stays_a_reader_table_and_keeps_its_data():
    table = labels.reader_table(frame().assign(claim=["a", "b", "c"]))
    table.attrs["ids"] = "kept"
    again = labels.reader_table(table)
    assert again.attrs["ids"] == "kept"
    for derived in (table.set_index("claim"), table[["note"]], table.rename(index=str.upper),
                    table.astype(object).mask(table.isna(), "–")):
        assert isinstance(derived, labels.ReaderTable)
    assert "<th>claim</th>" in table.set_index("claim")._repr_html_()
    assert table.loc["total violence", "effect (d)"] == 0.06  # the data are untouched


def test_multiindex_rows_render_without_a_names_row():
    idx = pd.MultiIndex.from_tuples([("age", "under 25"), ("age", "25 to 34")], names=["variable", "category"])
    html = labels.reader_table(pd.DataFrame({"VV": [2.6, 33.3]}, index=idx))._repr_html_()
    assert html.count("<tr") == 3 and "variable" not in html and 'rowspan="2"' in html


def test_tabel3_uses_labels_codebook_order_and_shows_each_test_once(tmp_path):
    from tests.support.datasets import write_contract_dataset
    from veiligverder.analysis import baseline
    from veiligverder.data import load_dataset

    dataset = load_dataset(write_contract_dataset(tmp_path / "d", families=60, seed=3))
    table, results = baseline.background_table(dataset)
    income = table.xs("net monthly household income", level="variable")
    assert list(income.index) == [c for c in ["below EUR 1500", "EUR 1500 to 3100", "above EUR 3100"]
                                  if c in income.index]
    assert income["test"].iloc[0].startswith(("chi-square test, p = ", "Fisher-Freeman-Halton test", "not computable"))
    assert (income["test"].iloc[1:] == "").all() and (income["difference"].iloc[1:] == "").all()
    assert income["difference"].iloc[0] in {"significant", "not significant", ""}
    assert "Ns" not in table.columns
    text = " ".join(map(str, [*table.index.get_level_values(0), *table.index.get_level_values(1)]))
    assert "_" not in text
