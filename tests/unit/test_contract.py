"""The contract reader: item columns, blocks and YAML pitfalls."""

import pytest

from veiligverder import contract


def test_income_category_is_read_as_written():
    # PyYAML's YAML 1.1 rules would turn 1500_3100 into the integer 15003100.
    assert contract.table_spec("parents")["columns"]["income"]["values"] == ["lt1500", "1500_3100", "gt3100"]


def test_item_columns_are_zero_padded_to_the_block_width():
    assert contract.item_columns("cts2s", [1, 39]) == ["cts2s_01", "cts2s_39"]
    assert contract.item_columns("tsi", [7]) == ["tsi_007"]
    assert contract.item_columns("mpf")[-1] == "mpf_7"
    with pytest.raises(ValueError, match="outside 1..39"):
        contract.item_columns("cts2p", [40])
    with pytest.raises(KeyError, match="unknown item prefix 'cts3'"):
        contract.item_columns("cts3")


def test_cts2_blocks_give_the_contract_item_sets():
    mild = contract.block_items("cts2", severity="mild")
    severe = contract.block_items("cts2", severity="severe")
    assert len(mild) == 14 and len(severe) == 19
    assert contract.block_items("cts2", severity="none") == list(range(1, 7))
    assert sorted(mild + severe) == list(range(7, 40))  # the 33 non-negotiation items


def test_ctspc_direct_items_are_05_to_27():
    direct = sorted(contract.block_items("ctspc", severity="mild") + contract.block_items("ctspc", severity="severe"))
    assert direct == list(range(5, 28))


def test_frequency_codes():
    assert contract.cts_frequency() == {1: 0, 2: 0, 3: 1, 4: 2, 5: 4, 6: 8, 7: 15, 8: 25}


def test_tables_render_from_the_codebook():
    parents = contract.columns_table("parents")
    assert parents.loc[parents.column == "income", "allowed"].item() == "lt1500, 1500_3100, gt3100"
    assert list(contract.items_table("parents").prefix[:2]) == ["cts2s", "cts2p"]


def test_frequency_table_pairs_codes_meanings_and_incidents():
    table = contract.frequency_table().set_index("answer code")
    assert list(table.index) == list(range(1, 9))
    assert table.loc[2, "meaning"] == "not in the past year but before" and table.loc[2, "incidents a year"] == 0
    assert table.loc[5, "incidents a year"] == 4 and table.loc[8, "incidents a year"] == 25
