"""Write the synthetic twin as a contract dataset folder, whole or not at all.

The folder's marker file ``SYNTHETIC`` is a manifest: a comment header saying in words that the
data are synthetic, then YAML fields naming the generator and its version, the seed, and the
SHA-256 of every file written. The loader switches disclosure control off only when the manifest
matches the files it reads (:func:`veiligverder.data.synthetic_proof`); an empty or copied marker,
or a table edited after writing, leaves the data treated as real.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from veiligverder import __version__
from veiligverder.contract import TABLES
from veiligverder.data.loader import SYNTHETIC_GENERATOR, SYNTHETIC_MARKER
from veiligverder.data.mapping import MAPPING_FILE
from veiligverder.data.readers import locate
from veiligverder.synthetic.model import DEFAULT_SEED, generate

MARKER = SYNTHETIC_MARKER
MODEL_VERSION = 2       # raise when the generative model (model.py, params.yml, reproduction/claims.yml) changes its output
FLOAT_FORMAT = "%.15g"  # whole numbers without a decimal point; same value, same bytes
MARKER_TEXT = """\
This folder holds SYNTHETIC data: the calibrated synthetic twin of the Veilig Verder evaluation
(34 VV, 65 control and 921 further cohort families, waves T0/T1/T2), written by
`veiligverder synth` with seed {seed}. No real person is in it. Every answer was drawn from a
generative model calibrated to the published report (targets: veiligverder/reproduction/claims.yml);
the licensed questionnaires are scored with illustrative keys. Do not use it to draw conclusions
about families or about Veilig Verder.
"""
ERR_NO_TABLE = "{path}: no single {table} table file to list in the manifest"
ERR_NOT_SYNTHETIC = (
    "{path} exists and is not a synthetic dataset folder (no {marker} file): refusing to replace it. "
    "Choose a new or empty folder, or remove it first."
)


class SyntheticWriteError(ValueError):
    """The output folder cannot be (re)placed by the synthetic twin."""


def write_synthetic(out_dir: str | os.PathLike[str], *, seed: int = DEFAULT_SEED) -> Path:
    """Generate the synthetic twin and write it as a dataset folder (CONTRACT §1).

    Parameters
    ----------
    out_dir : path
        Folder to write: ``families.csv``, ``parents.csv``, ``children.csv`` (every codebook
        column, in codebook order, rows sorted by key) and the manifest ``SYNTHETIC`` (see
        :func:`write_manifest`). An existing folder is replaced only when it is empty or itself
        holds a ``SYNTHETIC`` marker.
    seed : int, keyword-only
        Seed of the model (default 20201231). Same seed, byte-identical files: fixed number format
        (``%.15g``, empty cell for missing, ``\\n`` line ends), no time stamps.

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    SyntheticWriteError
        When ``out_dir`` exists as a file, or as a folder that is neither empty nor synthetic.

    Notes
    -----
    The files are written into a temporary sibling folder which then replaces ``out_dir``
    (``os.replace``); a failure on the way leaves ``out_dir`` as it was.
    """
    out = Path(out_dir).resolve()
    _check_replaceable(out)
    tables = generate(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    os.chmod(tmp, 0o755)                      # mkdtemp makes it private; a dataset folder is not
    backup = out.parent / f".{out.name}.old-{os.getpid()}"
    try:
        for name, frame in tables.items():
            write_csv(frame, tmp / f"{name}.csv")
        write_manifest(tmp, seed=seed)
        if out.exists():
            os.replace(out, backup)
        try:
            os.replace(tmp, out)
        except OSError:
            if backup.exists():
                os.replace(backup, out)
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(backup, ignore_errors=True)
    return out


def manifest_text(files: dict[str, bytes], *, seed: int, comment: str | None = None) -> str:
    """The text of the ``SYNTHETIC`` manifest for ``files`` (file name -> bytes written).

    A ``#`` comment header (``comment``; default :data:`MARKER_TEXT` for ``seed``) followed by YAML:
    ``generator``, ``generator_version`` (``package``, ``model``), ``seed`` and ``files`` (file
    name -> SHA-256 hex, in name order). No time stamp: same files and seed, same bytes.
    """
    header = MARKER_TEXT.format(seed=seed) if comment is None else comment
    lines = [f"# {line}".rstrip() for line in header.strip("\n").splitlines()]
    fields = {
        "generator": SYNTHETIC_GENERATOR,
        "generator_version": {"package": str(__version__), "model": MODEL_VERSION},
        "seed": int(seed),
        "files": {name: hashlib.sha256(files[name]).hexdigest() for name in sorted(files)},
    }
    body = yaml.safe_dump(fields, sort_keys=False, default_flow_style=False, allow_unicode=True, width=200)
    return "\n".join(lines) + "\n" + body


def write_manifest(folder: str | os.PathLike[str], *, seed: int, comment: str | None = None) -> Path:
    """Write the manifest ``SYNTHETIC`` for the dataset files already in ``folder``; returns its path.

    The files listed are the ones the loader reads: the one file of each table (``.csv``,
    ``.parquet`` or ``.sav``) and ``mapping.yml`` when present, each with its SHA-256. Used by
    :func:`write_synthetic`, and by tests that need a folder the loader accepts as synthetic.

    Raises
    ------
    SyntheticWriteError
        When a table has no file, or more than one, in ``folder``.
    """
    folder = Path(folder)
    files: dict[str, bytes] = {}
    for table in TABLES:
        path, _ = locate(folder, table)
        if path is None:
            raise SyntheticWriteError(ERR_NO_TABLE.format(path=folder, table=table))
        files[path.name] = path.read_bytes()
    if (folder / MAPPING_FILE).is_file():
        files[MAPPING_FILE] = (folder / MAPPING_FILE).read_bytes()
    marker = folder / MARKER
    marker.write_text(manifest_text(files, seed=seed, comment=comment), encoding="utf-8", newline="\n")
    return marker


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """One table as UTF-8 CSV: comma, point decimals, empty cell for missing, ``\\n`` line ends."""
    frame.to_csv(path, index=False, float_format=FLOAT_FORMAT, na_rep="", lineterminator="\n", encoding="utf-8")


def main_cli(out: str | os.PathLike[str], seed: int = DEFAULT_SEED) -> int:
    """``veiligverder synth --out DIR --seed N``: write the twin, print where; exit code 0 or 1."""
    try:
        path = write_synthetic(out, seed=seed)
    except (SyntheticWriteError, OSError) as exc:
        print(f"veiligverder synth: {exc}", file=sys.stderr)
        return 1
    print(f"synthetic dataset (seed {seed}): {path}")
    return 0


def _check_replaceable(out: Path) -> None:
    """Refuse a file, and a non-empty folder without a marker file. Any marker will do here (also an
    old or stale one): replacing the folder is what ``synth`` is for; proof matters when loading."""
    if out.is_file() or (out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file()):
        raise SyntheticWriteError(ERR_NOT_SYNTHETIC.format(path=out, marker=MARKER))
