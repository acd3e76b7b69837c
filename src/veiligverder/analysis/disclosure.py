"""The disclosure gate: which published numbers must be withheld on real (non-synthetic) data.

Every number a build publishes on non-synthetic data (tables, figures, prose, glued values,
``results.json``, the scorecard) is first described as a *cell* and passed through one function,
:func:`withhold`, which names the cells to withhold and the rule that withholds each. The callers
(:class:`veiligverder.analysis.Study` for the outcome analyses, :func:`gate_table` for Tabel 2-4)
then blank those cells everywhere they appear, so that a figure, a sentence and ``results.json``
never disagree about what is withheld.

Rules (threshold ``t``, default 5; Hundepool et al., *Statistical Disclosure Control*, Wiley
2012, ch. 4 and 5, the threshold, group-disclosure and secondary-suppression rules):

``primary``
    A count, share or mean resting on 1 to t-1 units, or on the parents or children of 1 to t-1
    families, is withheld. Zero cells rest on nobody.
``secondary``
    The shares of one distribution (one group at one wave) add up to 100 % and its n may be
    published: for each withheld share, complementary shares (the smallest non-empty ones) are
    withheld too, until at least two are withheld holding together at least t units, so that no
    withheld share can be recomputed as 1 minus its published siblings, nor a count as share x n.
``group disclosure``
    A distribution in which one category holds all, or all but fewer than t, units of a group is
    withheld for that group ('0 % above EUR 1500' would tell every family's income band). For a mean
    the same holds when one value is shared by all, or all but fewer than t, units of the group
    (a mean with SD 0 is every unit's own value). A 0/1 outcome is a distribution of two categories.
``test``
    Test statistics and effect sizes (t, F, chi-square, p, eta squared, model estimates) of an
    analysis in which any group cell is withheld: with the other group's figures published, a
    test statistic would let a reader solve for the withheld ones.

On synthetic data (the generator's intact manifest, see :mod:`veiligverder.data.loader`) the gate
is open: nothing is withheld.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MARK = "<{threshold}"
KINDS = ("count", "share", "mean", "stat")
RULES = {
    "primary": "rests on fewer than {t} units",
    "secondary": "would let a withheld share or count be recomputed from its siblings",
    "group disclosure": "one value or category holds all or all but fewer than {t} units of the group",
    "test": "a test of groups one of which is withheld",
}
WHY = ("Values marked {mark} are withheld to protect the families: they rest on fewer than {t} families, "
       "parents or children, or could be worked out from numbers published beside them (see the "
       "appendix *Disclosure control*).")
CELL_COLUMNS = ("id", "kind", "n", "total", "set", "dominated", "analysis", "families")


@dataclass(frozen=True)
class Gate:
    """The disclosure gate of one build: its threshold and whether it is active (real data)."""

    threshold: int = 5
    active: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, np.integer)) or self.threshold < 1:
            raise ValueError(f"disclosure threshold must be a whole number of at least 1, got {self.threshold!r}")

    @property
    def mark(self) -> str:
        """What a withheld cell shows in a table: ``<5``."""
        return MARK.format(threshold=self.threshold)

    @property
    def why(self) -> str:
        """The one sentence the book prints under anything with withheld cells."""
        return WHY.format(mark=f"`{self.mark}`", t=self.threshold)

    def rule_text(self, rule: str) -> str:
        """``'primary: rests on fewer than 5 units'``: the rule as stored in ``_meta.suppressed``."""
        return f"{rule}: {RULES[rule].format(t=self.threshold)}"

    def withhold(self, cells: pd.DataFrame) -> dict[str, str]:
        """:func:`withhold` with this gate's threshold; nothing when the gate is open (synthetic data)."""
        if not self.active or cells.empty:
            return {}
        rules = withhold(cells, threshold=self.threshold)
        return {i: self.rule_text(r) for i, r in rules.items()}


def cells_frame(rows: list[dict]) -> pd.DataFrame:
    """A cells frame from dicts with some of :data:`CELL_COLUMNS` (missing ones get their neutral value)."""
    frame = pd.DataFrame(rows, columns=list(CELL_COLUMNS))
    frame["n"] = pd.to_numeric(frame["n"], errors="coerce")
    frame["total"] = pd.to_numeric(frame["total"], errors="coerce")
    frame["families"] = pd.to_numeric(frame["families"], errors="coerce")
    frame["dominated"] = frame["dominated"].eq(True)
    frame["set"] = frame["set"].astype(object)
    frame["analysis"] = frame["analysis"].astype(object)
    return frame


def withhold(cells: pd.DataFrame, *, threshold: int) -> dict[str, str]:
    """The cells to withhold and the rule (``primary``, ``secondary``, ``group disclosure``, ``test``).

    Parameters
    ----------
    cells : DataFrame
        One row per published number, columns :data:`CELL_COLUMNS`:

        - ``id``: the cell's name (a result id, or a table cell name);
        - ``kind``: ``count`` (n is the count itself), ``share`` (n is the number of units in the
          category, ``total`` the units of the distribution), ``mean`` (n is the number of units
          averaged; mean, SD and CI bounds all are ``mean`` cells) or ``stat`` (a test statistic,
          p value, effect size or model estimate; n unused);
        - ``set``: the distribution a share belongs to (shares of one set add up to 1); a 0/1
          outcome's mean is a ``share`` whose complement is unpublished but a member of the set;
        - ``dominated``: for a mean, whether one value is shared by all or all but fewer than
          ``threshold`` of its units;
        - ``analysis``: the analysis a cell belongs to, or a list of them; a ``stat`` cell is
          withheld when any non-stat cell of its analysis is;
        - ``families`` (optional): the number of distinct families behind the cell's units, for
          cells of parents or children; the primary rule applies to it as to ``n``.
    threshold : int
        Smallest number of units a published number may rest on.

    Returns
    -------
    dict
        Withheld cell id -> rule name. Unnamed cells (``id`` empty, such as the unpublished
        complement of a 0/1 share) take part in the rules but are not returned.

    Examples
    --------
    A distribution of 20 families over three categories, one of which holds 2 families: that
    share is withheld (primary), and so is the next smallest (secondary), since 1 minus the others
    would give it back; together the two hold 10 families, at least the threshold of 5.

    >>> cells = cells_frame([
    ...     {"id": "none", "kind": "share", "n": 8, "total": 20, "set": "VV.T0"},
    ...     {"id": "mild", "kind": "share", "n": 2, "total": 20, "set": "VV.T0"},
    ...     {"id": "severe", "kind": "share", "n": 10, "total": 20, "set": "VV.T0"},
    ... ])
    >>> withhold(cells, threshold=5)
    {'mild': 'primary', 'none': 'secondary'}
    """
    if cells.empty:
        return {}
    c = cells.explode("analysis", ignore_index=True)  # a cell may belong to several analyses
    t = threshold
    n = c["n"].to_numpy(float)
    kind = c["kind"].to_numpy(object)
    unknown = sorted(set(kind) - set(KINDS))
    if unknown:
        raise ValueError(f"withhold: cell kinds {unknown} are not one of {KINDS}")
    rule = pd.Series("", index=c.index, dtype=object)
    fam = c["families"].to_numpy(float) if "families" in c else np.full(len(c), np.nan)
    # a cell rests on its units and on the families they belong to: children or parents of fewer
    # than t families are as revealing as fewer than t families
    small = ((n >= 1) & (n < t)) | ((fam >= 1) & (fam < t))
    rule[(np.isin(kind, ("count", "share", "mean"))) & small] = "primary"
    rule[(kind == "mean") & c["dominated"].to_numpy(bool) & (rule == "")] = "group disclosure"
    # distributions: complementary cells for each primary one, group disclosure, small totals
    shares = c.loc[(kind == "share") & c["set"].notna()]
    for _, members in shares.groupby("set", sort=False):
        set_rule = _distribution_rules(members, rule.loc[members.index], threshold=t)
        rule.loc[set_rule.index] = set_rule
    # tests: any withheld group cell of an analysis withholds its statistics
    tainted = set(c.loc[(rule != "") & (kind != "stat") & c["analysis"].notna(), "analysis"])
    rule[(kind == "stat") & c["analysis"].isin(tainted) & (rule == "")] = "test"
    named = (rule != "") & c["id"].notna() & (c["id"].astype(str) != "")
    return dict(sorted(zip(c.loc[named, "id"].astype(str), rule[named])))


def _distribution_rules(members: pd.DataFrame, rule: pd.Series, *, threshold: int) -> pd.Series:
    """The rules of one distribution's cells (its shares add up to 1 and its n may be published).

    Group disclosure or a total below the threshold withhold the whole distribution. Otherwise each
    primary cell needs complementary (secondary) cells, so that neither 1 minus the published shares
    nor share x n gives a withheld cell back: the smallest non-empty cells are added until at
    least two cells are withheld and together they hold at least ``threshold`` units; when that
    cannot be done the whole distribution is withheld.
    """
    t = threshold
    n = members["n"].fillna(0)
    total = float(members["total"].max()) if members["total"].notna().any() else float(n.sum())
    out = rule.copy()
    if total <= 0:
        return out
    if total < t:
        return out.mask(out == "", "primary")
    if total - float(n.max()) < t:  # one category holds all, or all but fewer than t, units
        return out.mask(out == "", "group disclosure")
    held = out != ""
    if not held.any():
        return out
    candidates = n[~held & (n > 0)].sort_values(kind="stable")
    for idx in candidates.index:
        if held.sum() >= 2 and n[held].sum() >= t:
            break
        out[idx] = "secondary"
        held[idx] = True
    if held.sum() < 2 or n[held].sum() < t:
        out = out.mask(out == "", "secondary")
    return out


def dominated(values: pd.Series, *, threshold: int) -> bool:
    """True when one value is shared by all, or all but fewer than ``threshold``, of the non-missing values.

    >>> dominated(pd.Series([3.0, 3.0, 3.0, 3.0, 7.0]), threshold=5)
    True
    >>> dominated(pd.Series(range(10), dtype=float), threshold=5)
    False
    """
    v = pd.Series(values).dropna()
    if v.empty:
        return False
    return bool(len(v) - v.value_counts().iloc[0] < threshold)


def gate_table(table: pd.DataFrame, withheld: pd.DataFrame, *, mark: str) -> pd.DataFrame:
    """A copy of ``table`` (object dtype) in which the cells flagged in ``withheld`` read ``mark``.

    ``withheld`` is a boolean frame with some of ``table``'s columns and all its rows; columns it
    lacks are left as they are.
    """
    w = withheld.reindex(index=table.index, columns=table.columns).eq(True)
    out = table.astype(object)
    out.attrs = {}
    return out.mask(w.to_numpy(), mark)
