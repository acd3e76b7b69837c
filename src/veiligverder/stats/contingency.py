"""Tests on contingency tables: Stuart-Maxwell (change of a category), chi-square and
Fisher-Freeman-Halton (groups compared at one wave)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as sps

from veiligverder.vocab import CATEGORIES, DEFAULT_SEED
from veiligverder.stats._base import ERR_CATEGORY, ERR_COUNTS, ERR_METHOD, FisherResult, StatsInputError, _few, _paired_wide, _require


#: Work limit of the exact Fisher-Freeman-Halton network algorithm: the number of partial tables
#: (path x column choice) it may generate, one to two seconds on one core. Tables that need more
#: get a Monte Carlo p value in ``method='auto'`` (R's 4 x 4 and 5 x 7 examples stay exact).
MAX_EXACT_WORK = 5_000_000
#: A column choice (sorted, hashed into a state) counts as this many partial tables of work.
COMBO_COST = 4
#: Draws and seed of the Monte Carlo p value (standard error at most 0.0016 with 100,000 draws).
MC_DRAWS = 100_000
MC_SEED = DEFAULT_SEED
#: R's relative tolerance for "no more probable than the observed table" (``fisher.test``).
REL_TOL = 1e-7


def _components(adjacent: np.ndarray) -> list[list[int]]:
    """Connected components of an undirected graph given by a boolean adjacency matrix."""
    k = len(adjacent)
    seen, parts = np.zeros(k, bool), []
    for start in range(k):
        if seen[start]:
            continue
        stack, part = [start], []
        seen[start] = True
        while stack:
            i = stack.pop()
            part.append(i)
            for j in np.flatnonzero(adjacent[i] & ~seen):
                seen[j] = True
                stack.append(int(j))
        parts.append(sorted(part))
    return parts


def _stuart_maxwell_table(counts: np.ndarray) -> tuple[float, int]:
    """Stuart-Maxwell statistic ``d' V^+ d`` with the Moore-Penrose inverse, and ``rank(V)``.

    ``d``: row minus column margins; ``V``: their covariance, ``V_ii = n_i. + n_.i - 2 n_ii``,
    ``V_ij = -(n_ij + n_ji)``. Eigenvalues at or below ``sqrt(eps)`` times the largest count as
    zero, the tolerance of coin's ``MPinv``.
    """
    n = np.asarray(counts, dtype=float)
    d = n.sum(axis=1) - n.sum(axis=0)
    v = -(n + n.T)
    np.fill_diagonal(v, n.sum(axis=1) + n.sum(axis=0) - 2 * np.diag(n))
    eig, vec = np.linalg.eigh(v)
    if eig.max(initial=0.0) <= 0:
        return np.nan, 0
    keep = eig > math.sqrt(np.finfo(float).eps) * eig.max()
    proj = vec[:, keep].T @ d
    return float(np.sum(proj**2 / eig[keep])), int(keep.sum())


def stuart_maxwell(
    data: pd.DataFrame,
    *,
    dv: str,
    within: str,
    subject: str,
    categories: Sequence[str] = CATEGORIES,
) -> pd.DataFrame:
    """Stuart-Maxwell test of marginal homogeneity of a k-category outcome at two time points.

    Parameters
    ----------
    data : DataFrame
        Long format: one row per subject and time point.
    dv, within, subject : str
        Columns of the category, the time point (two levels; ``baseline`` comes first when the
        levels are ``baseline``/``follow_up``) and the subject id.
    categories : sequence of str
        All categories in order, so that a category nobody is in still has its row and column
        (default ``none``, ``mild``, ``severe``).

    Returns
    -------
    DataFrame
        One row: ``statistic`` (chi-square), ``df``, ``p_unc``, ``n`` (subjects with both values),
        ``note`` (empty, or why the statistic is NaN or why the df is below ``k - 1``).
        ``attrs['table']`` holds the k x k table (rows: first time point, columns: second).

    Raises
    ------
    StatsInputError
        A column is missing, ``within`` does not have two levels, a subject has two rows for one
        time point, or a value lies outside ``categories``.

    Notes
    -----
    Stuart's (1955) and Maxwell's (1970) statistic ``W = d' V^+ d``, with ``d`` the differences
    between the row and column margins and ``V`` their covariance, on ``df = rank(V)`` degrees
    of freedom, as R's ``coin::mh_test`` computes it (a quadratic form with the Moore-Penrose
    inverse of the covariance). When every category is linked to every other by subjects moving
    between them, ``rank(V) = k - 1`` and ``W`` is the classical statistic, equal to
    statsmodels' ``SquareTable.homogeneity()`` and to R. A category nobody moved into or out of
    (empty, or everyone in it stayed) carries no information about change: it lowers the rank by
    one, wherever it sits in the table, and the statistic is that of the other categories (as
    DescTools' ``StuartMaxwellTest`` documents: such a category is left out). In general
    ``rank(V) = k`` minus the number of groups of categories with no subject moving between the
    groups. Only when nobody changed category (rank 0) is the statistic NaN, with a note.
    SPSS has no Stuart-Maxwell test (its McNemar-Bowker test answers the different question of
    symmetry).

    Examples
    --------
    Everyone in ``none`` stays there; between ``mild`` and ``severe`` 3 move up and 1 down:

    >>> import pandas as pd
    >>> pairs = ([("none", "none")] * 10 + [("mild", "mild")] * 7 + [("mild", "severe")] * 3
    ...          + [("severe", "mild")] * 1 + [("severe", "severe")] * 9)
    >>> data = pd.DataFrame([(i, t, c) for i, pair in enumerate(pairs)
    ...                      for t, c in zip(["baseline", "follow_up"], pair)],
    ...                     columns=["sid", "time", "cat"])
    >>> res = stuart_maxwell(data, dv="cat", within="time", subject="sid")
    >>> res.attrs["table"].to_numpy().tolist()
    [[10, 0, 0], [0, 7, 3], [0, 1, 9]]
    >>> print(res[["statistic", "df", "p_unc", "n"]].round(4).to_string(index=False))
     statistic  df  p_unc  n
           1.0 1.0 0.3173 30
    >>> res.loc[0, "note"]
    "df 1 = rank of the covariance (k - 1 = 2): no subject moved into or out of 'none'"
    """
    wide, levels = _paired_wide(data, dv=dv, within=within, subject=subject, func="stuart_maxwell")
    categories = list(categories)
    bad = set(pd.unique(wide.to_numpy().ravel())) - set(categories)
    if bad:
        raise StatsInputError(ERR_CATEGORY.format(col=dv, bad=_few(sorted(map(str, bad))), allowed=categories))
    k = len(categories)
    codes = [pd.Categorical(wide[lv], categories=categories).codes for lv in levels]
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (codes[0], codes[1]), 1)
    table = pd.DataFrame(counts, index=pd.Index(categories, name=levels[0]),
                         columns=pd.Index(categories, name=levels[1]))
    statistic, df, p, note = np.nan, np.nan, np.nan, ""
    if len(wide) == 0:
        note = f"no subject has a value of {dv!r} at both time points: nothing to test"
    else:
        off = counts - np.diag(np.diag(counts))
        if not off.any():
            note = "no subject changed category: marginal homogeneity holds trivially, no test"
        else:
            statistic, rank = _stuart_maxwell_table(counts)
            df, p = float(rank), float(sps.chi2.sf(statistic, rank))
            if rank < k - 1:
                moved = (off + off.T) > 0
                isolated = [categories[i] for i in range(k) if not moved[i].any()]
                linked = [part for part in _components(moved) if len(part) > 1]
                reasons = []
                if isolated:
                    empty = [c for c in isolated if counts[categories.index(c)].sum() == 0
                             and counts[:, categories.index(c)].sum() == 0]
                    reasons.append("no subject moved into or out of " + _few(isolated)
                                   + (f" (empty: {_few(empty)})" if empty else ""))
                if len(linked) > 1:
                    reasons.append("no subject moved between the groups of categories "
                                   + " | ".join("{" + ", ".join(categories[i] for i in part) + "}"
                                                for part in linked))
                note = f"df {rank} = rank of the covariance (k - 1 = {k - 1}): " + "; ".join(reasons)
    out = pd.DataFrame(
        {"statistic": [statistic], "df": [df], "p_unc": [p], "n": [len(wide)], "note": [note]}
    )
    out.attrs["table"] = table
    return out


# --------------------------------------------------------------------------------------------
# Fisher-Freeman-Halton


class _TooLarge(Exception):
    """The exact network algorithm would exceed its work limit."""


def _expand(nodes: np.ndarray, total: int, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Every column ``x`` with ``0 <= x <= R`` and ``sum(x) = total`` for each row-sum state ``R``.

    Returns the index of the state each column belongs to and the columns (one per row).
    """
    n, r = nodes.shape
    tail = np.cumsum(nodes[:, ::-1], axis=1)[:, ::-1]  # tail[:, i] = sum of R_i .. R_r
    parent = np.arange(n)
    left = np.full(n, total, dtype=np.int64)
    columns: list[np.ndarray] = []
    for i in range(r - 1):
        low = np.maximum(0, left - tail[parent, i + 1])
        high = np.minimum(nodes[parent, i], left)
        width = high - low + 1
        size = int(width.sum())
        if size > limit:
            raise _TooLarge
        rep = np.repeat(np.arange(len(parent)), width)
        value = low[rep] + (np.arange(size) - np.repeat(np.cumsum(width) - width, width))
        columns = [c[rep] for c in columns] + [value]
        parent, left = parent[rep], left[rep] - value
    columns.append(left)
    return parent, np.column_stack(columns)


def _unique_rows(states: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a non-negative integer matrix (entries < base) and the inverse index."""
    n, r = states.shape
    if r * math.log2(base) < 62:
        code = states[:, 0].astype(np.int64)
        for i in range(1, r):
            code = code * base + states[:, i]
        _, first, inverse = np.unique(code, return_index=True, return_inverse=True)
        return states[first], inverse.ravel()
    order = np.lexsort(states.T[::-1])
    ordered = states[order]
    new = np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)]
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


def _path_bounds(states: np.ndarray, rest: np.ndarray, lf: np.ndarray):
    """For each row-sum state, bounds on the completions by the remaining columns ``rest``.

    Returns ``low`` <= the smallest and ``high`` >= the largest ``sum log x!`` of a completion,
    and the log of the total mass ``sum over completions of prod 1 / x!``, which is
    ``M! / (prod R_i! prod c_j!)``. ``low`` relaxes one margin at a time (spreading each row, or
    each column, as evenly as possible); ``high`` fills the largest cells first, row by row
    under the column sums, or column by column under the row sums, and keeps the smaller.
    """
    n, r = states.shape
    m = len(rest)
    q, rem = np.divmod(states, m)
    low_rows = (rem * lf[q + 1] + (m - rem) * lf[q]).sum(axis=1)
    q, rem = np.divmod(rest, r)
    low_cols = float((rem * lf[q + 1] + (r - rem) * lf[q]).sum())
    low = np.maximum(low_rows, low_cols)
    caps = np.sort(rest)[::-1]
    before = np.r_[0, np.cumsum(caps)[:-1]]
    cells = np.clip(states[:, :, None] - before[None, None, :], 0, caps[None, None, :])
    high_rows = lf[cells].sum(axis=(1, 2))
    desc = states[:, ::-1]
    before = np.concatenate([np.zeros((n, 1), np.int64), np.cumsum(desc, axis=1)[:, :-1]], axis=1)
    cells = np.clip(caps[None, :, None] - before[:, None, :], 0, desc[:, None, :])
    high_cols = lf[cells].sum(axis=(1, 2))
    log_mass = lf[states.sum(axis=1)] - lf[states].sum(axis=1) - lf[rest].sum()
    return low, np.minimum(high_rows, high_cols), log_mass


def _fisher_exact_network(table: np.ndarray, max_work: float | None = MAX_EXACT_WORK) -> float:
    """Exact Fisher-Freeman-Halton p value by a network algorithm (Mehta & Patel, 1983).

    The table is built column by column. A node is the multiset of row sums still to fill (rows
    are interchangeable, so the sorted vector is the key); a path to it carries the part of
    ``sum log x!`` fixed so far, and paths with the same node and the same value (to 1e-8) are
    merged, their multiplicities added. At each node, bounds on the remaining part
    (:func:`_path_bounds`) settle whole bundles of tables at once: when even the most probable
    completion is no more probable than the observed table, all completions count and their
    total probability is added in closed form; when even the least probable one is more probable,
    none do. The last two columns are settled exactly: each choice of the next-to-last column
    fixes the table, and the pasts of a node are matched against its sorted completions.

    Probabilities are handled in log space. A table counts when its probability is at most the
    observed one times ``1 + REL_TOL`` (R's ``fisher.test``). Raises :class:`_TooLarge` when more
    than ``max_work`` partial tables would be generated.
    """
    t = np.asarray(table, dtype=np.int64)
    if t.shape[0] > t.shape[1]:
        t = t.T  # fewer rows: smaller states
    rows, cols = np.sort(t.sum(axis=1)), np.sort(t.sum(axis=0))
    total = int(t.sum())
    lf = special.gammaln(np.arange(total + 2) + 1.0)
    const = lf[rows].sum() + lf[cols].sum() - lf[total]
    s_crit = lf[t].sum() - math.log1p(REL_TOL)  # tables with sum log x! >= s_crit count
    limit = math.inf if max_work is None else float(max_work)
    nodes = rows[None, :]
    path_node, past, weight = np.array([0]), np.array([0.0]), np.array([0.0])  # weight: log count
    p, work = 0.0, 0
    for j in range(len(cols) - 1):
        parent, x = _expand(nodes, int(cols[j]), (limit - work) / COMBO_COST)
        work += COMBO_COST * len(x)
        if work > limit:
            raise _TooLarge
        child = nodes[parent] - x
        step = lf[x].sum(axis=1)
        if j == len(cols) - 2:  # the last column is fixed by the remaining row sums
            future = step + lf[child].sum(axis=1)
            order = np.lexsort((future, parent))
            future, parent = future[order], parent[order]
            starts = np.searchsorted(parent, np.arange(len(nodes)), side="left")
            ends = np.searchsorted(parent, np.arange(len(nodes)), side="right")
            path_starts = np.searchsorted(path_node, np.arange(len(nodes)), side="left")
            path_ends = np.searchsorted(path_node, np.arange(len(nodes)), side="right")
            work += len(past) + 50 * len(nodes)
            if work > limit:
                raise _TooLarge
            for node in range(len(nodes)):
                f = future[starts[node]:ends[node]]
                a, b = path_starts[node], path_ends[node]
                if not len(f) or a == b:
                    continue
                mass = np.r_[np.cumsum(np.exp(f[0] - f)[::-1])[::-1], 0.0]  # mass of f[i:]
                idx = np.searchsorted(f, s_crit - past[a:b], side="left")
                p += float(np.sum(np.exp(const + weight[a:b] - past[a:b] - f[0]) * mass[idx]))
            break
        per_path = np.bincount(parent, minlength=len(nodes))[path_node]
        first_choice = np.r_[0, np.cumsum(np.bincount(parent, minlength=len(nodes)))[:-1]]
        size = int(per_path.sum())
        work += size
        if work > limit:
            raise _TooLarge
        states, inverse = _unique_rows(np.sort(child, axis=1), total + 1)
        rep = np.repeat(np.arange(len(past)), per_path)
        choice = first_choice[path_node[rep]] + (np.arange(size) - np.repeat(np.cumsum(per_path) - per_path, per_path))
        s, w, key = past[rep] + step[choice], weight[rep], inverse[choice]
        low, high, log_mass = _path_bounds(states, cols[j + 1:], lf)
        settled = s + low[key] >= s_crit
        if settled.any():
            p += float(np.exp(const + w[settled] - s[settled] + log_mass[key[settled]]).sum())
        keep = ~settled & (s + high[key] >= s_crit)
        s, w, key = s[keep], w[keep], key[keep]
        if not len(s):
            break
        rounded = np.round(s * 1e8).astype(np.int64)
        order = np.lexsort((rounded, key))
        s, w, key, rounded = s[order], w[order], key[order], rounded[order]
        new = np.r_[True, (key[1:] != key[:-1]) | (rounded[1:] != rounded[:-1])]
        first = np.flatnonzero(new)
        top = np.maximum.reduceat(w, first)
        w = top + np.log(np.add.reduceat(np.exp(w - top[np.cumsum(new) - 1]), first))
        s, key = s[first], key[first]
        used, path_node = np.unique(key, return_inverse=True)
        nodes, path_node, past, weight = states[used], path_node.ravel(), s, w
    return min(1.0, p)


def _fisher_monte_carlo(table: np.ndarray, n_draws: int, seed: int) -> tuple[float, float]:
    """Monte Carlo p value and its standard error, as R's ``fisher.test(simulate.p.value=TRUE)``.

    ``n_draws`` tables with the observed margins are drawn by Patefield's (1981) algorithm
    (``scipy.stats.random_table``, seeded); ``p = (1 + #{drawn tables no more probable than the
    observed one}) / (n_draws + 1)``, with the tolerance ``REL_TOL``; ``se = sqrt(p (1 - p) /
    n_draws)``.
    """
    t = np.asarray(table, dtype=np.int64)
    s_crit = special.gammaln(t + 1.0).sum() - math.log1p(REL_TOL)
    dist = sps.random_table(t.sum(axis=1), t.sum(axis=0), seed=np.random.default_rng(seed))
    hits, done = 0, 0
    while done < n_draws:
        size = min(20_000, n_draws - done)
        draws = dist.rvs(size=size, method="patefield")
        hits += int((special.gammaln(draws + 1.0).sum(axis=(1, 2)) >= s_crit).sum())
        done += size
    p = (1 + hits) / (n_draws + 1)
    return p, math.sqrt(p * (1 - p) / n_draws)


def _check_counts(table) -> np.ndarray:
    """The table as a 2-D integer array, or StatsInputError naming the offending entries."""
    try:
        values = np.asarray(table, dtype=float)
    except (TypeError, ValueError):
        raise StatsInputError(ERR_COUNTS.format(bad="values that are not numbers")) from None
    if values.ndim != 2:
        raise StatsInputError(ERR_COUNTS.format(bad=f"an array with {values.ndim} dimension(s), not a 2-D table"))
    bad = values[~np.isfinite(values) | (values < 0) | (values != np.round(values))]
    if bad.size:
        raise StatsInputError(ERR_COUNTS.format(bad=_few(sorted({float(v) for v in bad}, key=str))))
    return values.astype(np.int64)


def fisher_freeman_halton(
    table: np.ndarray | pd.DataFrame,
    *,
    method: Literal["auto", "exact", "monte-carlo"] = "auto",
    n_draws: int = MC_DRAWS,
    seed: int = MC_SEED,
) -> FisherResult:
    """Fisher-Freeman-Halton test of independence for an r x c table (two-sided).

    Parameters
    ----------
    table : array_like of int
        Counts (non-negative whole numbers); empty rows or columns are dropped first.
    method : {'auto', 'exact', 'monte-carlo'}
        'exact': the network algorithm, however long it takes; 'monte-carlo': simulated tables;
        'auto' (default): exact unless the network algorithm would generate more than
        ``MAX_EXACT_WORK`` partial tables (one to two seconds), then Monte Carlo.
    n_draws, seed : int
        Number of simulated tables and the seed of the Monte Carlo p value.

    Returns
    -------
    FisherResult
        ``pvalue``, ``method`` (``'exact'`` or ``'monte-carlo'``), ``n_draws`` (0 when exact) and
        ``se`` (the Monte Carlo standard error; 0.0 when exact).

    Raises
    ------
    StatsInputError
        The table is not 2-D or holds negative, fractional, missing or infinite entries.

    Notes
    -----
    The p value is the probability, given the margins, of a table no more probable than the
    observed one (Freeman & Halton, 1951), with R's relative tolerance of 1e-7, as R's
    ``fisher.test``. The exact value comes from a network algorithm in the spirit of Mehta &
    Patel (1983) and R's FEXACT (:func:`_fisher_exact_network`), which settles whole bundles
    of tables at once instead of listing them: R's 4 x 4 job-satisfaction example (N = 96)
    takes well under a second. The Monte Carlo p value follows R's ``simulate.p.value``:
    ``(1 + #{simulated tables no more probable}) / (n_draws + 1)``, tables drawn with the
    observed margins by Patefield's algorithm. ``scipy.stats.fisher_exact`` (scipy 1.17) is
    exact for 2 x 2 only. A table with fewer than two non-empty rows or columns has p = 1.

    Examples
    --------
    Cardillo's MyFisher23 example (p = 0.088235):

    >>> res = fisher_freeman_halton([[0, 3, 2], [6, 5, 1]])
    >>> round(res.pvalue, 6), res.method
    (0.088235, 'exact')

    The same table by simulation, with its standard error:

    >>> mc = fisher_freeman_halton([[0, 3, 2], [6, 5, 1]], method="monte-carlo", n_draws=20_000)
    >>> mc.method, mc.n_draws, abs(mc.pvalue - res.pvalue) < 4 * mc.se
    ('monte-carlo', 20000, True)

    Shares are not counts:

    >>> fisher_freeman_halton([[0.5, 0.5], [0.2, 0.8]])
    Traceback (most recent call last):
    ...
    veiligverder.stats.StatsInputError: fisher_freeman_halton: the table must hold non-negative whole counts; found 0.2, 0.5, 0.8. Pass the counts of a cross-tabulation (pandas.crosstab), not shares or coded values.
    """
    if method not in ("auto", "exact", "monte-carlo"):
        raise StatsInputError(ERR_METHOD.format(allowed=["auto", "exact", "monte-carlo"], method=method))
    counts = _check_counts(table)
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    if min(counts.shape, default=0) < 2:
        return FisherResult(1.0, "exact", 0, 0.0)
    if method != "monte-carlo":
        try:
            p = _fisher_exact_network(counts, None if method == "exact" else MAX_EXACT_WORK)
            return FisherResult(p, "exact", 0, 0.0)
        except (_TooLarge, MemoryError):
            pass
    p, se = _fisher_monte_carlo(counts, n_draws, seed)
    return FisherResult(p, "monte-carlo", int(n_draws), se)


def chi2_groups(data: pd.DataFrame, *, x: str, y: str) -> pd.DataFrame:
    """Chi-square test of independence of two categorical columns, exact when counts are small.

    Parameters
    ----------
    data : DataFrame
        One row per unit; rows with ``x`` or ``y`` missing are left out.
    x, y : str
        The two columns (for example ``group`` and ``violence_category``).

    Returns
    -------
    DataFrame
        One row: ``statistic`` (Pearson chi-square, no continuity correction), ``df``, ``p_unc``,
        ``method`` (``'chi2'``, ``'fisher-freeman-halton'`` (exact) or ``'fisher-freeman-halton
        (monte carlo)'``), ``min_expected``, ``n_draws`` and ``se`` (Monte Carlo draws and
        standard error of ``p_unc``; 0 when the p value is not simulated), ``note`` (empty, or why
        the numbers are NaN, or the Monte Carlo details). ``attrs['table']`` holds the observed
        table (only levels that occur).

    Notes
    -----
    Where any expected count is below 5 the p value is the Fisher-Freeman-Halton one
    (:func:`fisher_freeman_halton`, as R's ``fisher.test``): exact, or for tables beyond the
    exact algorithm's work limit a seeded Monte Carlo value with its number of draws and standard
    error; ``statistic`` and ``df`` still report Pearson's chi-square for the text. SPSS prints
    both in its Crosstabs output (the exact test needs its Exact Tests module); SPSS's Pearson
    chi-square has no continuity correction, as here. With fewer than two levels of ``x`` or
    ``y`` there is nothing to test: NaN with a note. No table of counts makes this function raise.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"group": ["VV"] * 10 + ["control"] * 11,
    ...                      "outcome": ["a"] * 7 + ["b"] * 3 + ["a"] * 3 + ["b"] * 8})
    >>> res = chi2_groups(data, x="group", y="outcome")
    >>> res.attrs["table"].to_numpy().tolist()
    [[7, 3], [3, 8]]
    >>> print(res[["statistic", "df", "p_unc", "method", "min_expected"]].round(4).to_string(index=False))
     statistic  df  p_unc                method  min_expected
        3.8338 1.0 0.0861 fisher-freeman-halton        4.7619
    """
    _require(data, [x, y], "chi2_groups")
    rows = data[[x, y]].dropna()
    table = pd.crosstab(rows[x], rows[y])
    counts = table.to_numpy()
    if min(counts.shape) < 2:
        short = [f"{col!r} has {_few(levels)}" for col, levels in ((x, table.index), (y, table.columns))
                 if len(levels) < 2]
        out = pd.DataFrame(
            {"statistic": [np.nan], "df": [np.nan], "p_unc": [np.nan], "method": ["none"],
             "min_expected": [np.nan], "n_draws": [0], "se": [0.0],
             "note": ["fewer than two levels to compare (" + "; ".join(short) + "): nothing to test"]}
        )
        out.attrs["table"] = table
        return out
    statistic, p, df, expected = sps.chi2_contingency(counts, correction=False)
    min_expected = float(expected.min())
    method, n_draws, se, note = "chi2", 0, 0.0, ""
    if min_expected < 5:
        res = fisher_freeman_halton(counts)
        p, n_draws, se = res.pvalue, res.n_draws, res.se
        method = "fisher-freeman-halton" if res.method == "exact" else "fisher-freeman-halton (monte carlo)"
        if res.method != "exact":
            note = (f"Monte Carlo p value: {res.n_draws} tables with the observed margins (seed {MC_SEED}), "
                    f"standard error {res.se:.4f}; the table is beyond the exact algorithm's work limit")
    out = pd.DataFrame(
        {
            "statistic": [float(statistic)],
            "df": [float(df)],
            "p_unc": [float(p)],
            "method": [method],
            "min_expected": [min_expected],
            "n_draws": [int(n_draws)],
            "se": [float(se)],
            "note": [note],
        }
    )
    out.attrs["table"] = table
    return out


# --------------------------------------------------------------------------------------------
# Welch t-test


