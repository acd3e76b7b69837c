"""derive scores the item tables in the order given (no reordered copy of the largest tables) and
puts only the scores and the non-item columns in key order (issue 13: validate memory)."""

from __future__ import annotations

import pandas as pd

from veiligverder import measures


def test_unsorted_item_tables_are_scored_as_given_and_measures_equal_the_sorted_ones(synthetic_dataset, monkeypatch):
    ds = synthetic_dataset
    shuffled = type(ds)(families=ds.families, parents=ds.parents.sample(frac=1, random_state=1),
                        children=ds.children.sample(frac=1, random_state=2), meta=ds.meta)
    seen = []
    real = measures.score_table
    monkeypatch.setattr(measures, "score_table", lambda table, name, **kw: seen.append(table) or real(table, name, **kw))
    got = measures.derive(shuffled)
    assert seen[0] is shuffled.parents and seen[1] is shuffled.children  # not a sorted copy
    want = measures.derive(ds)
    for name in ("parents", "children", "families"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name))
    for name in ("parents", "children"):
        pd.testing.assert_frame_equal(got.scores[name], want.scores[name])
        assert got.scores[name].index.equals(pd.RangeIndex(len(got.scores[name])))
    # the tables the measures read hold no item column
    assert measures._not_items(ds.parents, "parents") and "cts2s_01" not in measures._not_items(ds.parents, "parents")
