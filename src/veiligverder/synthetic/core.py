"""Small building blocks of the synthetic twin: named random streams, exact quotas, moment matching,
the latest-follow-up rule and the 2 x 2 mixed ANOVA the generator checks itself against.

The generator reads the instrument specs and keys but never uses the project's scoring or
statistics (they are what the twin is checked with); the few rules it needs are re-implemented
here from CONTRACT §2-§3 and kept deliberately plain.
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy import stats

WAVES = ("T0", "T1", "T2")
DESIGN_GROUPS = ("VV", "control")


class Streams:
    """Independent random generators keyed by name, all derived from one seed.

    Each part of the model draws from its own stream (``streams("violence")``), so changing one
    part leaves the draws of every other part as they were (common random numbers while tuning).
    The stream of a name is fixed by ``(seed, crc32(name))`` through numpy's ``SeedSequence``.
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def __call__(self, name: str) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, zlib.crc32(name.encode())]))


def quota_counts(shares: dict[str, float], n: int) -> dict[str, int]:
    """Whole counts per category that add up to ``n``, nearest to ``share * n`` (largest remainder).

    Shares may be percentages or proportions (they are normalised). Used to reproduce a printed
    percentage table exactly: 2.6 % of 39 parents -> 1 parent.
    """
    keys = list(shares)
    raw = np.array([float(shares[k]) for k in keys])
    raw = raw / raw.sum() * n
    counts = np.floor(raw).astype(int)
    rest = n - counts.sum()
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:rest]] += 1
    return dict(zip(keys, counts.tolist()))


def quota_assign(shares: dict[str, float], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` category labels in random order with exactly the :func:`quota_counts` of ``shares``."""
    counts = quota_counts(shares, n)
    labels = np.repeat(np.array(list(counts), dtype=object), list(counts.values()))
    return rng.permutation(labels)


def pick_exact(n_pick: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask selecting exactly ``n_pick`` of the units, with probability rising with ``weights``.

    Efraimidis-Spirakis weighted sampling without replacement: keys ``u ** (1 / w)``, take the largest.
    """
    weights = np.asarray(weights, float)
    mask = np.zeros(weights.size, bool)
    n_pick = int(min(max(n_pick, 0), np.sum(weights > 0)))
    if n_pick == 0:
        return mask
    keys = np.where(weights > 0, rng.random(weights.size) ** (1.0 / np.maximum(weights, 1e-12)), -1.0)
    mask[np.argsort(-keys, kind="stable")[:n_pick]] = True
    return mask


def standardize(x: np.ndarray, groups: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Values centred and scaled to mean 0, SD 1 within each group (over ``mask`` rows).

    Moment matching: a group's sample then has exactly the mean and SD the model asks for, whatever
    the seed. Rows outside ``mask`` are transformed with their group's constants.
    """
    x = np.asarray(x, float).copy()
    mask = np.ones(x.size, bool) if mask is None else mask
    for g in np.unique(groups):
        sel = groups == g
        ref = x[sel & mask]
        if ref.size >= 2 and ref.std(ddof=1) > 0:
            x[sel] = (x[sel] - ref.mean()) / ref.std(ddof=1)
    return x



def mixed_anova_2x2(y0: np.ndarray, y1: np.ndarray, group: np.ndarray) -> dict[str, dict[str, float]]:
    """F, p and partial eta squared of time, group and interaction in a 2 (group) x 2 (time) design.

    Type III sums of squares as SPSS GLM repeated measures (CONTRACT §3). With two waves the
    within-unit effects are tests on the change ``d = y1 - y0``: the interaction compares the
    groups' mean changes, ``time`` tests the unweighted mean of the two groups' mean changes; the
    error is the pooled within-group variance of ``d``. ``group`` compares the units' means of the
    two waves. Only for the generator's own checks; the book uses ``veiligverder.stats``.
    """
    labels = [g for g in DESIGN_GROUPS if np.any(group == g)]
    d = y1 - y0
    m = (y0 + y1) / 2
    n = np.array([np.sum(group == g) for g in labels], float)
    df2 = n.sum() - len(labels)
    out: dict[str, dict[str, float]] = {}

    def pooled(v: np.ndarray) -> float:
        return sum(np.sum((v[group == g] - v[group == g].mean()) ** 2) for g in labels) / df2

    dm = np.array([d[group == g].mean() for g in labels])
    mm = np.array([m[group == g].mean() for g in labels])
    var_d, var_m = pooled(d), pooled(m)
    f_time = dm.mean() ** 2 / (var_d * np.sum(1 / n) / len(labels) ** 2) if var_d > 0 else np.nan
    f_int = (dm[0] - dm[-1]) ** 2 / (var_d * np.sum(1 / n)) if var_d > 0 and len(labels) == 2 else np.nan
    f_grp = (mm[0] - mm[-1]) ** 2 / (var_m * np.sum(1 / n)) if var_m > 0 and len(labels) == 2 else np.nan
    for name, f in (("time", f_time), ("group", f_grp), ("interaction", f_int)):
        out[name] = {"F": f, "p": float(stats.f.sf(f, 1, df2)), "np2": f / (f + df2)}
    return out



def analysis_pairs(values: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Baseline and latest follow-up values of the VV and control units that have both."""
    has = np.isfinite(values)
    fu = np.where(has[:, 2], 2, np.where(has[:, 1], 1, -1))          # latest follow-up wave
    keep = has[:, 0] & (fu > 0) & np.isin(groups, ("VV", "control"))
    idx = np.flatnonzero(keep)
    return values[idx, 0], values[idx, fu[idx]], groups[idx]


TARGETS_FILE = "targets.yml"


class Targets:
    """The calibration targets of ``targets.yml``: ``value(id)``, ``entries(set)``, ``tolerance(id)``."""

    def __init__(self, doc: dict) -> None:
        self.sets: dict = doc["sets"]
        self.entries_list: list[dict] = doc["targets"]
        self.by_id: dict[str, dict] = {e["id"]: e for e in self.entries_list}
        if len(self.by_id) != len(self.entries_list):
            seen: set[str] = set()
            dup = sorted({e["id"] for e in self.entries_list if e["id"] in seen or seen.add(e["id"])})
            raise ValueError(f"{TARGETS_FILE}: duplicate target ids {dup}; make every id unique")

    def value(self, target_id: str):
        """The target value of one id (KeyError naming the id when absent)."""
        try:
            return self.by_id[target_id]["value"]
        except KeyError:
            raise KeyError(f"{TARGETS_FILE} has no target {target_id!r}") from None

    def entries(self, target_set: str | None = None) -> list[dict]:
        """Target entries of one set (``table2`` ... ``figures``; all when None), in file order."""
        return [e for e in self.entries_list if target_set is None or e["set"] == target_set]

    def tolerance(self, target_id: str):
        """The entry's tolerance, else its set's default (``None`` for check-type entries)."""
        e = self.by_id[target_id]
        return e.get("tolerance", self.sets[e["set"]].get("tolerance"))


def load_targets() -> Targets:
    """Parse ``targets.yml`` shipped next to this module."""
    import yaml
    from pathlib import Path

    with (Path(__file__).with_name(TARGETS_FILE)).open(encoding="utf-8") as fh:
        return Targets(yaml.safe_load(fh))


def normal_scores(groups: np.ndarray, rng: np.random.Generator, *, link: np.ndarray | None = None,
                  rho: float = 0.0) -> np.ndarray:
    """Standard-normal values whose distribution within each group is fixed: the quantiles
    ``Phi^-1((i - 0.5) / n)`` handed out in the order of ``rho * link + noise`` (stratified sampling
    with a rank correlation to ``link``; plain random order when ``rho`` is 0).

    A heavy-tailed outcome built on them has the same spread in every sample of the same size, so
    effect sizes do not swing with a few extreme draws; only who gets which value is random.
    """
    noise = rng.standard_normal(len(groups))
    key = noise if link is None else rho * np.asarray(link, float) + np.sqrt(1 - rho**2) * noise
    out = np.zeros(len(groups))
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        q = stats.norm.ppf((np.arange(idx.size) + 0.5) / idx.size)
        out[idx[np.argsort(key[idx], kind="stable")]] = q
    return out


def raw_bounds(cut: float, *, margin: float = 0.01) -> tuple[float, float]:
    """Whole raw scores clearly on either side of a cut-off: (highest below, lowest at or above).

    Scores never land within ``margin`` of the cut, so floating-point rounding in a T-score or mean
    cannot move a unit across it (a cut of 48 gives 47 and 49; 12.75 gives 12 and 13).
    """
    return float(np.floor(cut - margin)), float(np.ceil(cut + margin))
