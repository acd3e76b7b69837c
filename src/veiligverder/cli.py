"""The ``veiligverder`` command: build the book, write the synthetic twin, validate a dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from veiligverder import __version__

DESCRIPTION = """\
Veilig Verder compendium: runs every chapter of the evaluation report on a dataset and builds
the book. Without --data it uses the embedded synthetic twin (data/synthetic/, generated when
absent); point --data at your own dataset folder (see the book's appendix 'Run it on your own data').
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="veiligverder", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser("build", help="run the chapter notebooks, write results.json and build the HTML book",
                       description="Run every chapter notebook with papermill on a dataset, write OUT/notebooks/ "
                       "(executed notebooks) and OUT/results.json, then build OUT/html/ with Jupyter Book.")
    b.add_argument("--data", metavar="DIR", type=Path, default=None,
                   help="contract dataset folder (families/parents/children as .csv, .parquet or .sav, optional "
                   "mapping.yml); default: the synthetic twin in data/synthetic/, generated when absent")
    b.add_argument("--out", metavar="DIR", type=Path, default=None,
                   help="output folder for notebooks/, results.json and html/ (default: _build/ at the project root)")
    b.add_argument("--params", metavar="FILE", type=Path, default=None,
                   help="YAML file of build parameters: follow_up_rule (latest|T1|T2), seed, keys_dir, "
                   "cumulation_threshold, rematch, disclosure_threshold, power_replications")
    b.add_argument("--no-book", action="store_true", help="stop after the notebooks and results.json; no HTML")
    b.add_argument("--jobs", metavar="N", type=int, default=None,
                   help="chapters executed in parallel (default: the number of available cores)")

    s = sub.add_parser("synth", help="write the synthetic twin dataset",
                       description="Write the calibrated synthetic twin as a contract dataset folder.")
    s.add_argument("--out", metavar="DIR", type=Path, required=True, help="folder to write (replaced whole)")
    s.add_argument("--seed", metavar="N", type=int, default=20201231, help="random seed (same seed, same bytes)")

    v = sub.add_parser("validate", help="check a dataset folder against the data contract",
                       description="Load a dataset folder, print every problem found (file, column, rule, rows) "
                       "and exit non-zero when there is any. The folder is never modified.")
    v.add_argument("dir", metavar="DIR", type=Path, help="dataset folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``veiligverder`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "validate":
        from veiligverder.data import validate_cli

        return validate_cli(args.dir)
    if args.command == "synth":
        from veiligverder.synthetic import main_cli

        return main_cli(args.out, args.seed)

    from veiligverder.params import ParameterError, load_params
    from veiligverder.pipeline import BuildError, build
    from veiligverder.data import DataValidationError

    try:
        params = load_params(args.params)
        result = build(data_dir=args.data, out_dir=args.out, params=params, book=not args.no_book, jobs=args.jobs)
    except (ParameterError, BuildError, DataValidationError) as exc:
        print(f"veiligverder build: {exc}", file=sys.stderr)
        return 1
    print(f"results: {result.results_path}")
    if result.html_index:
        print(f"book:    {result.html_index}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
