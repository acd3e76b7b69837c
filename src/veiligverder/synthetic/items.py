"""Item answers that add up to a wanted score: the measurement part of the synthetic twin.

The twin first decides what each respondent's *score* is (a violence count, a scale total, a
T-score) and then writes item answers that produce exactly that score under the scoring rule. The
answers follow a graded-response model (Samejima 1969): item ``j`` of respondent ``i`` is at level
``l`` or higher when the respondent's latent position ``theta_i`` exceeds the item's crossing point

    c_ijl = b_jl + logit(u_ij) / a,

with ``b_jl`` the item's (increasing) thresholds, ``a`` the discrimination and ``u_ij`` one uniform
draw per answer. For fixed draws the score is a step function of ``theta``; :func:`realize` picks,
per respondent, the ``theta`` whose score is nearest the wanted one. Answers of one respondent share
``theta``, so scales get internal consistency that grows with ``a`` (the calibration tunes it to the
reported Cronbach's alphas), and the respondents' scores are exactly the ones decided upstream.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logit


def thresholds(locations: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Item thresholds ``b_jl = location_j + step_l`` as a (items x levels-1) array.

    Parameters
    ----------
    locations : ndarray
        One location (difficulty) per item; higher = the item is endorsed less.
    steps : ndarray
        Increasing offsets of the level thresholds, shared by the items.
    """
    return np.asarray(locations, float)[:, None] + np.sort(np.asarray(steps, float))[None, :]


def realize(
    target: np.ndarray,
    u: np.ndarray,
    b: np.ndarray,
    *,
    a: float,
    gains: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Levels (0-based) of every item such that each row's score is as close as possible to ``target``.

    Parameters
    ----------
    target : ndarray, shape (n,)
        Wanted score per respondent (NaN rows get NaN answers).
    u : ndarray, shape (n, k)
        Uniform(0, 1) draws, one per answer (keep them fixed to vary ``target`` smoothly).
    b : ndarray, shape (k, L-1) or (n, k, L-1)
        Thresholds per item, increasing along the last axis (see :func:`thresholds`); a 3-d array
        gives every respondent its own (e.g. shifted by a person-by-block effect).
    a : float
        Discrimination; larger = answers of one respondent agree more.
    gains : ndarray, shape (L-1,), optional
        What reaching each next level adds to the score (default 1 per level: the score is the sum
        of the levels). For CTS items the gains are the incident counts of the frequency codes.

    Returns
    -------
    levels : ndarray, shape (n, k), float
        Item levels 0..L-1 (NaN in rows whose target is NaN).
    score : ndarray, shape (n,)
        The score the levels give (equal to the target when it is reachable by whole steps).

    Notes
    -----
    All crossing points of a row are sorted; the cumulative gains along them give the score for
    every ``theta`` at once, so no iteration is needed: the row passes its ``m`` lowest crossings,
    ``m`` chosen so that the score is nearest the target (an item's own crossings are increasing,
    so its level is the number of its crossings passed).
    """
    target = np.asarray(target, float)
    n, k = u.shape
    steps = b.shape[-1]
    gains = np.ones(steps) if gains is None else np.asarray(gains, float)
    u = np.clip(u, 1e-9, 1 - 1e-9)
    cross = (b if b.ndim == 3 else b[None, :, :]) + logit(u)[:, :, None] / a  # (n, k, L-1), rising in l
    flat = cross.reshape(n, k * steps)
    gain = np.broadcast_to(gains, (n, k, steps)).reshape(n, k * steps)
    order = np.argsort(flat, axis=1, kind="stable")
    cum = np.cumsum(np.take_along_axis(gain, order, axis=1), axis=1)       # score after each crossing
    cum0 = np.concatenate([np.zeros((n, 1)), cum], axis=1)                 # score before any crossing
    # number of crossings passed: choose the count m whose score cum0[m] is nearest the target
    tgt = np.where(np.isfinite(target), target, 0.0)
    above = np.sum(cum0 < tgt[:, None], axis=1)                            # first m with cum0[m] >= target
    above = np.minimum(above, k * steps)
    below = np.maximum(above - 1, 0)
    pick_low = np.abs(np.take_along_axis(cum0, below[:, None], 1)[:, 0] - tgt) < np.abs(
        np.take_along_axis(cum0, above[:, None], 1)[:, 0] - tgt
    )
    m = np.where(pick_low, below, above)
    # the m lowest crossings are passed (ranks, so that tied crossings of different items are split)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(k * steps)[None, :].repeat(n, axis=0), axis=1)
    levels = (rank < m[:, None]).reshape(n, k, steps).sum(axis=2).astype(float)
    score = np.take_along_axis(cum0, m[:, None], 1)[:, 0]
    missing = ~np.isfinite(target)
    levels[missing] = np.nan
    score[missing] = np.nan
    return levels, score


def cronbach_alpha(x: np.ndarray) -> float:
    """Cronbach's alpha of complete rows of an (n x k) answer matrix (Cronbach 1951).

    alpha = k / (k - 1) * (1 - sum of item variances / variance of the total), sample variances.
    Used only while tuning the twin; the project's figure comes from ``instruments.cronbach_alpha_table``.
    """
    x = np.asarray(x, float)
    x = x[np.all(np.isfinite(x), axis=1)]
    k = x.shape[1]
    total = x.sum(axis=1).var(ddof=1)
    return float(k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / total)) if total > 0 else float("nan")
