"""The SYNTHETIC manifest: disclosure control is off only for the twin as the generator wrote it.

A marker file alone proves nothing: the loader recomputes the SHA-256 of every file it reads and
compares them with the generator's manifest. Empty, copied, edited, stale or hostile markers all
leave the data treated as real (issue 10, point 2).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import pytest
import yaml

from support.datasets import contract_frames, write_contract_dataset, write_tables
from veiligverder import __version__
from veiligverder.data import SYNTHETIC_GENERATOR, SYNTHETIC_MARKER, load_dataset, synthetic_proof
from veiligverder.synthetic import MODEL_VERSION, SyntheticWriteError
from veiligverder.synthetic import writer as writer_mod

SMALL = {"VV": 2, "control": 2, "cohort": 1}
TWIN_FILES = ("children.csv", "families.csv", "parents.csv")


@pytest.fixture(scope="module")
def twin(synthetic_dataset) -> Path:
    """The default twin's folder (written and loaded once per session by conftest)."""
    return synthetic_dataset.meta.path


@pytest.fixture
def twin_copy(twin, tmp_path) -> Path:
    return Path(shutil.copytree(twin, tmp_path / "copy"))


@pytest.fixture(scope="module")
def real_tables(tmp_path_factory) -> Path:
    """The tables of :func:`real`, made and written once for this module (never changed)."""
    return write_tables(contract_frames(families=SMALL, seed=3), tmp_path_factory.mktemp("real") / "real")


@pytest.fixture
def real(real_tables, tmp_path) -> Path:
    """A small random dataset without a marker: real data (a fresh copy per test, to change)."""
    return Path(shutil.copytree(real_tables, tmp_path / "real"))


def _manifest(folder: Path) -> dict:
    return yaml.safe_load((folder / SYNTHETIC_MARKER).read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------ the manifest written
def test_fresh_twin_is_synthetic_with_a_reason(synthetic_dataset, twin):
    assert synthetic_dataset.meta.synthetic is True
    assert synthetic_dataset.meta.synthetic_reason == \
        "the SYNTHETIC manifest matches the generator's files (seed 20201231)"
    assert synthetic_proof(twin) == (True, synthetic_dataset.meta.synthetic_reason)


def test_manifest_names_generator_version_seed_and_file_hashes(twin):
    text = (twin / SYNTHETIC_MARKER).read_text(encoding="utf-8")
    header = text.split("\ngenerator:", 1)[0].splitlines()
    assert header[0].startswith("# This folder holds SYNTHETIC data") and all(line.startswith("#") for line in header)
    assert "No real person is in it." in text and "seed 20201231" in text
    doc = _manifest(twin)
    assert doc["generator"] == SYNTHETIC_GENERATOR == "veiligverder.synthetic"
    assert doc["generator_version"] == {"package": __version__, "model": MODEL_VERSION}
    assert doc["seed"] == 20201231

    assert doc["files"] == {name: hashlib.sha256((twin / name).read_bytes()).hexdigest() for name in TWIN_FILES}
    assert "time" not in text.lower()  # no time stamps: same seed, same bytes (test_synthetic checks the bytes)


def test_manifest_text_is_deterministic():
    files = {"parents.csv": b"a\n", "families.csv": b"b\n", "children.csv": b"c\n"}
    one = writer_mod.manifest_text(files, seed=5)
    assert one == writer_mod.manifest_text(dict(reversed(files.items())), seed=5)
    assert one != writer_mod.manifest_text(files, seed=6)
    assert list(yaml.safe_load(one)["files"]) == sorted(files)


def test_test_helper_writes_a_valid_manifest_in_every_format(tmp_path):
    for fmt in ("csv", "sav"):
        folder = write_contract_dataset(tmp_path / fmt, families=SMALL, fmt=fmt, synthetic=True)
        meta = load_dataset(folder).meta
        assert meta.synthetic is True, meta.synthetic_reason
        assert set(_manifest(folder)["files"]) == {f"{t}.{fmt}" for t in ("families", "parents", "children")}
        assert "random test data" in (folder / SYNTHETIC_MARKER).read_text(encoding="utf-8")


def test_write_manifest_needs_every_table(tmp_path):
    folder = write_tables({"families": contract_frames(families=SMALL)["families"]}, tmp_path / "one")
    with pytest.raises(SyntheticWriteError, match="no single parents table file"):
        writer_mod.write_manifest(folder, seed=1)


# ------------------------------------------------------------------------------ markers that prove nothing
def test_no_marker_is_real(real):
    meta = load_dataset(real).meta
    assert (meta.synthetic, meta.synthetic_reason) == (False, "no SYNTHETIC marker file: treated as real data")
    assert synthetic_proof(real) == (False, meta.synthetic_reason)


def test_empty_marker_is_real(real):
    (real / SYNTHETIC_MARKER).write_bytes(b"")
    meta = load_dataset(real).meta
    assert (meta.synthetic, meta.synthetic_reason) == (False, "SYNTHETIC marker is empty: treated as real data")
    assert synthetic_proof(real) == (False, meta.synthetic_reason)


def test_old_free_text_marker_is_real(real):
    (real / SYNTHETIC_MARKER).write_text(writer_mod.MARKER_TEXT.format(seed=1), encoding="utf-8")
    meta = load_dataset(real).meta
    assert meta.synthetic is False
    assert meta.synthetic_reason.startswith("SYNTHETIC marker is not a readable YAML manifest")


def test_twin_manifest_copied_next_to_other_data_is_real(twin, real):
    shutil.copyfile(twin / SYNTHETIC_MARKER, real / SYNTHETIC_MARKER)
    meta = load_dataset(real).meta
    assert meta.synthetic is False
    assert meta.synthetic_reason == ("children.csv, families.csv, parents.csv differ from what the generator wrote "
                                     "(SHA-256 in SYNTHETIC): treated as real data")


def _edit_one_byte(path: Path) -> None:
    """Change one grade in the second data row by one point: still valid data, one byte different."""
    lines = path.read_bytes().split(b"\n")
    header = lines[0].split(b",")
    cells = lines[2].split(b",")
    col = header.index(b"qol_grade")
    old = cells[col]
    assert old.isdigit() and 1 <= int(old) <= 10
    cells[col] = str(int(old) + 1 if int(old) < 9 else int(old) - 1).encode()
    assert len(cells[col]) == len(old)
    lines[2] = b",".join(cells)
    path.write_bytes(b"\n".join(lines))


def test_one_byte_edited_in_a_twin_table_is_real(synthetic_dataset, twin_copy):
    before = (twin_copy / "parents.csv").read_bytes()
    _edit_one_byte(twin_copy / "parents.csv")
    after = (twin_copy / "parents.csv").read_bytes()
    assert len(before) == len(after) and sum(a != b for a, b in zip(before, after)) == 1
    reason = "parents.csv differs from what the generator wrote (SHA-256 in SYNTHETIC): treated as real data"
    assert synthetic_proof(twin_copy) == (False, reason)
    meta = load_dataset(twin_copy).meta  # still valid data: the loader decides, not a validation error
    assert (meta.synthetic, meta.synthetic_reason) == (False, reason)
    assert meta.content_hash != synthetic_dataset.meta.content_hash


def test_mapping_added_to_a_twin_is_real(twin_copy):
    (twin_copy / "mapping.yml").write_text("version: 1\n", encoding="utf-8")
    assert synthetic_proof(twin_copy) == (
        False, "mapping.yml was read but not written by the generator (SYNTHETIC manifest): treated as real data")
    assert load_dataset(twin_copy, validate=False).meta.synthetic is False


def test_renamed_table_file_is_real(twin_copy):
    (twin_copy / "families.csv").rename(twin_copy / "families.CSV")  # the loader reads it under its new name
    assert load_dataset(twin_copy, validate=False).meta.files["families"] == "families.CSV"
    ok, reason = synthetic_proof(twin_copy)
    assert not ok and reason.startswith("families.CSV was read but not written by the generator")


def test_other_files_in_the_folder_do_not_matter(twin_copy):
    (twin_copy / "README.txt").write_text("notes\n", encoding="utf-8")  # not read by the loader
    assert synthetic_proof(twin_copy)[0] is True


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda d: d.update(generator="someone.else"),
     "SYNTHETIC manifest names generator 'someone.else', not veiligverder.synthetic: treated as real data"),
    (lambda d: d.pop("generator"),
     "SYNTHETIC manifest names no generator, not veiligverder.synthetic: treated as real data"),
    (lambda d: d.update(files={}),
     "SYNTHETIC manifest has no 'files' list of file names with SHA-256 hashes: treated as real data"),
    (lambda d: d["files"].update({"parents.csv": "0" * 63}),
     "SYNTHETIC manifest has no 'files' list of file names with SHA-256 hashes: treated as real data"),
    (lambda d: d["files"].update({"extra.csv": "0" * 64}),
     "the SYNTHETIC manifest lists extra.csv, which the loader did not read: treated as real data"),
])
def test_edited_manifest_is_real(twin_copy, edit, reason):
    doc = _manifest(twin_copy)
    edit(doc)
    (twin_copy / SYNTHETIC_MARKER).write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert synthetic_proof(twin_copy) == (False, reason)


def test_manifest_that_is_a_list_or_not_utf8_is_real(real):
    (real / SYNTHETIC_MARKER).write_text("- generator\n- files\n", encoding="utf-8")
    assert synthetic_proof(real)[1].startswith("SYNTHETIC marker holds no manifest")
    (real / SYNTHETIC_MARKER).write_bytes(b"generator: \xff\xfe\n")
    assert synthetic_proof(real) == (False, "SYNTHETIC marker is not UTF-8 text: treated as real data")


def test_alias_bomb_is_refused_fast(twin, twin_copy):
    good = (twin / SYNTHETIC_MARKER).read_text(encoding="utf-8")
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    (twin_copy / SYNTHETIC_MARKER).write_text(good + "\n".join(lines) + "\n", encoding="utf-8")
    start = time.perf_counter()
    ok, reason = synthetic_proof(twin_copy)
    meta = load_dataset(twin_copy, validate=False).meta
    assert time.perf_counter() - start < 30  # generous on a busy machine; an expanded bomb never returns
    assert not ok and not meta.synthetic
    assert reason == meta.synthetic_reason == \
        "SYNTHETIC marker uses a YAML alias, which the generator's manifest never does: treated as real data"


def test_deeply_nested_marker_is_real(real):
    (real / SYNTHETIC_MARKER).write_bytes(b"- " * 20_000 + b"x\n")  # 40 kB, under the size cap
    assert synthetic_proof(real) == (False, "SYNTHETIC marker is not a readable YAML manifest: treated as real data")


def test_oversized_marker_is_real_and_not_read_whole(real):
    (real / SYNTHETIC_MARKER).write_bytes(b"# padding\n" * 20_000)  # 200 kB
    assert synthetic_proof(real) == (
        False, "SYNTHETIC marker is larger than 64 KiB, so not a manifest: treated as real data")


def test_marker_folder_is_not_a_marker(real):
    (real / SYNTHETIC_MARKER).mkdir()
    assert synthetic_proof(real) == (False, "no SYNTHETIC marker file: treated as real data")


# ------------------------------------------------------------------------------ the writer's guard
def test_synth_replaces_only_folders_that_hold_a_marker(tmp_path, real):
    check = writer_mod._check_replaceable
    check(tmp_path / "absent")                       # new folder: fine
    (tmp_path / "empty").mkdir()
    check(tmp_path / "empty")                        # empty folder: fine
    with pytest.raises(SyntheticWriteError, match="not a synthetic dataset folder"):
        check(real)                                  # data without a marker: refused
    (real / SYNTHETIC_MARKER).write_bytes(b"")
    check(real)                                      # any marker (also an old or empty one): replaceable
    with pytest.raises(SyntheticWriteError):
        check(real / "families.csv")                 # a file: refused
