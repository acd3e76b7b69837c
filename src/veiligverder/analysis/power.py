"""The power chapter: how often a study of a given size would find the effect observed per outcome.

:func:`power_study` is what the power page computes, kept out of the notebook so that it can be
tested: for each outcome of chapter 5 the change scores of its two-wave sample under the build's
follow-up rule (``study.follow_up_rule``), simulated power curves seeded with the build's ``seed``,
the summary table and the result ids ``power.<outcome>.*``. The maths is in
:mod:`veiligverder.stats.power`; this module only decides which outcomes may take part.

Disclosure control: on non-synthetic data an outcome whose two-wave analysis is not fully shown
(:meth:`veiligverder.analysis.Study.usable`) is left out, since its observed effect would rest on a
withheld group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from veiligverder.analysis.outcomes import analyse
from veiligverder.contract.labels import reader_table
from veiligverder.stats import power
from veiligverder.vocab import POWER_TARGET


@dataclass
class PowerStudy:
    """Everything the power page shows.

    Attributes
    ----------
    samples : dict
        Outcome -> observed change scores per group (:class:`veiligverder.stats.power.ChangeScores`),
        for the outcomes that take part, in the order asked for.
    observed_n : dict
        Outcome -> (n VV, n control) of its two-wave sample.
    curves : DataFrame
        ``outcome``, ``n_per_group``, ``power`` (simulated), ``analytic`` (see
        :func:`veiligverder.stats.power.power_curves`); empty when no outcome takes part.
    table : DataFrame
        One row per outcome, indexed by its label (:func:`veiligverder.stats.power.summary_table`).
    labels : dict
        Outcome -> its label in the table and the figure.
    replications : int
        Simulated studies per outcome and group size.
    results : dict
        ``power.<outcome>.d``, ``.n80_simulated``, ``.n80_analytic`` and ``.power.n<N>`` per size.
    """

    samples: dict[str, power.ChangeScores]
    observed_n: dict[str, tuple[int, int]]
    curves: pd.DataFrame
    table: pd.DataFrame
    labels: dict[str, str]
    replications: int
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def largest(self) -> int:
        """The largest simulated group size (the default grid's largest when nothing was simulated)."""
        return int(self.curves["n_per_group"].max()) if len(self.curves) else max(power.DEFAULT_SIZES)

    @property
    def reached(self) -> list[str]:
        """The outcomes whose simulated power reaches the target (80 %) within the simulated sizes."""
        return [o for o in self.samples if self.results[f"power.{o}.n80_simulated"] <= self.largest]

    @property
    def reached_labels(self) -> list[str]:
        """:attr:`reached` as labels, for the page's sentence."""
        return [self.labels[o] for o in self.reached]


def power_study(study, outcomes: Iterable[str], *, replications: int, seed: int,
                labels: Mapping[str, str] | None = None, sizes=power.DEFAULT_SIZES,
                n_jobs: int | None = None, scheduler: str | None = None) -> PowerStudy:
    """Power of the group x time test at the effect observed, for each outcome the data allow.

    Parameters
    ----------
    study : :class:`veiligverder.analysis.Study`
        The loaded study; its ``follow_up_rule`` chooses the follow-up wave of every sample.
    outcomes : iterable of str
        Two-wave outcomes of chapter 5 (``design.OUTCOMES``), in the order the page lists them.
    replications : int
        Simulated studies per outcome and group size (the build parameter ``power_replications``).
    seed : int
        Seed of the simulations (the build parameter ``seed``): each (outcome, size) draws from its
        own stream derived from it, so the result does not depend on the number of workers.
    labels : mapping, optional
        Outcome -> label for the table and figure (default: the outcome's name).
    sizes : sequence of int
        Group sizes simulated.
    n_jobs : int, optional
        Local processes for the simulations (joblib; -1: one per core). Default: 1 without a
        scheduler (a build already runs chapters side by side, and on the twin starting worker
        processes costs more than the simulations: 4.4 s against 2.0 s on 2 cores), -1 with one.
    scheduler : str, optional
        Address of a Dask scheduler (the build parameter ``scheduler``, ``tcp://host:port``): the
        simulations run on that cluster's workers, with the same results as locally. None: local
        processes.

    An outcome is left out when, on non-synthetic data, its two-wave analysis is not
    :meth:`~veiligverder.analysis.Study.usable` (disclosure control), or when a group has fewer than
    two change scores (nothing to resample).
    """
    samples: dict[str, power.ChangeScores] = {}
    observed_n: dict[str, tuple[int, int]] = {}
    for outcome in outcomes:
        if study.gate.active and not study.usable(outcome):
            continue  # disclosure control: the observed effect would rest on a withheld group
        a = analyse(study.measures, outcome, follow_up_rule=study.follow_up_rule)
        try:
            samples[outcome] = power.change_scores(a.sample, outcome)
        except power.PowerInputError:
            continue
        observed_n[outcome] = (a.n("VV"), a.n("control"))
    n_jobs = n_jobs if n_jobs is not None else (-1 if scheduler else 1)
    curves = power.power_curves(samples, sizes=sizes, replications=replications, seed=seed, n_jobs=n_jobs,
                                progress=False, scheduler=scheduler)
    names = {o: (labels or {}).get(o, o) for o in samples}
    table = reader_table(power.summary_table(samples, curves, observed_n, names))  # renders for readers
    results: dict[str, Any] = {}
    for outcome, scores in samples.items():
        curve = curves[curves["outcome"] == outcome]
        results[f"power.{outcome}.d"] = scores.cohen_d
        results[f"power.{outcome}.n80_simulated"] = power.n_for_power(curve, POWER_TARGET)
        results[f"power.{outcome}.n80_analytic"] = power.analytic_n_for_power(scores.cohen_d, POWER_TARGET)
        results.update({f"power.{outcome}.power.n{n}": p
                        for n, p in zip(curve["n_per_group"], curve["power"].astype(float))})
    return PowerStudy(samples, observed_n, curves, table, names, int(replications), results)

