"""Benchmark: validating, scoring and building on registry-sized copies of the synthetic twin.

Run ``python benchmarks/bench_scale.py [--sizes 20,150] [--json FILE] [--keep DIR] [--data DIR]``.
For each size k it writes the twin k times over into one dataset folder (every id - family,
parent, child, reporting parent - gets the suffix ``-cNNN`` of its copy, so ids stay unique and
references consistent; no ``SYNTHETIC`` marker, so the copy counts as real data) and measures, each
in a fresh child process:

* ``veiligverder validate DIR``: wall time and peak memory, for every size;
* validate + score (``load_dataset`` + ``measures.derive``) for the 150x copy (about one million
  respondent-waves; the largest size when 150 is not among them);
* ``veiligverder build --no-book --data DIR --out TMP`` for the 20x copy (every chapter notebook).

Peak memory is the larger of the child's own high-water mark (``os.wait4`` rusage: the largest
single process of the tree) and the sum of the resident memory of the whole process tree, polled
every 0.1 s with psutil (chapters run in parallel kernels during a build, so their sum is what the
machine must hold). Sizes are in MiB and GiB (2**20, 2**30 bytes). Goals (issue 13), printed
with pass/fail next to the figures: validate peak memory <= 8x the CSV size; ``build --no-book`` on
the 20x copy <= 4 GiB and <= 5 min; validate + score of ~1M respondent-waves <= 2 min and <= 4 GiB
(judged only for a copy of 0.9 to 1.1 million respondent-waves).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import psutil

from veiligverder import contract, pipeline

GB = 1024**3
MB = 1024**2
MARK = "\x1f"  # placeholder after every id in the rendered CSV body; replaced by each copy's suffix
VALIDATE_X_CSV = 8.0
BUILD_SIZE, BUILD_MAX_S, BUILD_MAX_GB = 20, 300.0, 4.0
SCORE_SIZE, SCORE_MAX_S, SCORE_MAX_GB, SCORE_ROWS = 150, 120.0, 4.0, 1_000_000
SCORE_CODE = """\
import sys, time
t0 = time.perf_counter()
from veiligverder.data import load_dataset
from veiligverder.measures import derive
t1 = time.perf_counter()
ds = load_dataset(sys.argv[1])
t2 = time.perf_counter()
m = derive(ds)
t3 = time.perf_counter()
print(f"import {t1 - t0:.1f} s, load_dataset {t2 - t1:.1f} s, derive {t3 - t2:.1f} s; "
      f"{len(ds.parents) + len(ds.children)} respondent-waves, {len(m.families)} family-waves")
"""


@dataclass
class Run:
    """One measured child process."""

    what: str
    wall_s: float
    peak_gb: float        # GiB: max(own high-water mark, polled sum over the process tree)
    rc: int
    tail: str = ""


def id_columns(table: str) -> list[str]:
    """The table's id columns (``*_id`` text columns of the codebook): the ones a copy suffixes."""
    return [c for c, spec in contract.table_spec(table)["columns"].items() if c.endswith("_id") and spec["type"] == "string"]


def write_copies(source: Path, folder: Path, k: int) -> int:
    """Write ``k`` copies of the three contract tables of ``source`` into ``folder``; returns the CSV bytes.

    Each table is rendered to CSV text once with a placeholder after every non-empty id, and each
    copy replaces the placeholder by its own suffix: fast, and the copies differ only in their ids.
    A folder already holding this many copies (``.copies`` stamp) is reused.
    """
    stamp = folder / ".copies"
    if stamp.is_file() and stamp.read_text() == f"{k} {source.resolve()}":
        return sum((folder / f"{t}.csv").stat().st_size for t in contract.TABLES)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for table in contract.TABLES:
        frame = pd.read_csv(source / f"{table}.csv", dtype=str, keep_default_na=False)
        for column in id_columns(table):
            frame[column] = frame[column].where(frame[column] == "", frame[column] + MARK)
        header, _, body = frame.to_csv(index=False, lineterminator="\n").partition("\n")
        with (folder / f"{table}.csv").open("w", encoding="utf-8", newline="") as out:
            out.write(header + "\n")
            for i in range(k):
                out.write(body.replace(MARK, f"-c{i:03d}"))
    stamp.write_text(f"{k} {source.resolve()}")
    return sum((folder / f"{t}.csv").stat().st_size for t in contract.TABLES)


def measure(what: str, cmd: list[str], *, log: Path) -> Run:
    """Run ``cmd`` and measure its wall time and peak memory (see the module docstring)."""
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        root = psutil.Process(proc.pid)
        tree_peak = 0
        while True:
            try:
                members = [root, *root.children(recursive=True)]
                total = 0
                for p in members:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                tree_peak = max(tree_peak, total)
            except psutil.Error:
                pass
            done, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.1)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    own = usage.ru_maxrss * 1024  # KiB on Linux
    text = log.read_text(errors="replace").strip().splitlines()
    return Run(what, wall, max(own, tree_peak) / GB, proc.returncode, "\n".join(text[-12:]))


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="20,150", help="copies of the twin, comma-separated (default 20,150)")
    parser.add_argument("--data", type=Path, default=None, help="source dataset folder (default: the synthetic twin)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the copies under this folder and keep them (reused by the next run)")
    parser.add_argument("--no-build", action="store_true", help="skip the build of the 20x copy")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    source = pipeline.resolve_dataset(args.data)
    py = sys.executable
    work = Path(tempfile.mkdtemp(prefix="bench_scale."))
    base = args.keep or work
    figures: dict = {"cores": len(os.sched_getaffinity(0)), "source": str(source), "sizes": {}}
    print(f"cores: {figures['cores']}  source: {source}  python: {py}")
    lines: list[str] = []
    try:
        for k in sizes:
            folder = base / f"x{k}"
            t0 = time.perf_counter()
            size = write_copies(source, folder, k)
            made = time.perf_counter() - t0
            rows = sum(1 for t in ("parents", "children") for _ in open(folder / f"{t}.csv", "rb")) - 2
            entry: dict = {"csv_mib": round(size / MB, 1), "respondent_waves": rows, "copy_s": round(made, 1)}
            print(f"\n{k}x: {size / MB:.0f} MiB of CSV, {rows:,} respondent-waves (written in {made:.0f} s)")
            v = measure("validate", [py, "-m", "veiligverder.cli", "validate", str(folder)], log=work / f"validate{k}.log")
            ratio = v.peak_gb * GB / size
            entry["validate"] = asdict(v) | {"x_csv": round(ratio, 2), "goal": f"<= {VALIDATE_X_CSV:g}x CSV",
                                             "ok": v.rc == 0 and ratio <= VALIDATE_X_CSV}
            lines.append(f"{k:>4}x validate           {v.wall_s:7.1f} s  {v.peak_gb:6.2f} GiB = {ratio:4.1f}x CSV"
                         f"   goal <= {VALIDATE_X_CSV:g}x CSV: {verdict(entry['validate']['ok'])}"
                         + ("" if v.rc == 0 else f" (exit {v.rc})"))
            print(lines[-1])
            if v.rc != 0:
                print("    " + v.tail.replace("\n", "\n    "))
            if k == (SCORE_SIZE if SCORE_SIZE in sizes else max(sizes)):
                run = measure("validate + score", [py, "-c", SCORE_CODE, str(folder)], log=work / f"score{k}.log")
                judged = abs(rows - SCORE_ROWS) <= SCORE_ROWS / 10
                ok = run.rc == 0 and run.wall_s <= SCORE_MAX_S and run.peak_gb <= SCORE_MAX_GB
                entry["validate_score"] = asdict(run) | {"goal": f"<= {SCORE_MAX_S:g} s and <= {SCORE_MAX_GB:g} GiB",
                                                       "ok": ok if judged else None}
                verdict_text = verdict(ok) if judged else "n/a (the goal is for ~1M respondent-waves)"
                lines.append(f"{k:>4}x validate + score   {run.wall_s:7.1f} s  {run.peak_gb:6.2f} GiB"
                             f"               goal <= {SCORE_MAX_S / 60:g} min, <= {SCORE_MAX_GB:g} GiB: {verdict_text}"
                             + ("" if run.rc == 0 else f" (exit {run.rc})"))
                print(lines[-1])
                print("    " + run.tail.replace("\n", "\n    "))
            if k == BUILD_SIZE and not args.no_build:
                out = work / f"build{k}"
                b = measure("build --no-book", [py, "-m", "veiligverder.cli", "build", "--no-book", "--data", str(folder),
                                                "--out", str(out)], log=work / f"build{k}.log")
                ok = b.rc == 0 and b.wall_s <= BUILD_MAX_S and b.peak_gb <= BUILD_MAX_GB
                entry["build"] = asdict(b) | {"goal": f"<= {BUILD_MAX_S:g} s and <= {BUILD_MAX_GB:g} GiB", "ok": ok}
                lines.append(f"{k:>4}x build --no-book    {b.wall_s:7.1f} s  {b.peak_gb:6.2f} GiB"
                             f"               goal <= {BUILD_MAX_S / 60:g} min, <= {BUILD_MAX_GB:g} GiB: {verdict(ok)}"
                             + ("" if b.rc == 0 else f" (exit {b.rc})"))
                print(lines[-1])
                if b.rc != 0:
                    print("    " + b.tail.replace("\n", "\n    "))
                shutil.rmtree(out, ignore_errors=True)
            figures["sizes"][k] = entry
    finally:
        shutil.rmtree(work, ignore_errors=True)  # logs, build outputs and (without --keep) the copies
    print("\nsummary (wall time, peak memory, goal):")
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
