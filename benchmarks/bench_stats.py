"""Benchmark: the exact Fisher-Freeman-Halton test on the largest Tabel 3 table.

Run ``python benchmarks/bench_stats.py [--repeat 5] [--random 20]``. Tabel 3 compares VV and
control on background characteristics; on real data its largest table is migration background
(6 levels) x group (2), with at most N = 500 parents. The script times
:func:`veiligverder.stats.fisher_freeman_halton` (``method='auto'``, which stays exact for these
tables) on

- a balanced table (every level about 1/6, groups 250 / 250, a moderate association),
- a skewed table (most parents in one level, as in the report),
- ``--random`` tables with random margins (seed 2026), reporting the slowest,

each the median of ``--repeat`` runs, and R's 4 x 4 job-satisfaction example (N = 96) for scale.

Goal (issue 11): under 2 s for the 6 x 2, N = 500 table.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from veiligverder.stats import fisher_freeman_halton

BALANCED = np.array([[52, 31], [47, 36], [40, 43], [37, 46], [36, 47], [38, 47]])
SKEWED = np.array([[160, 150], [30, 40], [20, 25], [15, 20], [10, 15], [5, 10]])
JOB = np.array([[1, 2, 1, 0], [3, 3, 6, 1], [10, 10, 14, 9], [6, 7, 12, 11]]).T


def timed(table: np.ndarray, repeat: int) -> tuple[float, object]:
    times, res = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fisher_freeman_halton(table)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per table, the median is shown (default 5)")
    parser.add_argument("--random", type=int, default=20, help="random 6 x 2 tables with N = 500 (default 20)")
    args = parser.parse_args()
    for name, table in (("6 x 2, N = 500, balanced", BALANCED), ("6 x 2, N = 500, skewed", SKEWED),
                        ("4 x 4, N = 96, R's job satisfaction", JOB)):
        seconds, res = timed(table, args.repeat)
        print(f"{name:<38} {seconds:6.3f} s  p = {res.pvalue:.4f} ({res.method})")
    rng = np.random.default_rng(2026)
    worst = (0.0, None, None)
    for _ in range(args.random):
        table = rng.multinomial(500, np.outer(rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(2) * 5)).ravel()).reshape(6, 2)
        seconds, res = timed(table, args.repeat)
        worst = max(worst, (seconds, table.tolist(), res), key=lambda w: w[0])
    if worst[1] is not None:
        print(f"{'6 x 2, N = 500, slowest of ' + str(args.random) + ' random':<38} {worst[0]:6.3f} s  "
              f"p = {worst[2].pvalue:.4f} ({worst[2].method}); table {worst[1]}")


if __name__ == "__main__":
    main()
