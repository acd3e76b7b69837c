"""Readers see instruments by their short names (spec ``short``), never the item-list codes."""

from __future__ import annotations

import re

from veiligverder.instruments import available_instruments, instruments_table, short_names
from veiligverder.report import present


def test_every_instrument_has_its_own_short_name_and_no_code():
    short = short_names()
    assert set(short) == set(available_instruments()) and len(short) == 22
    assert len(set(short.values())) == len(short)  # no two instruments read alike
    assert short["nosik"] == "NOSI-K" and short["cts2s"] == "CTS2 own acts" and short["kid"] == "KIDSCREEN"
    assert not any(re.fullmatch(r"[a-z0-9]+", v) for v in short.values())  # none is a bare code


def test_instruments_table_and_banner_show_short_names(synthetic_dataset):
    from veiligverder.analysis.study import prepare_study

    table = instruments_table()
    assert "list" not in table.columns and table["short name"].tolist() == list(short_names().values())
    text = present.banner(prepare_study(synthetic_dataset)).data
    assert "for KIDSCREEN, NOSI competence, NOSI-K, TSCC, TSCYC, TSI." in text
    assert not re.search(r"\b(nosik|nosic|tscyc|tscc|tsi|kid)\b", text)
