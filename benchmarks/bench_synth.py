"""Benchmark: generate and write the synthetic twin, and read it back.

Run ``python benchmarks/bench_synth.py [--seeds 3] [--out DIR]``. For each seed (20201231, 1, 2,
...) it times :func:`veiligverder.synthetic.generate` (the model in memory),
:func:`veiligverder.synthetic.write_synthetic` (model + CSV files, written whole) and
:func:`veiligverder.data.load_dataset` (read back and validated), and prints the sizes.

Goal (issue 4): the default dataset in seconds, not minutes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from veiligverder.data import load_dataset
from veiligverder.synthetic import DEFAULT_SEED, generate, write_synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds to time (default 3)")
    parser.add_argument("--out", type=Path, default=None, help="folder for the written twins (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.out or Path(tmp)
        for seed in [DEFAULT_SEED, *range(1, args.seeds)]:
            t0 = time.perf_counter()
            tables = generate(seed)
            t1 = time.perf_counter()
            path = write_synthetic(base / f"twin_{seed}", seed=seed)
            t2 = time.perf_counter()
            ds = load_dataset(path)
            t3 = time.perf_counter()
            rows = {name: len(frame) for name, frame in tables.items()}
            size = sum(f.stat().st_size for f in path.iterdir()) / 1e6
            print(f"seed {seed:>8}: generate {t1 - t0:5.2f} s, write {t2 - t1:5.2f} s, load {t3 - t2:5.2f} s; "
                  f"rows {rows}, {size:.1f} MB, synthetic={ds.meta.synthetic}")


if __name__ == "__main__":
    main()
