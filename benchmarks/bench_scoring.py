"""Benchmark: score every parent and child instrument for many respondent-waves of random answers.

Run ``python benchmarks/bench_scoring.py [--rows 1000000] [--dtype float32|float64]``. For each
contract table it builds a frame of random answers (codebook ranges, 5 % missing, column-wise
storage as a loader produces it), scores every instrument of that table with
``veiligverder.instruments.score_table`` and prints the wall time. At the end it prints the peak
memory of the process (``resource.getrusage`` high-water mark; it includes the random input
table). ``--tracemalloc`` also reports the peak traced while scoring, but its allocation hooks
slow the run down by about half, so the times are taken without it by default.

Goal (issue 3): 1,000,000 rows per table in <= 10 s and <= 4 GB on 2 cores. The default input
dtype is float32 (answers 0-8 are exact in it and the table takes half the memory); ``--dtype
float64`` gives the in-memory dtype of the contract loader.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd

from veiligverder import contract
from veiligverder.instruments import available_instruments, score_table


def random_table(table: str, rows: int, *, dtype: str, missing: float, seed: int) -> pd.DataFrame:
    """Random answers for every item column of a table, plus its key columns."""
    rng = np.random.default_rng(seed)
    items = contract.table_spec(table)["items"]
    cols = [c for p in items for c in contract.item_columns(p)]
    data = np.empty((len(cols), rows), dtype=dtype)  # one contiguous row per column, as pandas stores it
    at = 0
    for block in items.values():
        for _ in range(block["n"]):
            data[at] = rng.integers(block["min"], block["max"] + 1, size=rows, dtype=np.int8)
            data[at][rng.random(rows, dtype=np.float32) < missing] = np.nan
            at += 1
    frame = pd.DataFrame(data.T, columns=cols, copy=False)
    key = "parent_id" if table == "parents" else "child_id"
    keys = pd.DataFrame({key: np.arange(rows).astype(str).astype(object), "wave": rng.choice(["T0", "T1", "T2"], rows)})
    return pd.concat([keys, frame], axis=1, copy=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--missing", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--tracemalloc", action="store_true", help="also trace allocations (slower)")
    args = ap.parse_args()

    print(f"rows per table: {args.rows:,}  input dtype: {args.dtype}  cores: {os.cpu_count()}")
    if args.tracemalloc:
        tracemalloc.start()
    total = 0.0
    scoring_peak = 0
    for i, table in enumerate(("parents", "children")):
        frame = random_table(table, args.rows, dtype=args.dtype, missing=args.missing, seed=args.seed + i)
        if args.tracemalloc:
            tracemalloc.reset_peak()
        start = time.perf_counter()
        scores = score_table(frame, table)
        wall = time.perf_counter() - start
        if args.tracemalloc:
            scoring_peak = max(scoring_peak, tracemalloc.get_traced_memory()[1])
        total += wall
        n_items = sum(b["n"] for b in contract.table_spec(table)["items"].values())
        print(f"{table:9s} {len(available_instruments(table)):2d} instruments, {n_items} items -> "
              f"{scores.shape[1] - 2} score columns: {wall:6.2f} s")
        del frame, scores
        gc.collect()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
    print(f"total scoring wall time: {total:.2f} s")
    print(f"peak memory (process high-water mark, input tables included): {peak_rss:.2f} GiB")
    if args.tracemalloc:
        print(f"peak traced while scoring (input table included): {scoring_peak / 1024**3:.2f} GiB")


if __name__ == "__main__":
    main()
