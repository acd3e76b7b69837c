"""Random building blocks of the synthetic twin: named random streams, exact quotas, weighted
picks, standardisation within groups, correlated normal scores and raw-score bounds."""

from __future__ import annotations

import zlib

import numpy as np
from scipy import stats



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
