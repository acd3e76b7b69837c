"""2 (time) x G (group) mixed-design ANOVA with Type III sums of squares (SPSS GLM repeated measures)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps
from veiligverder.stats._base import ERR_GROUPS_LOST, ERR_LEVELS, ERR_SUBJECT_GROUP, MIXED_ANOVA_COLUMNS, StatsInputError, _few, _is_zero_ss, _oneway, _paired_wide, _require


def mixed_anova(
    data: pd.DataFrame, *, dv: str, within: str, subject: str, between: str
) -> pd.DataFrame:
    """Two-time-point mixed-design ANOVA with Type III sums of squares (as SPSS GLM).

    Parameters
    ----------
    data : DataFrame
        Long format: one row per subject and time point.
    dv, within, subject, between : str
        Columns holding the outcome, the time point (exactly two levels), the subject id and the
        group (two or more levels; every subject in one group).

    Returns
    -------
    DataFrame
        One row per effect, ``source`` in ``time``, ``group``, ``interaction`` (always these names,
        whatever the columns are called), with columns

        - ``ss``: Type III sum of squares, ``df1``, ``df2``: effect and error degrees of freedom,
        - ``ms``: ``ss / df1``, ``F``, ``p_unc``: uncorrected p value,
        - ``np2``: partial eta squared, ``ss / (ss + ss_error)``,
        - ``note``: empty, or why ``F``, ``p_unc`` and ``np2`` are NaN.

        ``attrs['n']`` holds the subjects used per group, ``attrs['dropped']`` the number of
        subjects left out because they lack a value at one of the time points.

    Raises
    ------
    StatsInputError
        A column is missing, ``within`` does not have two levels, a subject is in two groups or
        has two rows for one time point, or fewer than two groups keep a subject with both values
        (the message names the subjects dropped).

    Notes
    -----
    Subjects without a value at both time points are dropped (SPSS's listwise deletion).

    With two time points the design splits into two one-way ANOVAs (Maxwell & Delaney, 2004,
    ch. 12): on the subject sums ``s = (y1 + y2) / sqrt(2)`` for ``group``, and on the
    difference scores ``d = (y2 - y1) / sqrt(2)`` (SPSS's orthonormal contrast) for ``time`` and
    ``interaction``. With ``G`` groups of sizes ``n_g`` and group means ``dbar_g`` of ``d``:

    - interaction: the between-group SS of ``d``, ``sum_g n_g (dbar_g - dbar)^2``, df ``G - 1``;
    - time (Type III): the intercept of the one-way model of ``d``, testing that the *unweighted*
      mean of the group means is zero: ``SS = G^2 mean_g(dbar_g)^2 / sum_g(1 / n_g)``, df 1;
    - both tested against the pooled within-group SS of ``d``, df ``N - G``;
    - group: the between-group SS of ``s`` against its within-group SS, df ``G - 1`` and ``N - G``.

    With equal group sizes every row equals the classical textbook and pingouin values. With
    unequal sizes pingouin's ``mixed_anova`` tests the *weighted* grand mean change (Type II) in its
    time row, while SPSS (and this function) test the unweighted mean of the groups' changes; the
    group and interaction rows agree. Sphericity does not arise with two time points.

    Undefined rows (NaN with a note, see the module's conventions): no error degrees of freedom
    (one subject per group: SPSS prints no F), and a zero error sum of squares (every subject in a
    group changed by the same amount, or has the same sum over time: F would be x / 0 and partial
    eta squared a meaningless 1). ``ss``, ``df1``, ``df2`` and ``ms`` stay as computed.

    Examples
    --------
    The hand-computed example of the tests (two subjects per group):

    >>> import pandas as pd
    >>> data = pd.DataFrame({
    ...     "sid": ["s1", "s1", "s2", "s2", "s3", "s3", "s4", "s4"],
    ...     "grp": ["A", "A", "A", "A", "B", "B", "B", "B"],
    ...     "time": ["baseline", "follow_up"] * 4,
    ...     "score": [1, 3, 3, 7, 5, 5, 8, 10],
    ... })
    >>> res = mixed_anova(data, dv="score", within="time", subject="sid", between="grp")
    >>> print(res[["source", "ss", "df1", "df2", "F", "np2"]].round(4).to_string(index=False))
         source   ss  df1  df2    F    np2
           time  8.0  1.0  2.0 8.00 0.8000
          group 24.5  1.0  2.0 1.96 0.4949
    interaction  2.0  1.0  2.0 2.00 0.5000
    >>> round(float(res.loc[0, "p_unc"]), 4)
    0.1056

    One subject per group leaves no error degrees of freedom: no F, no p, no effect size.

    >>> one = data[data["sid"].isin(["s1", "s3"])]
    >>> res = mixed_anova(one, dv="score", within="time", subject="sid", between="grp")
    >>> bool(res.loc[0, ["F", "p_unc", "np2"]].isna().all())
    True
    >>> res.loc[0, "note"]
    'no error degrees of freedom (one subject per group): F, p and partial eta squared undefined'
    """
    func = "mixed_anova"
    _require(data, [dv, within, subject, between], func)
    per_subject_groups = data.dropna(subset=[between]).groupby(subject)[between].nunique()
    if (per_subject_groups > 1).any():
        raise StatsInputError(
            ERR_SUBJECT_GROUP.format(
                func=func, bad=_few(per_subject_groups.index[per_subject_groups > 1]), col=between
            )
        )
    wide, (first, second) = _paired_wide(
        data, dv=dv, within=within, subject=subject, func=func
    )
    group_of = data.dropna(subset=[between]).drop_duplicates(subject).set_index(subject)[between]
    kept = wide.index.intersection(group_of.index)
    groups = group_of.loc[kept]
    wide = wide.loc[kept]
    if groups.nunique() < 2:
        all_groups = list(pd.unique(group_of))
        if len(all_groups) < 2:
            raise StatsInputError(
                ERR_LEVELS.format(func=func, col=between, k="at least 2", found=_few(all_groups))
            )
        lost = [g for g in all_groups if g not in set(groups)]
        dropped = group_of.index[group_of.isin(lost)]
        raise StatsInputError(
            ERR_GROUPS_LOST.format(
                col=between, lost="group(s) " + _few(lost), have="has" if len(lost) == 1 else "have",
                dropped=_few(dropped), dv=dv,
            )
        )
    diff = (wide[second] - wide[first]) / math.sqrt(2.0)
    total = (wide[second] + wide[first]) / math.sqrt(2.0)

    ss_inter, ss_err_w, df_err, dbar, sizes = _oneway(diff, groups)
    n_groups = len(sizes)
    ss_time = n_groups**2 * dbar.mean() ** 2 / np.sum(1.0 / sizes)
    ss_group, ss_err_b, _, _, _ = _oneway(total, groups)

    table = pd.DataFrame(
        {
            "source": ["time", "group", "interaction"],
            "ss": [ss_time, ss_group, ss_inter],
            "df1": [1.0, n_groups - 1.0, n_groups - 1.0],
            "df2": [df_err] * 3,
        }
    )
    ss_error = np.array([ss_err_w, ss_err_b, ss_err_w])
    raw = np.array([(diff**2).sum(), (total**2).sum(), (diff**2).sum()])
    table["ms"] = table["ss"] / table["df1"]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["F"] = table["ms"] / (ss_error / df_err)
        table["np2"] = table["ss"] / (table["ss"] + ss_error)
    table["p_unc"] = sps.f.sf(table["F"], table["df1"], table["df2"])
    notes = [""] * 3
    for i, source in enumerate(table["source"]):
        if df_err == 0:
            notes[i] = "no error degrees of freedom (one subject per group): F, p and partial eta squared undefined"
        elif _is_zero_ss(ss_error[i], raw[i]):
            what = ("every subject in a group has the same total over the two time points" if source == "group"
                    else "every subject in a group changed by the same amount")
            notes[i] = f"no error variance ({what}): F, p and partial eta squared undefined"
    undefined = np.array([bool(n) for n in notes])
    table.loc[undefined, ["F", "p_unc", "np2"]] = np.nan
    table["note"] = notes
    table = table[MIXED_ANOVA_COLUMNS]
    table.attrs["n"] = groups.value_counts().sort_index().to_dict()
    table.attrs["dropped"] = int(data.loc[data[subject].notna(), subject].nunique() - len(wide))
    return table


# --------------------------------------------------------------------------------------------
# Stuart-Maxwell


