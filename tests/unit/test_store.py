"""The study cache: written whole, opened equal, keyed by everything that shapes a study."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest

from veiligverder.analysis import load_study, store
from veiligverder.analysis.study import Study


@pytest.fixture(scope="module")
def twin_copy(tmp_path_factory, synthetic_dataset):
    """A private copy of the twin folder (the tests below edit files in it)."""
    folder = tmp_path_factory.mktemp("store") / "twin"
    shutil.copytree(synthetic_dataset.meta.path, folder)
    return folder


@pytest.fixture(scope="module")
def cached(twin_copy, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache") / "study"
    first = load_study(twin_copy, cache=cache)
    return cache, first


def test_an_entry_opens_equal_to_the_loaded_study(cached, twin_copy):
    cache, first = cached
    again = load_study(twin_copy, cache=cache, follow_up_rule="T1", disclosure_threshold=7)
    for name in ("families", "parents", "children"):
        pd.testing.assert_frame_equal(getattr(first.dataset, name), getattr(again.dataset, name))
        pd.testing.assert_frame_equal(getattr(first.measures, name), getattr(again.measures, name))
    for name in first.measures.scores:
        pd.testing.assert_frame_equal(first.measures.scores[name], again.measures.scores[name])
    assert again.dataset.meta == first.dataset.meta
    assert (again.keys, again.norms, again.measures.keys) == (first.keys, first.norms, first.measures.keys)
    # settings that are not in the key are the caller's, not the entry's
    assert (again.follow_up_rule, again.disclosure_threshold) == ("T1", 7)
    assert first.analyse("safety_grade").results == again.analyse("safety_grade", follow_up_rule="latest").results


def test_entries_are_owner_only_and_have_a_meta_sidecar(cached):
    cache, first = cached
    (entry,) = [p for p in cache.iterdir() if p.is_dir()]
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in entry.iterdir())
    meta = store.read_meta(entry)
    assert meta["content_hash"] == first.dataset.meta.content_hash and meta["synthetic"] is True


def test_the_key_follows_data_content_and_settings(twin_copy):
    base = dict(keys_dir=None, cumulation_threshold=5, rematch=False, seed=1)
    key = store.study_key(twin_copy, **base)
    assert store.study_key(twin_copy, **base) == key
    assert store.study_key(twin_copy, **{**base, "cumulation_threshold": 4}) != key
    assert store.study_key(twin_copy, **{**base, "rematch": True}) != key
    assert store.study_key(twin_copy, **{**base, "seed": 2}) == key  # the seed matters only when rematching
    assert store.study_key(twin_copy, **{**base, "rematch": True, "seed": 2}) != \
        store.study_key(twin_copy, **{**base, "rematch": True})
    families = twin_copy / "families.csv"
    original = families.read_bytes()
    try:
        families.write_bytes(original.replace(b"VV", b"VW", 1))  # same size, one byte changed
        assert store.study_key(twin_copy, **base) != key
    finally:
        families.write_bytes(original)
    assert store.study_key(twin_copy, **base) == key


def test_a_keys_folder_elsewhere_with_the_same_files_gets_its_own_entry(twin_copy, tmp_path):
    """The study records its keys folder (the banner names it): two folders holding the same key
    files must not share an entry, or the second study would name the first folder. Seen when a
    test session found the entry of an earlier session's (deleted) temporary keys folder."""
    from support.builds import licensed_keys

    first, second = licensed_keys(tmp_path / "a" / "keys"), licensed_keys(tmp_path / "b" / "keys")
    base = dict(cumulation_threshold=5, rematch=False, seed=1)
    assert store.study_key(twin_copy, keys_dir=first, **base) != store.study_key(twin_copy, keys_dir=second, **base)
    assert store.study_key(twin_copy, keys_dir=first, **base) == store.study_key(twin_copy, keys_dir=first, **base)
    cache = tmp_path / "cache"
    for folder in (first, second):
        study = load_study(twin_copy, keys_dir=folder, cache=cache)
        assert Path(study.keys_dir) == folder
        assert {Path(v["path"]).parent for v in study.keys.values()} == {folder}
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 2


def test_a_half_written_entry_is_not_opened(tmp_path):
    entry = tmp_path / "abc"
    entry.mkdir()
    (entry / "dataset.families.parquet").write_bytes(b"PAR1")
    assert store.open_entry(entry, Study, tmp_path) is None  # no study.json: written last, never complete
    (entry / "study.json").write_text('{"format": 0}')
    assert store.open_entry(entry, Study, tmp_path) is None  # another format


def test_discard_removes_the_rows_and_keeps_the_meta(tmp_path):
    cache = tmp_path / "study"
    (cache / "k1").mkdir(parents=True)
    (cache / "k1" / "dataset.parents.parquet").write_bytes(b"rows")
    (cache / "k1.json").write_text('{"content_hash": "x", "synthetic": false}')
    (cache / "k2").mkdir()
    store.prune(cache, keep="k2")
    assert sorted(p.name for p in cache.iterdir()) == ["k1.json", "k2"]
    store.discard(cache)
    assert sorted(p.name for p in cache.iterdir()) == ["k1.json"]
    assert store.read_meta(cache / "k1") == {"content_hash": "x", "synthetic": False}


def test_real_data_are_not_cached_without_an_explicit_folder(tmp_path, monkeypatch, twin_copy):
    from veiligverder import paths

    real = tmp_path / "real"
    shutil.copytree(twin_copy, real)
    (real / "SYNTHETIC").unlink()  # no manifest: real data
    default = tmp_path / "default-cache"
    monkeypatch.setattr(paths, "STUDY_CACHE_DIR", default)
    study = load_study(real)
    assert not study.synthetic and not default.exists()
