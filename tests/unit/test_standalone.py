"""A chapter run on its own (no parameters injected): data_dir None is the embedded synthetic twin,
out_dir None writes no results, and a summarising chapter finds its stage-1 results."""

from __future__ import annotations

import json

from pathlib import Path

import pytest

from veiligverder import paths
from veiligverder.analysis import study as study_module
from veiligverder.pipeline.errors import OutputError
from veiligverder.pipeline.standalone import results_folder
from veiligverder.report.results import Registry


def test_dataset_dir_none_is_the_embedded_twin(tmp_path, monkeypatch):
    assert paths.dataset_dir(None) == paths.SYNTHETIC_DATA_DIR
    assert paths.SYNTHETIC_DATA_DIR.is_absolute() and paths.SYNTHETIC_DATA_DIR.parent == paths.DATA_DIR
    monkeypatch.chdir(tmp_path)
    assert paths.dataset_dir("data") == tmp_path / "data"  # a given folder, made absolute


def test_resolve_data_dir_none_is_the_proven_twin(synthetic_dataset, monkeypatch):
    twin = Path(synthetic_dataset.meta.path)
    monkeypatch.setattr(paths, "SYNTHETIC_DATA_DIR", twin)
    assert study_module.resolve_data_dir(None) == twin
    assert study_module.resolve_data_dir(str(twin)) == twin.resolve()


def test_resolve_data_dir_none_without_the_twin_says_how_to_write_it(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "SYNTHETIC_DATA_DIR", tmp_path / "synthetic")  # absent
    with pytest.raises(FileNotFoundError, match="make synth"):
        study_module.resolve_data_dir(None)
    (tmp_path / "synthetic").mkdir()
    (tmp_path / "synthetic" / "families.csv").write_text("family_id\n")  # a folder, but not the twin
    with pytest.raises(FileNotFoundError, match="data/synthetic"):
        study_module.resolve_data_dir(None)


def test_load_study_resolves_none_before_anything_else(monkeypatch, tmp_path):
    """load_study(None) keys, caches and loads the twin's folder (never the string 'None')."""
    seen = []

    class Stop(Exception):
        pass

    def key(data_dir, **kwargs):
        seen.append(data_dir)
        raise Stop

    monkeypatch.setattr(study_module, "resolve_data_dir", lambda d: tmp_path if d is None else Path(d))
    monkeypatch.setattr(study_module.store, "study_key", key)
    with pytest.raises(Stop):
        study_module.load_study(None)
    assert seen == [tmp_path]


def test_registry_without_out_dir_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = Registry(None, "ch5_2_violence")
    assert results.add("n.VV.families", 34) == 34
    results.withhold({"x.mean.VV.T2": "primary"})
    assert results.save() is None
    assert results.values == {"n.VV.families": 34, "x.mean.VV.T2": None}
    assert list(tmp_path.iterdir()) == []


def test_registry_with_out_dir_writes_its_fragment(tmp_path):
    results = Registry(tmp_path, "ch5_2_violence")
    results.add("n.VV.families", 34)
    assert results.save() is None  # no output in the notebook cell that saves
    assert results.path == tmp_path / ".work" / "fragments" / "ch5_2_violence.json"
    assert json.loads(results.path.read_text()) == {"n.VV.families": 34}


def test_results_folder_given_is_used_as_it_is(tmp_path):
    assert results_folder(tmp_path / "out", seed=1) == tmp_path / "out"


def test_results_folder_none_on_real_data_asks_for_out_dir(tmp_path):
    """Results of data that are not the proven twin go only where the user says: no default folder."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "families.csv").write_text("family_id\n")
    with pytest.raises(OutputError, match="set out_dir"):
        results_folder(None, data_dir=data)
    assert sorted(p.name for p in data.iterdir()) == ["families.csv"]
