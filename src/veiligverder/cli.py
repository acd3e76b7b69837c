"""The ``veiligverder`` command: build the book, write the synthetic twin, validate a dataset, build
several sites' datasets and compare them.

Exit codes: 0 done; 1 a chapter or the book failed (``BuildError``), an invalid dataset for
``validate``, a site's build failed in ``sites``, or an internal error; 2 a user error (a path, a
parameter, the mapping, the data, an output folder in use, a Dask scheduler that cannot be reached),
reported as one message naming the file or key and the fix; 130 interrupted (SIGINT or SIGTERM).
``--debug`` adds the traceback to any error.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from veiligverder import __version__
from veiligverder.vocab import DEFAULT_SEED

DESCRIPTION = """\
Veilig Verder compendium: runs every chapter of the evaluation report on a dataset and builds
the book. Without --data it uses the embedded synthetic twin (data/synthetic/, generated when
absent); point --data at your own dataset folder (see the book's appendix 'Run it on your own data').
"""
SEED_MAX = 2**32 - 1
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="veiligverder", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    # --debug is also accepted after the command; SUPPRESS keeps the global value when it is absent
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser("build", parents=[debug], help="run the chapter notebooks, write results.json and build the HTML book",
                       description="Run every chapter notebook with papermill on a dataset, write OUT/notebooks/ "
                       "(executed notebooks) and OUT/results.json, then build OUT/html/ with Jupyter Book.")
    b.add_argument("--data", metavar="DIR", type=Path, default=None,
                   help="contract dataset folder (families/parents/children as .csv, .parquet or .sav, optional "
                   "mapping.yml); default: the synthetic twin in data/synthetic/, generated when absent")
    b.add_argument("--out", metavar="DIR", type=Path, default=None,
                   help="output folder for notebooks/, results.json and html/ (default: _build/ at the project root)")
    b.add_argument("--params", metavar="FILE", type=Path, default=None,
                   help="YAML file of build parameters: follow_up_rule (latest|T1|T2), seed, keys_dir, "
                   "cumulation_threshold, rematch, disclosure_threshold, power_replications, scheduler")
    b.add_argument("--no-book", action="store_true", help="stop after the notebooks and results.json; no HTML")
    b.add_argument("--jobs", metavar="N", type=count, default=None,
                   help="chapters executed in parallel (default: the number of available cores)")
    b.add_argument("--scheduler", metavar="ADDR", default=None,
                   help="address of a Dask scheduler (tcp://host:port): the power simulations run on its "
                   "workers, with the same results (sets the parameter scheduler); default: local processes")

    m = sub.add_parser("sites", parents=[debug],
                       help="build several datasets (one per site or region) and compare them",
                       description="Build each dataset folder (one per site or region) with `build --no-book` into "
                       "OUT/<folder name>/, then write OUT/comparison.csv and OUT/comparison.md: one row per compared "
                       "result (Tabel 2 counts, outcome means per group and wave, group x time tests), one column "
                       "per site. Numbers a site's disclosure control withheld stay withheld. A failed site is "
                       "reported in the table and the exit code (1); the other sites still run.")
    m.add_argument("--data", metavar="DIR", type=Path, nargs="+", required=True,
                   help="one contract dataset folder per site; the folder's name names the site")
    m.add_argument("--out", metavar="DIR", type=Path, required=True,
                   help="output folder: one build folder per site, <site>.log, comparison.csv and comparison.md")
    m.add_argument("--params", metavar="FILE", type=Path, default=None,
                   help="YAML file of build parameters for every site (see build --params)")
    m.add_argument("--scheduler", metavar="ADDR", default=None,
                   help="address of a Dask scheduler (tcp://host:port): the builds run on its workers, which "
                   "must see the same filesystem at the same paths; default: local processes")
    m.add_argument("--jobs", metavar="N", type=count, default=None,
                   help="without --scheduler: sites built at the same time, sharing the cores (default 1); "
                   "with --scheduler one build runs per worker thread")

    s = sub.add_parser("synth", parents=[debug], help="write the synthetic twin dataset",
                       description="Write the calibrated synthetic twin as a contract dataset folder.")
    s.add_argument("--out", metavar="DIR", type=Path, required=True, help="folder to write (replaced whole)")
    s.add_argument("--seed", metavar="N", type=int, default=DEFAULT_SEED, help=f"random seed of the twin (default {DEFAULT_SEED}; same seed, same bytes)")

    v = sub.add_parser("validate", parents=[debug], help="check a dataset folder against the data contract",
                       description="Load a dataset folder, print every problem found (file, column, rule, rows) "
                       "and exit non-zero when there is any. The folder is never modified.")
    v.add_argument("dir", metavar="DIR", type=Path, help="dataset folder")
    return parser


def count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


USER_ERRORS = (  # module, class: something the user has to fix (exit code 2)
    ("veiligverder.params", "ParameterError"),
    ("veiligverder.data.problems", "DataValidationError"),
    ("veiligverder.pipeline", "OutputError"),
    ("veiligverder.synthetic.writer", "SyntheticWriteError"),
    ("veiligverder.stats.scaleout", "SchedulerError"),
)


def _kind(exc: BaseException) -> str:
    """``user`` (something to fix: exit code 2), ``build`` (a chapter or the book failed: 1) or ``internal``.

    Classes are looked up among the modules already imported (an exception of a class whose module
    was never imported cannot occur), so that classifying an error never imports the heavy layers.
    """

    def loaded(module: str, name: str) -> type | None:
        return getattr(sys.modules.get(module), name, None)

    build_error = loaded("veiligverder.pipeline", "BuildError")
    if build_error is not None and isinstance(exc, build_error):
        return "build"
    user = tuple(c for c in (loaded(m, n) for m, n in USER_ERRORS) if c is not None)
    if isinstance(exc, (OSError, *user)):
        return "user"
    return "internal"


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)


def _validate(folder: Path) -> int:
    from veiligverder.analysis.analysability import validate_cli
    from veiligverder.pipeline import OutputError

    if not folder.exists():
        raise OutputError(f"{folder}: no such folder; give the dataset folder that holds the table files")
    if not folder.is_dir():
        raise OutputError(f"{folder} is a file; give the dataset folder that holds the table files")
    return validate_cli(folder)


def _synth(out: Path, seed: int) -> int:
    from veiligverder.params import ParameterError

    if not 0 <= seed <= SEED_MAX:
        raise ParameterError(f"--seed {seed} must lie in 0..{SEED_MAX}")
    out = out.expanduser().absolute()
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ParameterError(f"--out {out}: {parent} is a file, not a folder; give a folder path")
            break
    from veiligverder.synthetic import write_synthetic  # after the checks: it imports the model

    path = write_synthetic(out, seed=seed)
    print(f"synthetic dataset (seed {seed}): {path}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from veiligverder.params import load_params

    params = load_params(args.params, scheduler=args.scheduler)  # before the heavier imports: errors come at once
    if params.scheduler is not None:  # an unreachable scheduler fails now, not in the power chapter
        from veiligverder.stats.scaleout import check_scheduler

        print(f"scheduler: {params.scheduler} ({check_scheduler(params.scheduler)})")
    from veiligverder.pipeline import build

    result = build(data_dir=args.data, out_dir=args.out, params=params, book=not args.no_book, jobs=args.jobs)
    print(f"results: {result.results_path}")
    if result.html_index:
        print(f"book:    {result.html_index}")
    return 0


def _sites(args: argparse.Namespace) -> int:
    from veiligverder.params import load_params

    if args.params is not None:
        load_params(args.params)  # parameter errors come at once, before any build
    if args.scheduler is not None:
        from veiligverder.stats.scaleout import check_address

        check_address(args.scheduler)
    from veiligverder.pipeline.sites import run_sites

    result = run_sites(args.data, args.out, params_file=args.params, scheduler=args.scheduler, jobs=args.jobs)
    print(f"comparison: {result.csv}")
    print(f"            {result.markdown}")
    for site in result.failed:
        print(f"veiligverder sites: {site.name} failed (exit {site.returncode}): {site.error} (log: {site.log})",
              file=sys.stderr)
    return 1 if result.failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``veiligverder`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    name = f"veiligverder {args.command}"
    try:
        if args.command == "validate":
            return _validate(args.dir)
        if args.command == "synth":
            return _synth(args.out, args.seed)
        if args.command == "sites":
            return _sites(args)
        return _build(args)
    except KeyboardInterrupt as exc:  # BuildInterrupted says which build OUT holds
        from veiligverder.pipeline import stop_children

        stop_children()
        detail = str(exc) if str(exc) else "interrupted"
        print(f"{name}: {detail}", file=sys.stderr)
        if argv is None:  # the command itself: everything is cleaned up, skip the interpreter's slow teardown
            from multiprocessing import util as mp_util

            # but release the worker pool's named semaphores as an ordinary exit does (finalizers of
            # priority >= 0; the queue threads' joins, below 0, are skipped): else multiprocessing's
            # resource tracker does it and prints a warning about 'leaked semaphore objects'
            mp_util._run_finalizers(0)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        return 130
    except Exception as exc:  # noqa: BLE001 - every error becomes a message
        if args.debug:
            traceback.print_exc()
        kind = _kind(exc)
        if kind == "internal":
            print(f"veiligverder: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                  file=sys.stderr)
            return 1
        print(f"{name}: {_message(exc)}", file=sys.stderr)
        return 2 if kind == "user" else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
