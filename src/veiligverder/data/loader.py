"""Load a dataset folder (CONTRACT §1) into a :class:`Dataset`, checking it against the codebook.

Steps per table: open the file, apply ``mapping.yml`` (drop, rename, missing codes, recode, SPSS
value labels), check that exactly the contract's columns are there, convert the rows batch by batch
into contract columns (text as str, items as float32, other numbers as float64; see
:mod:`veiligverder.data.columns`), then check the values column by column
(:func:`veiligverder.data.schema.check_table`). Problems of all steps and all tables are collected
and reported together. Nothing is ever written into the dataset folder.

Memory: the files are read one at a time (each file's bytes are hashed and parsed, then dropped),
so a load holds the finished tables, one file's bytes and one batch. A table that does not fit in
memory all the same is reported as a problem of its file (rule 'fits in memory', with the file's
size and what to do), never as a ``MemoryError``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import re
from collections.abc import Mapping as AnyMapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow
import yaml

from veiligverder.contract import TABLES
from veiligverder.data.columns import ColumnPlan, TableBuilder
from veiligverder.data.dataset import Dataset, DatasetMeta
from veiligverder.data.mapping import MAPPING_FILE, Mapping, TableMapping, parse_mapping
from veiligverder.data.readers import ReadFailed, Restart, TableSource, locate, read_table
from veiligverder.data.problems import MAX_EXAMPLES, DataValidationError, Problem, ValidationReport
from veiligverder.data.schema import check_table, column_specs

SYNTHETIC_MARKER = "SYNTHETIC"
SYNTHETIC_GENERATOR = "veiligverder.synthetic"  # the manifest's ``generator`` (veiligverder.synthetic.writer)
MANIFEST_MAX_BYTES = 64 * 1024                   # a manifest is a few hundred bytes; anything larger is not one
_REAL = "treated as real data"
_SHA256 = re.compile(r"[0-9a-f]{64}")
MEMORY_FIX = ("split the dataset into folders that each fit in memory (by site or region, see the README, "
              "'Scaling out') and run them one at a time, or use a machine with more memory")


class _AliasInManifest(yaml.YAMLError):
    """The marker uses a YAML alias; the generator's manifest never does (alias bombs are refused unread)."""


class _ManifestLoader(yaml.SafeLoader):
    """``yaml.safe_load`` that refuses aliases before composing anything from them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _AliasInManifest(f"alias at {self.peek_event().start_mark}")
        return super().compose_node(parent, index)


def _read_marker(folder: Path) -> bytes | None:
    """The marker file's bytes (at most ``MANIFEST_MAX_BYTES + 1`` of them), or None without a marker."""
    path = folder / SYNTHETIC_MARKER
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        return handle.read(MANIFEST_MAX_BYTES + 1)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _names(names: list[str]) -> str:
    return ", ".join(names)


def _parse_manifest(marker: bytes | None) -> tuple[dict[str, Any] | None, str]:
    """The manifest's fields, or None and the sentence saying why the marker proves nothing."""
    if marker is None:
        return None, f"no {SYNTHETIC_MARKER} marker file: {_REAL}"
    if len(marker) > MANIFEST_MAX_BYTES:
        size = f"{MANIFEST_MAX_BYTES // 1024} KiB"
        return None, f"{SYNTHETIC_MARKER} marker is larger than {size}, so not a manifest: {_REAL}"
    if not marker.strip():
        return None, f"{SYNTHETIC_MARKER} marker is empty: {_REAL}"
    try:
        doc = yaml.load(marker.decode("utf-8"), Loader=_ManifestLoader)  # noqa: S506 - a SafeLoader subclass
    except UnicodeDecodeError:
        return None, f"{SYNTHETIC_MARKER} marker is not UTF-8 text: {_REAL}"
    except _AliasInManifest:
        return None, f"{SYNTHETIC_MARKER} marker uses a YAML alias, which the generator's manifest never does: {_REAL}"
    except (yaml.YAMLError, RecursionError):  # RecursionError: nesting far deeper than any manifest's
        return None, f"{SYNTHETIC_MARKER} marker is not a readable YAML manifest: {_REAL}"
    if not isinstance(doc, dict):
        return None, f"{SYNTHETIC_MARKER} marker holds no manifest (generator, seed and file hashes): {_REAL}"
    generator = doc.get("generator")
    if generator != SYNTHETIC_GENERATOR:
        named = "names no generator" if generator is None else f"names generator {_short(generator)}"
        return None, f"{SYNTHETIC_MARKER} manifest {named}, not {SYNTHETIC_GENERATOR}: {_REAL}"
    files = doc.get("files")
    if not isinstance(files, dict) or not files or not all(
            isinstance(name, str) and isinstance(digest, str) and _SHA256.fullmatch(digest)
            for name, digest in files.items()):
        return None, f"{SYNTHETIC_MARKER} manifest has no 'files' list of file names with SHA-256 hashes: {_REAL}"
    return doc, ""


def _match_files(manifest: dict[str, Any], read: AnyMapping[str, str]) -> tuple[bool, str]:
    """Whether the files read (name -> SHA-256 of the bytes read) are exactly the manifest's files,
    byte for byte, with the sentence why."""
    files: dict[str, str] = manifest["files"]
    unlisted = sorted(set(read) - set(files))
    if unlisted:
        verb = "was" if len(unlisted) == 1 else "were"
        return False, (f"{_names(unlisted)} {verb} read but not written by the generator "
                       f"({SYNTHETIC_MARKER} manifest): {_REAL}")
    absent = sorted(set(files) - set(read))
    if absent:
        return False, f"the {SYNTHETIC_MARKER} manifest lists {_names(absent)}, which the loader did not read: {_REAL}"
    changed = sorted(name for name in files if read[name] != files[name])
    if changed:
        verb = "differs" if len(changed) == 1 else "differ"
        return False, f"{_names(changed)} {verb} from what the generator wrote (SHA-256 in {SYNTHETIC_MARKER}): {_REAL}"
    seed = manifest.get("seed")
    seeded = f" (seed {seed})" if isinstance(seed, int) and not isinstance(seed, bool) else ""
    return True, f"the {SYNTHETIC_MARKER} manifest matches the generator's files{seeded}"


def _proof(marker: bytes | None, read: AnyMapping[str, str]) -> tuple[bool, str]:
    manifest, reason = _parse_manifest(marker)
    return (False, reason) if manifest is None else _match_files(manifest, read)


def synthetic_proof(folder: str | Path) -> tuple[bool, str]:
    """Whether a dataset folder holds the synthetic twin as the generator wrote it, and why (not).

    True only when the marker file ``SYNTHETIC`` is a manifest of ``veiligverder.synthetic`` (YAML,
    at most 64 KiB, no aliases) whose ``files`` are exactly the files the loader reads (the three
    table files and ``mapping.yml`` when present) with the same SHA-256 hashes. An empty, edited,
    unreadable or stale marker (a table changed, a ``mapping.yml`` added, a file renamed) means
    real data. The sentence is the one :func:`load_dataset` puts in ``meta.synthetic_reason``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return False, f"{folder} is not a folder: {_REAL}"
    manifest, reason = _parse_manifest(_read_marker(folder))
    if manifest is None:  # decided without reading the tables
        return False, reason
    read: dict[str, str] = {}
    for table in TABLES:
        path, _ = locate(folder, table)
        if path is None:
            return False, f"the folder has no single {table} table file to check against the manifest: {_REAL}"
        read[path.name] = _file_sha256(path)
    if (folder / MAPPING_FILE).is_file():
        read[MAPPING_FILE] = _file_sha256(folder / MAPPING_FILE)
    return _match_files(manifest, read)


def _file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks (never whole in memory)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _column_problem(file: str, rule: str, names: list[str], fix: str) -> Problem:
    shown = tuple(names[:MAX_EXAMPLES]) + ((f"... and {len(names) - MAX_EXAMPLES} more",) if len(names) > MAX_EXAMPLES else ())
    return Problem(file=file, column=", ".join(names[:MAX_EXAMPLES]), rule=rule, examples=shown, fix=fix)


def _rename(columns: list[str], table_map: TableMapping, file: str) -> tuple[dict[str, str], list[Problem]]:
    """Contract-side name -> source column after dropping and renaming; problems with mapping
    entries that name columns the file lacks, and with renames onto columns the file has."""
    problems = []
    absent = [c for c in [*table_map.drop, *table_map.rename] if c not in columns]
    if absent:
        problems.append(_column_problem(file, "mapped column present", absent,
                                        "the mapping names these source columns; correct the names in mapping.yml"))
    dropped = set(table_map.drop)
    kept = [c for c in columns if c not in dropped]
    rename = {s: t for s, t in table_map.rename.items() if s in kept}
    clash = sorted(set(rename.values()) & (set(kept) - set(rename)))
    if clash:
        problems.append(_column_problem(file, "one source per column", clash,
                                        "the file has these columns and the mapping renames other columns to them; drop one"))
        kept = [c for c in kept if rename.get(c) not in clash]  # reported once here, not again as unmapped
    return {rename.get(c, c): c for c in kept}, problems


def _to_contract(source: TableSource, table: str, mapping: Mapping, file: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """The table in contract form (columns in codebook order, contract dtypes) and its problems.

    None instead of a frame when the file cannot be read after all (a CSV line pandas cannot split).
    """
    table_map = mapping.table(table)
    names, problems = _rename(source.columns, table_map, file)
    specs = column_specs(table)
    extra = [c for c in names if c not in specs]
    if extra:
        problems.append(_column_problem(
            file, "unmapped column", [str(c) for c in extra],
            "rename these columns to contract names (mapping.yml 'columns'), list them under 'drop', or remove them",
        ))
    missing = [c for c in specs if c not in names]
    if missing:
        problems.append(_column_problem(
            file, "missing column", missing,
            "every codebook column must be present (leave its cells empty when nobody answered)",
        ))
    plans = [ColumnPlan(c, names[c], specs[c], ruled=c in table_map.missing or c in table_map.recode)
             for c in specs if c in names]
    labels = {target: source.labels[src] for target, src in names.items() if src in source.labels}
    builder = TableBuilder(plans, mapping, table_map, labels, source.capacity)
    free = available_memory()
    if free is not None and builder.nbytes > free:  # Linux would not raise MemoryError: it would kill us
        raise TooLarge(f"the table needs at least {_size(builder.nbytes)} of memory, {_size(free)} are available")
    for _ in range(2):  # a second time only when Arrow hands the file over to pandas (Restart)
        builder.reset()
        rows = 0
        try:
            for start, n, batch in source.batches(builder.sources):
                builder.add(start, n, batch)
                rows = start + n
            break
        except Restart:
            continue
        except ReadFailed as failed:  # the read problem alone, as when the file cannot be opened
            return None, [failed.problem]
    else:
        raise RuntimeError(f"{file}: pandas asked to read a file again")
    frame = builder.frame(rows)
    return frame, problems + builder.problems(frame, table, file)


class TooLarge(MemoryError):
    """A table that cannot fit in the memory available, found before filling it; says how much it needs."""


def available_memory() -> int | None:
    """Bytes this process can still fill: ``MemAvailable`` of ``/proc/meminfo``, or what is left
    under a cgroup (container) limit when that is less; None where neither can be read."""
    free = None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            left = int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text())
            free = left if free is None else min(free, left)
    except (OSError, ValueError):
        pass
    return free


def _libc_trim() -> Any:
    """glibc's ``malloc_trim``, or None on other C libraries."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _libc_trim()


def give_back_memory() -> None:
    """Hand the memory freed by a table's batches back to the operating system.

    Arrow's allocator and glibc's heap keep freed blocks for reuse, but the next step (scoring)
    allocates large arrays elsewhere; without this a load left a few hundred MB of free but
    resident memory behind on registry-sized data, and the peak memory of load + score grew by as
    much.
    """
    pyarrow.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1024**3:.1f} GB" if n_bytes >= 1024**3 else f"{n_bytes / 1024**2:.0f} MB"


def memory_problem(path: Path, step: str, detail: str = "") -> Problem:
    """The problem that replaces a ``MemoryError``: which file, how large, and what to do."""
    try:
        size = f"the {_size(path.stat().st_size)} file"
    except OSError:
        size = "the file"
    return Problem(file=path.name, column=None, rule="fits in memory",
                   examples=(f"{step} {size} ran out of memory" + (f": {detail}" if detail else ""),), fix=MEMORY_FIX)


def _hash(digest: Any, digests: dict[str, str], name: str, data: bytes, *, prove: bool) -> None:
    """Add one file to the content hash (name, NUL, bytes) and, to check a manifest, note its SHA-256."""
    digest.update(name.encode("utf-8") + b"\0")
    digest.update(data)
    if prove:
        digests[name] = hashlib.sha256(data).hexdigest()


def _load_table(path: Path, table: str, mapping: Mapping, digest: Any, digests: dict[str, str], *,
                prove: bool) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read one table file, hash its bytes, convert it to contract form; its bytes are dropped on return."""
    data = path.read_bytes()
    _hash(digest, digests, path.name, data, prove=prove)
    source, problem = read_table(path, data)
    del data
    if problem:
        return None, [problem]
    return _to_contract(source, table, mapping, path.name)


def _read_folder(folder: Path, *, check_values: bool) -> tuple[dict[str, pd.DataFrame], DatasetMeta | None, ValidationReport]:
    problems: list[Problem] = []
    if not folder.is_dir():
        problems.append(Problem(file=str(folder), column=None, rule="dataset folder",
                                examples=("no such folder",), fix="give the folder that holds the table files"))
        return {}, None, ValidationReport(folder, problems)
    files: dict[str, Path] = {}
    for table in TABLES:
        path, problem = locate(folder, table)
        problems += [problem] if problem else []
        if path is not None:
            files[table] = path
    names = sorted(path.name for path in files.values())
    mapping_path = folder / MAPPING_FILE
    mapping, mapping_bytes = Mapping(), b""
    if mapping_path.is_file():
        mapping_bytes = mapping_path.read_bytes()
        names = sorted([*names, MAPPING_FILE])
        mapping, mapping_problems = parse_mapping(mapping_bytes)
        if mapping_problems:  # every table problem would follow from these: report them alone
            return {}, None, ValidationReport(folder, problems + mapping_problems)
    marker = _read_marker(folder)
    prove = _parse_manifest(marker)[0] is not None  # file hashes are only needed to check a manifest
    table_of = {path.name: table for table, path in files.items()}
    digest = hashlib.sha256()
    digests: dict[str, str] = {}
    frames: dict[str, pd.DataFrame] = {}
    found: dict[str, list[Problem]] = {table: [] for table in files}
    for name in names:  # in name order: the content hash runs over the files one after the other
        table = table_of.get(name)
        if table is None:  # mapping.yml, read and parsed above
            _hash(digest, digests, name, mapping_bytes, prove=prove)
            continue
        try:
            frame, table_problems = _load_table(files[table], table, mapping, digest, digests, prove=prove)
        except MemoryError as err:  # the traceback, and with it every partial array, is gone after this block
            frame, table_problems = None, [memory_problem(files[table], "reading and converting", str(err))]
        found[table] += table_problems
        if frame is not None:
            frames[table] = frame
        give_back_memory()
    problems += [problem for table in files for problem in found[table]]
    if check_values:
        families = frames.get("families")
        family_ids = None if families is None or "family_id" not in families else set(families["family_id"].dropna())
        for table in TABLES:
            if table in frames:
                try:
                    problems += check_table(frames[table], table, files[table].name, family_ids=family_ids)
                except MemoryError:
                    problems.append(memory_problem(files[table], "checking"))
        give_back_memory()
    synthetic, reason = _proof(marker, digests) if prove else (False, _parse_manifest(marker)[1])
    meta = DatasetMeta(
        path=folder.resolve(),
        content_hash=digest.hexdigest(),
        synthetic=synthetic,
        files={table: path.name for table, path in files.items()},
        synthetic_reason=reason,
    )
    counts = {table: len(frames[table]) for table in TABLES if table in frames}
    return frames, meta, ValidationReport(folder, problems, counts)


def load_dataset(path: str | Path, *, validate: bool = True) -> Dataset:
    """Load a dataset folder into a :class:`Dataset`.

    Parameters
    ----------
    path : str or Path
        Folder with ``families``, ``parents`` and ``children`` (each .csv, .parquet or .sav), an
        optional ``mapping.yml`` and an optional marker file ``SYNTHETIC`` (the twin's manifest).
    validate : bool, keyword-only
        Check values against the codebook (allowed values, ranges, whole numbers, unique keys,
        references). Files, mapping, columns and number parsing are always checked.

    Returns
    -------
    Dataset
        The three tables with contract columns in codebook order: text columns as str (object),
        item columns as float32 (answer codes are exact in it; what the scoring engine computes
        with), other numeric columns as float64, NaN for missing; ``meta`` with the content hash
        (SHA-256 over file name and bytes of every file read, in name order), ``synthetic`` (True
        only when the ``SYNTHETIC`` manifest proves the files are the generator's, unchanged: see
        :func:`synthetic_proof`) and ``synthetic_reason``.

    Raises
    ------
    DataValidationError
        When anything is wrong; its message is the full report (see :func:`validate`). A table
        that does not fit in memory is one such problem (rule 'fits in memory').
    """
    frames, meta, report = _read_folder(Path(path), check_values=validate)
    if not report.ok or meta is None:
        raise DataValidationError(report)
    return Dataset(families=frames["families"], parents=frames["parents"], children=frames["children"], meta=meta)


def validate(path: str | Path) -> ValidationReport:
    """Check a dataset folder against the contract and return every problem found (never raises).

    Each problem names the file, the column, the rule, how many rows break it, up to five rows
    with their keys and values, and a fix. ``report.ok`` is True for a valid folder.
    """
    return _read_folder(Path(path), check_values=True)[2]


def validate_and_load(path: str | Path) -> tuple[ValidationReport, Dataset | None]:
    """:func:`validate` and :func:`load_dataset` in one read of the files: the report, and the
    dataset when the folder is valid (else None). For callers that need both (``veiligverder
    validate``), so that a registry-sized folder is not read, parsed and checked twice."""
    frames, meta, report = _read_folder(Path(path), check_values=True)
    if not report.ok or meta is None:
        return report, None
    return report, Dataset(families=frames["families"], parents=frames["parents"], children=frames["children"],
                           meta=meta)


def validate_cli(path: str | Path) -> int:
    """Print the validation report of a dataset folder; return 0 when valid, 1 otherwise.

    For the ``veiligverder validate DIR`` command.
    """
    report = validate(path)
    print(report.text())
    return 0 if report.ok else 1
