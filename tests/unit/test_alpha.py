"""Cronbach's alpha: a hand example, pingouin/R reference values, and the per-scale table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

from veiligverder import contract
from veiligverder.data.dataset import Dataset, DatasetMeta
from veiligverder.instruments import cronbach_alpha, cronbach_alpha_table, item_values, load_spec


def test_alpha_hand_example_with_listwise_deletion():
    # items a, b, c over four complete rows; the fifth row has a missing answer and is dropped.
    # var(a) = 5/3, var(b) = 2, var(c) = 1 (ddof 1): sum 14/3; row sums 4, 7, 9, 12: var 34/3.
    # alpha = 3/2 * (1 - (14/3) / (34/3)) = 15/17.
    data = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, np.nan], "c": [1, 3, 3, 3, 1]})
    assert cronbach_alpha(data) == pytest.approx(15 / 17, abs=1e-12)


def test_alpha_matches_pingouin_documented_value():
    # pingouin 0.7 docstring of cronbach_alpha: dataset "cronbach_wide_missing", listwise deletion,
    # 0.8016949152542373 (= R psych::alpha(data, use = "complete.obs")).
    data = pg.read_dataset("cronbach_wide_missing")
    assert cronbach_alpha(data) == pytest.approx(0.8016949152542373, abs=1e-12)


def test_alpha_matches_pingouin_on_random_items():
    rng = np.random.default_rng(7)
    trait = rng.normal(size=300)
    data = pd.DataFrame({f"i{j}": np.round(trait + rng.normal(scale=1.2, size=300)) for j in range(6)})
    data = data.mask(rng.random(data.shape) < 0.05)
    expected = pg.cronbach_alpha(data=data, nan_policy="listwise")[0]
    assert cronbach_alpha(data) == pytest.approx(expected, abs=1e-12)


def test_alpha_is_nan_when_undefined():
    assert np.isnan(cronbach_alpha(pd.DataFrame({"a": [1.0, 2.0]})))               # one item
    assert np.isnan(cronbach_alpha(pd.DataFrame({"a": [1.0], "b": [2.0]})))        # one row
    assert np.isnan(cronbach_alpha(pd.DataFrame({"a": [1.0, 1.0], "b": [2.0, 2.0]})))  # no variance


def _random_table(table: str, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {}
    for prefix, block in contract.table_spec(table)["items"].items():
        answers = rng.integers(block["min"], block["max"] + 1, size=(n, block["n"])).astype(float)
        answers[rng.random(answers.shape) < 0.02] = np.nan
        cols.update(dict(zip(contract.item_columns(prefix), answers.T)))
    return pd.DataFrame(cols)


def test_alpha_table_has_one_row_per_item_scale_and_matches_the_item_values():
    parents = _random_table("parents", 200, seed=1)
    children = _random_table("children", 150, seed=2)
    table = cronbach_alpha_table({"parents": parents, "children": children})
    assert list(table.columns) == ["scale", "n", "items", "alpha"]
    assert table["scale"].is_unique
    # CTS violence: 33 non-negotiation items, alpha of the incident counts over complete rows
    spec = load_spec("cts2s")
    values = item_values(parents, spec, "violence")
    row = table.set_index("scale").loc["cts2s_violence"]
    assert row["items"] == 33
    assert row["n"] == int(values.notna().all(axis=1).sum())
    assert row["alpha"] == pytest.approx(pg.cronbach_alpha(values, nan_policy="listwise")[0], abs=1e-12)
    # a count scale uses 0/1 hits (code >= 3) on answered items
    hits = item_values(parents, spec, "severe_count")
    assert set(np.unique(hits.stack())) <= {0.0, 1.0}
    assert table.set_index("scale").loc["cts2s_severe_count", "alpha"] == pytest.approx(cronbach_alpha(hits))
    # products, composites and one-item scales have no alpha
    assert not {"auditc_drinks_per_week", "simspr_insecurity", "sis_insecurity"} & set(table["scale"])
    # reverse keys are applied before alpha: KIDSCREEN psychological uses reversed items 11 and 12
    kid = item_values(children, load_spec("kid"), "psychological")
    raw = children["kid_11"]
    assert ((kid["kid_11"] == 6 - raw) | raw.isna()).all()


def test_alpha_table_accepts_a_dataset():
    parents = _random_table("parents", 60, seed=3)
    children = _random_table("children", 60, seed=4)
    ds = Dataset(pd.DataFrame({"family_id": [], "group": []}), parents, children, DatasetMeta(Path("."), "h", True))
    expected = cronbach_alpha_table({"parents": parents, "children": children})
    pd.testing.assert_frame_equal(cronbach_alpha_table(ds), expected)
