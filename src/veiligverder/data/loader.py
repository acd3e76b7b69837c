"""Load a dataset folder (CONTRACT §1) into a :class:`Dataset`, checking it against the codebook.

Steps per table: read the file, apply ``mapping.yml`` (drop, rename, missing codes, recode, SPSS
value labels), check that exactly the contract's columns are there, convert text columns to str
and numeric columns to float64, then validate the values with pandera. Problems of all steps and
all tables are collected and reported together. Nothing is ever written into the dataset folder.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping as AnyMapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from veiligverder.contract import TABLES
from veiligverder.data.convert import to_numbers, to_text
from veiligverder.data.dataset import Dataset, DatasetMeta
from veiligverder.data.mapping import MAPPING_FILE, Mapping, TableMapping, apply_values, parse_mapping
from veiligverder.data.readers import RawTable, locate, read_table
from veiligverder.data.report import MAX_EXAMPLES, DataValidationError, Problem, ValidationReport
from veiligverder.data.schema import check_table, column_specs, is_text, value_problem

SYNTHETIC_MARKER = "SYNTHETIC"
SYNTHETIC_GENERATOR = "veiligverder.synthetic"  # the manifest's ``generator`` (veiligverder.synthetic.writer)
MANIFEST_MAX_BYTES = 64 * 1024                   # a manifest is a few hundred bytes; anything larger is not one
_REAL = "treated as real data"
_SHA256 = re.compile(r"[0-9a-f]{64}")


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


def _match_files(manifest: dict[str, Any], read: AnyMapping[str, bytes]) -> tuple[bool, str]:
    """Whether the files read are exactly the manifest's files, byte for byte, with the sentence why."""
    files: dict[str, str] = manifest["files"]
    unlisted = sorted(set(read) - set(files))
    if unlisted:
        verb = "was" if len(unlisted) == 1 else "were"
        return False, (f"{_names(unlisted)} {verb} read but not written by the generator "
                       f"({SYNTHETIC_MARKER} manifest): {_REAL}")
    absent = sorted(set(files) - set(read))
    if absent:
        return False, f"the {SYNTHETIC_MARKER} manifest lists {_names(absent)}, which the loader did not read: {_REAL}"
    changed = sorted(name for name in files if hashlib.sha256(read[name]).hexdigest() != files[name])
    if changed:
        verb = "differs" if len(changed) == 1 else "differ"
        return False, f"{_names(changed)} {verb} from what the generator wrote (SHA-256 in {SYNTHETIC_MARKER}): {_REAL}"
    seed = manifest.get("seed")
    seeded = f" (seed {seed})" if isinstance(seed, int) and not isinstance(seed, bool) else ""
    return True, f"the {SYNTHETIC_MARKER} manifest matches the generator's files{seeded}"


def _proof(marker: bytes | None, read: AnyMapping[str, bytes]) -> tuple[bool, str]:
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
    read: dict[str, bytes] = {}
    for table in TABLES:
        path, _ = locate(folder, table)
        if path is None:
            return False, f"the folder has no single {table} table file to check against the manifest: {_REAL}"
        read[path.name] = path.read_bytes()
    if (folder / MAPPING_FILE).is_file():
        read[MAPPING_FILE] = (folder / MAPPING_FILE).read_bytes()
    return _match_files(manifest, read)


def _column_problem(file: str, rule: str, names: list[str], fix: str) -> Problem:
    shown = tuple(names[:MAX_EXAMPLES]) + ((f"... and {len(names) - MAX_EXAMPLES} more",) if len(names) > MAX_EXAMPLES else ())
    return Problem(file=file, column=", ".join(names[:MAX_EXAMPLES]), rule=rule, examples=shown, fix=fix)


def _rename(raw: RawTable, table_map: TableMapping, file: str) -> tuple[pd.DataFrame, dict, list[Problem]]:
    """Drop and rename source columns; report mapping entries that name columns the file lacks."""
    frame, problems = raw.frame, []
    absent = [c for c in [*table_map.drop, *table_map.rename] if c not in frame.columns]
    if absent:
        problems.append(_column_problem(file, "mapped column present", absent,
                                        "the mapping names these source columns; correct the names in mapping.yml"))
    frame = frame.drop(columns=[c for c in table_map.drop if c in frame.columns])
    rename = {s: t for s, t in table_map.rename.items() if s in frame.columns}
    clash = sorted(set(rename.values()) & (set(frame.columns) - set(rename)))
    if clash:
        problems.append(_column_problem(file, "one source per column", clash,
                                        "the file has these columns and the mapping renames other columns to them; drop one"))
        sources = [s for s, t in rename.items() if t in clash]
        frame = frame.drop(columns=sources)  # reported once here, not again as unmapped
        rename = {s: t for s, t in rename.items() if t not in clash}
    labels = {rename.get(c, c): v for c, v in raw.labels.items()}
    return frame.rename(columns=rename), labels, problems


def _to_contract(raw: RawTable, table: str, mapping: Mapping, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    """The table in contract form (columns in codebook order, contract dtypes) and its problems."""
    frame, labels, problems = _rename(raw, mapping.table(table), file)
    specs = column_specs(table)
    extra = [c for c in frame.columns if c not in specs]
    if extra:
        problems.append(_column_problem(
            file, "unmapped column", [str(c) for c in extra],
            "rename these columns to contract names (mapping.yml 'columns'), list them under 'drop', or remove them",
        ))
    missing = [c for c in specs if c not in frame.columns]
    if missing:
        problems.append(_column_problem(
            file, "missing column", missing,
            "every codebook column must be present (leave its cells empty when nobody answered)",
        ))
    table_map = mapping.table(table)
    present = [c for c in specs if c in frame.columns]
    text = {c: to_text(apply_values(frame[c], c, specs[c], table_map, mapping, labels.get(c)))
            for c in present if is_text(specs[c])}
    numeric = [c for c in present if not is_text(specs[c])]
    source = frame[numeric].copy()
    ruled = [c for c in numeric if c in table_map.missing or c in table_map.recode]
    for c in ruled:  # per-column missing codes and recodes act on the source values
        source[c] = apply_values(frame[c], c, specs[c], table_map, mapping, None)
    numbers, not_numbers = to_numbers(source)
    plain = [c for c in numeric if c not in ruled]
    if mapping.missing and plain:  # global codes are numbers: compare after parsing
        numbers[plain] = numbers[plain].mask(numbers[plain].isin([float(code) for code in mapping.missing]))
    result = pd.concat([pd.DataFrame(text, index=frame.index), numbers], axis=1)[present]
    for name in not_numbers.columns[not_numbers.any().to_numpy()]:
        shown = result.assign(**{name: frame[name]})  # show the offending source text
        problems.append(value_problem(
            shown, table, file, name, "number", not_numbers[name],
            fix="use digits with a decimal point, or declare the code as missing in mapping.yml",
        ))
    return result, problems


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
    read = {path.name: path.read_bytes() for path in files.values()}
    mapping_path = folder / MAPPING_FILE
    mapping = Mapping()
    if mapping_path.is_file():
        read[MAPPING_FILE] = mapping_path.read_bytes()
        mapping, mapping_problems = parse_mapping(read[MAPPING_FILE])
        if mapping_problems:  # every table problem would follow from these: report them alone
            return {}, None, ValidationReport(folder, problems + mapping_problems)
    frames: dict[str, pd.DataFrame] = {}
    for table, path in files.items():
        raw, problem = read_table(path, read[path.name])
        if problem:
            problems.append(problem)
            continue
        frames[table], table_problems = _to_contract(raw, table, mapping, path.name)
        problems += table_problems
    if check_values:
        families = frames.get("families")
        family_ids = None if families is None or "family_id" not in families else set(families["family_id"].dropna())
        for table, frame in frames.items():
            problems += check_table(frame, table, files[table].name, family_ids=family_ids)
    digest = hashlib.sha256()
    for name in sorted(read):
        digest.update(name.encode("utf-8") + b"\0" + read[name])
    synthetic, reason = _proof(_read_marker(folder), read)  # the bytes just parsed, not a second read
    meta = DatasetMeta(
        path=folder.resolve(),
        content_hash=digest.hexdigest(),
        synthetic=synthetic,
        files={table: path.name for table, path in files.items()},
        synthetic_reason=reason,
    )
    counts = {table: len(frame) for table, frame in frames.items()}
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
        numeric and item columns as float64, NaN for missing; ``meta`` with the content hash
        (SHA-256 over file name and bytes of every file read, in name order), ``synthetic`` (True
        only when the ``SYNTHETIC`` manifest proves the files are the generator's, unchanged: see
        :func:`synthetic_proof`) and ``synthetic_reason``.

    Raises
    ------
    DataValidationError
        When anything is wrong; its message is the full report (see :func:`validate`).
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


def validate_cli(path: str | Path) -> int:
    """Print the validation report of a dataset folder; return 0 when valid, 1 otherwise.

    For the ``veiligverder validate DIR`` command.
    """
    report = validate(path)
    print(report.text())
    return 0 if report.ok else 1
