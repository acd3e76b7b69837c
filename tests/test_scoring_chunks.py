"""Chunked scoring (engine.CHUNK_ROWS) gives exactly the scores of scoring all rows at once."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from veiligverder.instruments import engine, score_table

sys.path.insert(0, str(Path(__file__).parent))
from datasets import contract_frames  # noqa: E402


@pytest.mark.parametrize("table", ["parents", "children"])
@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_chunked_equals_whole(table, chunk, monkeypatch):
    frame = contract_frames(families={"VV": 8, "control": 8, "cohort": 8}, seed=9)[table]
    assert len(frame) > chunk  # several chunks, the last one shorter
    whole = score_table(frame, table)
    monkeypatch.setattr(engine, "CHUNK_ROWS", chunk)
    chunked = score_table(frame, table)
    pd.testing.assert_frame_equal(chunked, whole)


def test_error_names_the_row_in_a_later_chunk(monkeypatch):
    frame = contract_frames(families={"VV": 8, "control": 8, "cohort": 8}, seed=9)["parents"].copy()
    column = next(c for c in frame.columns if c.startswith("ace_"))
    row = frame.index[-1]
    frame.loc[row, column] = 99
    monkeypatch.setattr(engine, "CHUNK_ROWS", 5)
    with pytest.raises(engine.ScoringInputError, match=rf"{column}.*\[{row}\]|\[{row}\].*{column}") as err:
        score_table(frame, "parents")
    assert "99" in str(err.value)
