"""Tables of the report computed from a dataset (Tabel 2 here; more tables live beside it)."""

from __future__ import annotations

import pandas as pd

from veiligverder.data.dataset import Dataset

STUDY_GROUPS = ("VV", "control")
BASELINE = "T0"


def participants(dataset: Dataset, *, groups: tuple[str, ...] = STUDY_GROUPS) -> pd.DataFrame:
    """Tabel 2: families, parents, children and self-reporting children at baseline, per group.

    Rules (CONTRACT §4, ids ``n.<group>.*``): families of the group with a parent row at T0;
    distinct parents and children with a row at T0; of those children, the ones with
    ``self_report`` = 1 at T0.

    Returns
    -------
    DataFrame
        Index ``group`` (in ``groups`` order); columns ``families``, ``parents``, ``children``,
        ``children_self_report`` (int).
    """
    group_of = dataset.families.set_index("family_id")["group"]
    par = dataset.parents.loc[dataset.parents["wave"] == BASELINE, ["parent_id", "family_id"]]
    chi = dataset.children.loc[dataset.children["wave"] == BASELINE, ["child_id", "family_id", "self_report"]]
    par = par.assign(group=par["family_id"].map(group_of))
    chi = chi.assign(group=chi["family_id"].map(group_of))
    table = pd.DataFrame(
        {
            "families": par.groupby("group")["family_id"].nunique(),
            "parents": par.groupby("group")["parent_id"].nunique(),
            "children": chi.groupby("group")["child_id"].nunique(),
            "children_self_report": chi.loc[chi["self_report"] == 1].groupby("group")["child_id"].nunique(),
        }
    )
    table = table.reindex(list(groups)).fillna(0).astype(int)
    table.index.name = "group"
    return table


def participant_results(table: pd.DataFrame) -> dict[str, int]:
    """Flatten Tabel 2 into the ``n.<group>.<what>`` result ids of CONTRACT §4."""
    return {f"n.{group}.{col}": int(table.loc[group, col]) for group in table.index for col in table.columns}
