"""The study population at baseline: Tabel 2 (participants), Tabel 3 (background) and Tabel 4
(problems in the families), each with its result ids and the cells the disclosure gate judges."""

from __future__ import annotations

import pandas as pd

from veiligverder import stats
from veiligverder.contract import labels
from veiligverder.analysis.disclosure import dominated
from veiligverder.data.dataset import Dataset
from veiligverder.measures import TABLE4_FLAGS
from veiligverder.vocab import ALPHA, BASELINE_WAVE, DISCLOSURE_THRESHOLD
from veiligverder.vocab import GROUPS as STUDY_GROUPS

BASELINE = BASELINE_WAVE


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
    # for the disclosure gate (Study.gate_table): each count is a cell resting on that many units
    ids = pd.DataFrame({c: [f"n.{g}.{c}" for g in table.index] for c in table.columns}, index=table.index)
    # the families behind each count (parents and children of fewer than t families are withheld too)
    fam = pd.DataFrame({
        "families": table["families"],
        "parents": par.groupby("group")["family_id"].nunique(),
        "children": chi.groupby("group")["family_id"].nunique(),
        "children_self_report": chi.loc[chi["self_report"] == 1].groupby("group")["family_id"].nunique(),
    }).reindex(list(groups)).fillna(0)
    table.attrs["ids"] = ids
    table.attrs["cells"] = [{"id": ids.loc[g, c], "kind": "count", "n": int(table.loc[g, c]),
                             "families": int(fam.loc[g, c])} for g in table.index for c in table.columns]
    return table


def participant_results(table: pd.DataFrame) -> dict[str, int]:
    """Flatten Tabel 2 into the ``n.<group>.<what>`` result ids of CONTRACT §4."""
    return {f"n.{group}.{col}": int(table.loc[group, col]) for group in table.index for col in table.columns}


# --------------------------------------------------------------------------------------------
# Tabel 3: background of the parents and children at baseline

AGE_BANDS = {"lt25": (-float("inf"), 25), "25_34": (25, 35), "35_44": (35, 45), "45_54": (45, 55),
             "55plus": (55, float("inf"))}
# The report prints no 'Turkish' row; its five migration rows add up to 100 %, so Turkish is in 'other'.
MIGRATION_ROWS = {"dutch": "dutch", "antillean": "antillean", "moroccan": "moroccan", "surinamese": "surinamese",
                  "turkish": "other", "other": "other"}
CHILDREN_ROWS = {0: "0", 1: "1", 2: "2"}  # 3 or more -> '3plus' (printed as '> 3')


def background_parents(dataset: Dataset, *, groups: tuple[str, ...] = STUDY_GROUPS) -> pd.DataFrame:
    """One row per parent at baseline with the Tabel 3 variables as categories.

    Columns: ``parent_id``, ``group``, ``age_pct`` (band), ``male_pct`` (yes/no), ``migration_pct``,
    ``education_pct``, ``net_monthly_income_pct``, ``paid_work_over_12h_pct`` (yes/no: 12 or more
    hours, the complement of the contract's unemployment rule), ``children_over3_pct`` (0, 1, 2, 3plus,
    from the family's ``n_children_over3``). Missing answers stay missing.
    """
    fam = dataset.families.set_index("family_id")
    par = dataset.parents.loc[dataset.parents["wave"] == BASELINE].copy()
    par["group"] = par["family_id"].map(fam["group"])
    par = par.loc[par["group"].isin(groups)]
    age = pd.Series(pd.NA, index=par.index, dtype=object)
    for band, (lo, hi) in AGE_BANDS.items():
        age[(par["age_years"] >= lo) & (par["age_years"] < hi)] = band
    n_children = par["family_id"].map(fam["n_children_over3"])
    out = pd.DataFrame(
        {
            "parent_id": par["parent_id"],
            "family_id": par["family_id"],
            "group": par["group"],
            "age_pct": age,
            "male_pct": par["sex"].map({"male": "yes", "female": "no"}),
            "migration_pct": par["migration"].map(MIGRATION_ROWS),
            "education_pct": par["education"],
            "net_monthly_income_pct": par["income"],
            "paid_work_over_12h_pct": par["work_hours"].ge(12).where(par["work_hours"].notna()).map(
                {True: "yes", False: "no"}),
            "children_over3_pct": n_children.map(lambda n: CHILDREN_ROWS.get(n, "3plus") if pd.notna(n) else pd.NA),
        }
    )
    return out.reset_index(drop=True)


def _test_or_nan(run) -> pd.Series:
    """The first row of a test's result frame, or NaN with method 'not computable' when a group is empty."""
    try:
        return run().iloc[0]
    except stats.StatsInputError:
        return pd.Series({"p_unc": float("nan"), "method": "not computable"})


def background_table(dataset: Dataset, *, groups: tuple[str, ...] = STUDY_GROUPS,
                     disclosure_threshold: int = DISCLOSURE_THRESHOLD) -> tuple[pd.DataFrame, dict]:
    """Tabel 3: percentages per group, the between-group test per variable, and result ids.

    Each categorical variable is compared between VV and control by
    :func:`veiligverder.stats.chi2_groups` (Fisher-Freeman-Halton where expected counts are below 5);
    the ``difference`` column spells out the report's 'Ns' ('not significant' when p >= .05).
    Children's mean age and share of girls are over the children with a row at baseline. Rows,
    categories and tests carry the labels of :mod:`veiligverder.contract.labels`, categories in the
    codebook's order; a variable's test and verdict stand on its first row only.

    Returns
    -------
    table : DataFrame
        Rows (variable, category) (labels); columns one per group (percent), ``test`` and
        ``difference``.
    results : dict
        ``table3.<variable>.<category>.<group>`` (percent), ``table3.<variable>.p`` and, for the
        yes/no variables, ``table3.<variable>.<group>`` (percent 'yes').
    """
    parents = background_parents(dataset, groups=groups)
    rows, results, cells = [], {}, []
    for var in [c for c in parents.columns if c.endswith("_pct")]:
        sub = parents[["group", var]].dropna()
        n_cat = pd.crosstab(sub[var], sub["group"]).reindex(columns=list(groups)).fillna(0)
        fam_cat = (parents.loc[sub.index].groupby([var, "group"])["family_id"].nunique()
                   .unstack("group").reindex(index=n_cat.index, columns=list(groups)).fillna(0))
        pct = n_cat.div(n_cat.sum(axis=0).where(lambda n: n > 0), axis=1).fillna(0) * 100
        test = _test_or_nan(lambda: stats.chi2_groups(sub, x="group", y=var))
        results[f"table3.{var}.p"] = float(test["p_unc"])
        words = labels.fmt_test(test["method"], test["p_unc"])
        binary = set(pct.index) <= {"yes", "no"}
        cats = ["yes"] if binary else labels.ordered(pct.index, var)
        rid = lambda cat, g: (f"table3.{var}.{g}" if binary else f"table3.{var}.{cat}.{g}")  # noqa: E731
        # every category of every group is a cell of that group's distribution (a binary 'no' too,
        # though unpublished: 100 % minus 'yes' gives it)
        for g in groups:
            total = float(n_cat[g].sum())
            for cat in n_cat.index:
                shown = cat in cats
                cells.append({"id": rid(cat, g) if shown else "", "kind": "share", "n": float(n_cat.loc[cat, g]),
                              "total": total, "set": f"table3.{var}.{g}", "analysis": f"table3.{var}",
                              "families": float(fam_cat.loc[cat, g])})
            if binary and "yes" not in n_cat.index:
                cells.append({"id": rid("yes", g), "kind": "share", "n": 0.0, "total": total,
                              "set": f"table3.{var}.{g}", "analysis": f"table3.{var}"})
        cells.append({"id": f"table3.{var}.p", "kind": "stat", "analysis": f"table3.{var}"})
        for i, cat in enumerate(cats):
            first = i == 0  # the test and its verdict once per variable
            row = {"variable": labels.variable_label(var),
                   "category": labels.label_in(labels.variable_categories(var), cat, var) if not binary else "",
                   "test": words if first else "", "difference": labels.significance(test["p_unc"], ALPHA) if first else "",
                   "_id_test": f"table3.{var}.p" if first else "", "_id_difference": f"table3.{var}.p" if first else ""}
            for g in groups:
                value = float(pct.loc[cat, g]) if cat in pct.index else 0.0
                row[g] = round(value, 1)
                row[f"_id_{g}"] = rid(cat, g)
                results[rid(cat, g)] = value
            rows.append(row)
    chi = dataset.children.loc[dataset.children["wave"] == BASELINE].copy()
    chi["group"] = chi["family_id"].map(dataset.families.set_index("family_id")["group"])
    chi = chi.loc[chi["group"].isin(groups)]
    for g in groups:
        part = chi.loc[chi["group"] == g]
        ages = part["age_years"].dropna()
        results[f"table3.child_mean_age.{g}"] = float(ages.mean()) if len(ages) else float("nan")
        results[f"table3.child_girls_pct.{g}"] = float((part["sex"] == "girl").mean() * 100) if len(part) else float("nan")
        sexes = part["sex"].dropna()
        girls = float((sexes == "girl").sum())
        fam_all = part.loc[part["age_years"].notna(), "family_id"].nunique()
        is_girl = part["sex"] == "girl"
        cells += [
            {"id": f"table3.child_mean_age.{g}", "kind": "mean", "n": len(ages), "families": fam_all,
             "dominated": dominated(ages, threshold=disclosure_threshold), "analysis": "table3.child_mean_age"},
            {"id": f"table3.child_girls_pct.{g}", "kind": "share", "n": girls, "total": len(sexes),
             "set": f"girls.{g}", "analysis": "table3.child_girls_pct",
             "families": part.loc[is_girl, "family_id"].nunique()},
            {"id": "", "kind": "share", "n": len(sexes) - girls, "total": len(sexes), "set": f"girls.{g}",
             "analysis": "table3.child_girls_pct",
             "families": part.loc[part["sex"].notna() & ~is_girl, "family_id"].nunique()},
        ]
    age_test = _test_or_nan(lambda: stats.welch_ttest(chi.dropna(subset=["age_years"]), dv="age_years", between="group"))
    girls_test = _test_or_nan(lambda: stats.chi2_groups(chi.dropna(subset=["sex"]), x="group", y="sex"))
    results["table3.child_mean_age.p"] = float(age_test["p_unc"])
    results["table3.child_girls_pct.p"] = float(girls_test["p_unc"])
    cells += [{"id": f"table3.{v}.p", "kind": "stat", "analysis": f"table3.{v}"} for v in ("child_mean_age", "child_girls_pct")]
    rows.append({"variable": labels.variable_label("child_mean_age"), "category": "",
                 "test": labels.fmt_test("welch", age_test["p_unc"]), "difference": labels.significance(age_test["p_unc"], ALPHA),
                 "_id_test": "table3.child_mean_age.p", "_id_difference": "table3.child_mean_age.p",
                 **{f"_id_{g}": f"table3.child_mean_age.{g}" for g in groups},
                 **{g: round(results[f"table3.child_mean_age.{g}"], 1) for g in groups}})
    rows.append({"variable": labels.variable_label("child_girls_pct"), "category": "",
                 "test": labels.fmt_test(girls_test["method"], girls_test["p_unc"]),
                 "difference": labels.significance(girls_test["p_unc"], ALPHA),
                 "_id_test": "table3.child_girls_pct.p", "_id_difference": "table3.child_girls_pct.p",
                 **{f"_id_{g}": f"table3.child_girls_pct.{g}" for g in groups},
                 **{g: round(results[f"table3.child_girls_pct.{g}"], 1) for g in groups}})
    full = pd.DataFrame(rows).set_index(["variable", "category"])
    shown = [*groups, "test", "difference"]
    table = full[shown].copy()
    # for the disclosure gate (Study.gate_table): the result id behind each cell, and every cell
    table.attrs["ids"] = full[[f"_id_{c}" for c in shown]].set_axis(shown, axis=1)
    table.attrs["cells"] = cells
    return table, results


# --------------------------------------------------------------------------------------------
# Tabel 4: problems in the families at baseline, VV and control against the rest of the cohort

POPULATIONS = {"population": "cohort", "VV": "VV", "control": "control"}
TABLE4_MEANS = {"total_violence_family": "violence_total", "partner_violence_family": "violence_partner",
                "direct_child_violence_family": "violence_child_direct"}
# report_facts.yml families_pct line -> the family flag column of veiligverder.measures
TABLE4_SHARES = TABLE4_FLAGS
# each line's label: the 'problems' section of veiligverder/contract/labels.yml


def baseline_problems(families: pd.DataFrame, *, disclosure_threshold: int = DISCLOSURE_THRESHOLD) -> tuple[pd.DataFrame, dict]:
    """Tabel 4: mean incidents a year and shares of families with a problem at baseline (T0).

    ``families`` is :attr:`veiligverder.measures.Measures.families`. The 'population' is the cohort
    without the VV and control families. Means are over families with a value; shares over families
    where the flag is known (see the Tabel 4 flags in :mod:`veiligverder.measures`). The last column
    tests VV and control together against the population: Welch's t-test for the means,
    chi-square / Fisher-Freeman-Halton for the shares.

    Returns
    -------
    table : DataFrame
        Rows: the ten Tabel 4 lines; columns ``population``, ``VV``, ``control``, ``n`` per column
        and the test.
    results : dict
        ``table4.<line>.<population|VV|control>`` and ``table4.n.<population|VV|control>``.
    """
    base = families.loc[families["wave"] == BASELINE]
    results: dict[str, float] = {}
    rows, ids, cells = [], [], []
    for pop, group in POPULATIONS.items():
        results[f"table4.n.{pop}"] = int(base.loc[base["group"] == group, "family_id"].nunique())
        cells.append({"id": f"table4.n.{pop}", "kind": "count", "n": results[f"table4.n.{pop}"]})
    study = base.assign(side=base["group"].map({"cohort": "population", "VV": "study", "control": "study"}))
    test_column = "test: VV and control against the population"
    for line, column in {**TABLE4_MEANS, **TABLE4_SHARES}.items():
        share = line in TABLE4_SHARES
        row = {"line": labels.label("problems", line)}
        id_row = {"line": labels.label("problems", line), test_column: f"table4.{line}.p"}
        for pop, group in POPULATIONS.items():
            values = base.loc[base["group"] == group, column].dropna()
            value = float(values.mean() * (100 if share else 1)) if len(values) else float("nan")
            rid = f"table4.{line}.{pop}"
            results[rid] = value
            row[pop] = round(value, 1)
            id_row[pop] = rid
            if share:  # a share is a distribution of two: families with and without the problem
                ones = float((values == 1).sum())
                cells += [{"id": rid, "kind": "share", "n": ones, "total": len(values), "set": rid, "analysis": line},
                          {"id": "", "kind": "share", "n": len(values) - ones, "total": len(values), "set": rid,
                           "analysis": line}]
            else:
                cells.append({"id": rid, "kind": "mean", "n": len(values), "analysis": line,
                              "dominated": dominated(values, threshold=disclosure_threshold)})
        cells.append({"id": f"table4.{line}.p", "kind": "stat", "analysis": line})
        sub = study.dropna(subset=[column, "side"])
        if share:
            test = _test_or_nan(lambda: stats.chi2_groups(sub.assign(flag=sub[column].astype(int)), x="side", y="flag"))
            row[test_column] = labels.fmt_test(test["method"], test["p_unc"])
        else:
            test = _test_or_nan(lambda: stats.welch_ttest(sub, dv=column, between="side"))
            row[test_column] = labels.fmt_test("welch", test["p_unc"])
        results[f"table4.{line}.p"] = float(test["p_unc"])
        rows.append(row)
        ids.append(id_row)
    table = pd.DataFrame(rows).set_index("line").rename_axis("problem at baseline")  # the corner cell readers see
    id_frame = pd.DataFrame(ids).set_index("line").rename_axis(table.index.name)[list(table.columns)]
    # the header carries each column's n: the gate may withhold it (Study.gate_table)
    table.attrs["header_ids"] = {c: f"table4.n.{c}" for c in POPULATIONS}
    table.attrs["ids"] = id_frame
    table.attrs["cells"] = cells
    return table, results
