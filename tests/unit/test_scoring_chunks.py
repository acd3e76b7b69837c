"""Chunked scoring (engine.CHUNK_ROWS) gives exactly the scores of scoring all rows at once."""

from __future__ import annotations


import pandas as pd
import pytest

from veiligverder.instruments import score_table
from veiligverder.instruments import scoring as engine

from support.datasets import contract_frames


@pytest.fixture(scope="module")
def frames():
    """The tables every test here scores (made once; the tests copy before they change one)."""
    return contract_frames(families={"VV": 8, "control": 8, "cohort": 8}, seed=9)


@pytest.fixture(scope="module")
def whole(frames):
    """Each table scored in one chunk (the default CHUNK_ROWS), once for the parametrized tests."""
    return {table: score_table(frames[table], table) for table in ("parents", "children")}


@pytest.mark.parametrize("table", ["parents", "children"])
@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_chunked_equals_whole(table, chunk, monkeypatch, frames, whole):
    frame, whole = frames[table], whole[table]
    if chunk == 1:
        # one chunk per row costs ~50 ms a row: the first 40 rows (every kind of row still among
        # them, checked below) show that single-row chunks score as the whole does
        frame = frame.iloc[:40]
        whole = score_table(frame, table)
        if table == "children":
            kinds = set(zip(frame["age_years"] > 12, frame["self_report"]))
            assert kinds == {(False, 0.0), (False, 1.0), (True, 0.0), (True, 1.0)}
    assert len(frame) > chunk  # several chunks, the last one shorter
    assert len(frame) <= engine.CHUNK_ROWS  # the reference is one chunk
    monkeypatch.setattr(engine, "CHUNK_ROWS", chunk)
    chunked = score_table(frame, table)
    pd.testing.assert_frame_equal(chunked, whole)


def test_error_names_the_row_in_a_later_chunk(monkeypatch, frames):
    frame = frames["parents"].copy()
    column = next(c for c in frame.columns if c.startswith("ace_"))
    row = frame.index[-1]
    frame.loc[row, column] = 99
    monkeypatch.setattr(engine, "CHUNK_ROWS", 5)
    with pytest.raises(engine.ScoringInputError, match=rf"{column}.*\[{row}\]|\[{row}\].*{column}") as err:
        score_table(frame, "parents")
    assert "99" in str(err.value)
