"""Statistical power of the group x time test, by simulation at the effects observed.

The report concludes that the study was too small to show differences between the groups but
gives no numbers. This module answers how large it would have had to be.

In the 2 x 2 mixed design the group x time F test equals a two-sample t-test on the change scores
(follow-up minus baseline): F = t squared with pooled variance (e.g. Maxwell, Delaney & Kelley,
*Designing Experiments and Analyzing Data*, ch. 12; checked in the tests against
:func:`veiligverder.stats.mixed_anova`). Power is therefore simulated by drawing change scores for
``n`` units per group and counting how often the pooled t-test rejects at alpha = .05.

Two generators are offered:

- ``normal``: change scores normal with the observed group means and the pooled SD; for this the
  analytic power of :class:`statsmodels.stats.power.TTestIndPower` is exact, and the tests check the
  simulation against it;
- ``bootstrap`` (default for the book): resampling each group's observed change scores with
  replacement, which keeps their skew and ties (incident counts, 0/1 outcomes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

DEFAULT_SIZES = (20, 30, 40, 50, 60, 80, 100, 125, 150, 200, 250, 300)
from veiligverder.vocab import ALPHA
from veiligverder.vocab import POWER_TARGET as TARGET


class PowerInputError(ValueError):
    """An analysis sample that cannot give change scores for both groups."""


@dataclass(frozen=True)
class ChangeScores:
    """Observed change scores (follow-up minus baseline) per group of one outcome."""

    outcome: str
    vv: np.ndarray
    control: np.ndarray

    @property
    def pooled_sd(self) -> float:
        n1, n2 = len(self.vv), len(self.control)
        v = ((n1 - 1) * self.vv.var(ddof=1) + (n2 - 1) * self.control.var(ddof=1)) / (n1 + n2 - 2)
        return float(np.sqrt(v))

    @property
    def cohen_d(self) -> float:
        """Standardised difference of the groups' mean changes (pooled SD); 0 when the SD is 0."""
        sd = self.pooled_sd
        return float((self.vv.mean() - self.control.mean()) / sd) if sd > 0 else 0.0


def change_scores(sample: pd.DataFrame, outcome: str = "") -> ChangeScores:
    """Change scores per group from an analysis sample ``[unit_id, group, time, value]``."""
    wide = sample.pivot_table(index=["unit_id", "group"], columns="time", values="value", aggfunc="first")
    if not {"baseline", "follow_up"} <= set(wide.columns):
        raise PowerInputError(f"{outcome}: the sample needs baseline and follow_up values")
    d = (wide["follow_up"] - wide["baseline"]).dropna().reset_index()
    vv = d.loc[d["group"] == "VV", 0].to_numpy(float)
    control = d.loc[d["group"] == "control", 0].to_numpy(float)
    if len(vv) < 2 or len(control) < 2:
        raise PowerInputError(f"{outcome}: fewer than two units with change scores in a group "
                              f"(VV {len(vv)}, control {len(control)})")
    return ChangeScores(outcome, vv, control)


def pooled_t_rejects(a: np.ndarray, b: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Vectorised pooled two-sample t-test per row of ``a`` (reps x n1) and ``b`` (reps x n2).

    Returns a boolean array (reps,): True where p < alpha (two-sided). Rows whose pooled variance
    is 0 reject only if the means differ.
    """
    n1, n2 = a.shape[1], b.shape[1]
    diff = a.mean(axis=1) - b.mean(axis=1)
    var = ((n1 - 1) * a.var(axis=1, ddof=1) + (n2 - 1) * b.var(axis=1, ddof=1)) / (n1 + n2 - 2)
    se = np.sqrt(var * (1 / n1 + 1 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, diff / se, np.where(diff != 0, np.inf, 0.0))
    crit = sps.t.ppf(1 - alpha / 2, n1 + n2 - 2)
    return np.abs(t) > crit


def simulate_power(scores: ChangeScores, n_per_group: int, *, replications: int, seed: int,
                   method: str = "bootstrap", alpha: float = ALPHA) -> float:
    """Share of ``replications`` simulated studies with ``n_per_group`` units per group in which the
    group x time test is significant."""
    rng = np.random.default_rng(seed)
    if method == "bootstrap":
        a = rng.choice(scores.vv, size=(replications, n_per_group), replace=True)
        b = rng.choice(scores.control, size=(replications, n_per_group), replace=True)
    elif method == "normal":
        sd = scores.pooled_sd
        a = rng.normal(scores.vv.mean(), sd, size=(replications, n_per_group))
        b = rng.normal(scores.control.mean(), sd, size=(replications, n_per_group))
    else:
        raise ValueError(f"method={method!r}; use 'bootstrap' or 'normal'")
    return float(pooled_t_rejects(a, b, alpha).mean())


def analytic_power(effect_size: float, n_per_group: int, alpha: float = ALPHA) -> float:
    """Power of the pooled two-sample t-test (statsmodels ``TTestIndPower``, noncentral t)."""
    from statsmodels.stats.power import TTestIndPower

    if effect_size == 0:
        return alpha
    return float(TTestIndPower().power(effect_size=abs(effect_size), nobs1=n_per_group, alpha=alpha, ratio=1.0))


def analytic_n_for_power(effect_size: float, power: float = TARGET, alpha: float = ALPHA) -> float:
    """Units per group for ``power`` (statsmodels ``solve_power``); inf for a zero effect."""
    from statsmodels.stats.power import TTestIndPower

    if abs(effect_size) < 1e-9:
        return float("inf")
    return float(np.ceil(TTestIndPower().solve_power(effect_size=abs(effect_size), power=power, alpha=alpha,
                                                     ratio=1.0)))


def _job(outcome: str, scores: ChangeScores, n: int, replications: int, seed: int, method: str) -> dict:
    return {"outcome": outcome, "n_per_group": n,
            "power": simulate_power(scores, n, replications=replications, seed=seed, method=method)}


def power_curves(samples: dict[str, ChangeScores], *, sizes: Sequence[int] = DEFAULT_SIZES,
                 replications: int = 400, seed: int = 0, method: str = "bootstrap", n_jobs: int = -1,
                 progress: bool = True, scheduler: str | None = None) -> pd.DataFrame:
    """Simulated power for every outcome and group size, in parallel (joblib) with a progress bar.

    Each (outcome, size) job gets its own seed derived from ``seed`` (``numpy.random.SeedSequence``),
    so results do not depend on the number of workers, the order of completion or the machine a job
    runs on.

    ``scheduler``: None runs the jobs in local processes (joblib's default, ``n_jobs`` of them);
    the address of a Dask scheduler (``tcp://host:port``) runs them on that cluster's workers
    (:func:`veiligverder.stats.scaleout.parallel_backend`; ``n_jobs`` is then the cluster's threads).

    Returns
    -------
    DataFrame
        ``outcome``, ``n_per_group``, ``power`` (simulated), ``analytic`` (normal theory at the
        observed standardised effect).
    """
    from joblib import Parallel, delayed
    from tqdm import tqdm  # plain text bar: no widgets in executed notebooks

    from veiligverder.stats.scaleout import parallel_backend

    tasks = [(o, s, n) for o, s in samples.items() for n in sizes]
    if not tasks:  # no outcome usable on this dataset: an empty table, not an error
        return pd.DataFrame({"outcome": pd.Series(dtype=object), "n_per_group": pd.Series(dtype=int),
                             "power": pd.Series(dtype=float), "analytic": pd.Series(dtype=float)})
    seeds = np.random.SeedSequence(seed).generate_state(len(tasks))
    jobs = (delayed(_job)(o, s, n, replications, int(sd), method) for (o, s, n), sd in zip(tasks, seeds))
    with parallel_backend(scheduler):
        rows = list(tqdm(Parallel(n_jobs=n_jobs, return_as="generator")(jobs), total=len(tasks),
                         disable=not progress, desc="power", mininterval=1.0))
    out = pd.DataFrame(rows)
    d = {o: s.cohen_d for o, s in samples.items()}
    out["analytic"] = [analytic_power(d[o], n) for o, n in zip(out["outcome"], out["n_per_group"])]
    return out.sort_values(["outcome", "n_per_group"]).reset_index(drop=True)


def n_for_power(curve: pd.DataFrame, target: float = TARGET) -> float:
    """Smallest group size at which a simulated curve reaches ``target``, by linear interpolation
    between grid points; inf when the largest size stays below it."""
    c = curve.sort_values("n_per_group")
    above = c[c["power"] >= target]
    if above.empty:
        return float("inf")
    i = c.index.get_loc(above.index[0])
    if i == 0:
        return float(c["n_per_group"].iloc[0])
    (n0, p0), (n1, p1) = c[["n_per_group", "power"]].iloc[i - 1], c[["n_per_group", "power"]].iloc[i]
    return float(np.ceil(n0 + (target - p0) * (n1 - n0) / (p1 - p0))) if p1 > p0 else float(n1)


def summary_table(samples: dict[str, ChangeScores], curves: pd.DataFrame, observed_n: dict[str, tuple[int, int]],
                  labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Per outcome: observed n, observed effect (d), simulated power at the observed size, and the
    group size needed for 80 % power (simulated and analytic)."""
    rows = []
    for outcome, s in samples.items():
        n1, n2 = observed_n[outcome]
        rows.append({
            "outcome": (labels or {}).get(outcome, outcome),
            "n VV / control": f"{n1} / {n2}",
            "effect (d)": round(s.cohen_d, 2),
            # unequal groups: the harmonic mean of the two sizes gives the same standard error
            "power at observed n": round(analytic_power(s.cohen_d, int(round(2 / (1 / n1 + 1 / n2)))), 2),
            "n per group for 80 % (simulated)": _fmt_n(n_for_power(curves[curves["outcome"] == outcome]),
                                                       int(curves["n_per_group"].max())),
            "n per group for 80 % (analytic)": _fmt_n(analytic_n_for_power(s.cohen_d), ANALYTIC_CAP),
        })
    columns = ["outcome", "n VV / control", "effect (d)", "power at observed n", "n per group for 80 % (simulated)",
               "n per group for 80 % (analytic)"]
    return pd.DataFrame(rows, columns=columns).set_index("outcome")


ANALYTIC_CAP = 10_000


def _fmt_n(n: float, cap: int) -> str:
    """A group size for display: the whole number, or '> cap' beyond the range considered."""
    return f"> {cap:,}".replace(",", " ") if not np.isfinite(n) or n > cap else f"{int(n)}"

