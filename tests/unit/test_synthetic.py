"""The synthetic twin's writer and building blocks: determinism, whole-or-nothing, contract form.

Calibration against the report is in test_calibration.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from veiligverder import contract, paths, stats
from veiligverder.data import SYNTHETIC_MARKER
from veiligverder.synthetic import MARKER, SyntheticWriteError, load_targets, main_cli, write_synthetic
from veiligverder.synthetic import writer as writer_mod
from veiligverder.synthetic.checks import mixed_anova_2x2
from veiligverder.synthetic.sampling import normal_scores, pick_exact, quota_counts, raw_bounds
from veiligverder.synthetic.items import cronbach_alpha, realize, thresholds

TABLE_FILES = ("families.csv", "parents.csv", "children.csv")


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def written(synthetic_dataset) -> Path:
    """The default twin (seed 20201231), written once per session (conftest's ``synthetic_dataset``:
    generating the twin takes seconds, and these tests only read the folder)."""
    return Path(synthetic_dataset.meta.path)


@pytest.fixture(scope="module")
def cli_twin(tmp_path_factory) -> tuple[Path, int, str]:
    """A twin of another seed (11), written once through ``main_cli`` (the writer's command line):
    (folder, exit code, what it printed). One generation serves both the command-line test and
    the other-seed test, which only read it."""
    folder = tmp_path_factory.mktemp("cli") / "cli"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main_cli(folder, 11)
    return folder, code, printed.getvalue()


@pytest.fixture
def fast_generate(synthetic_dataset, monkeypatch):
    """The writer's ``generate`` returning the loaded default twin's tables at once, for the tests of
    what a failed write leaves behind: they are about writing the files, which fails whatever the
    tables hold, not about generating them (seconds per call; the generation and its determinism are
    tested above on real calls)."""
    tables = {t: getattr(synthetic_dataset, t) for t in ("families", "parents", "children")}
    seeds = []

    def generate(seed):
        seeds.append(seed)
        return tables

    monkeypatch.setattr(writer_mod, "generate", generate)
    return seeds


# ------------------------------------------------------------------------------------ the writer
def test_same_seed_gives_byte_identical_files(written, tmp_path):
    again = write_synthetic(tmp_path / "again")
    assert _digest(again) == _digest(written)


def test_other_seed_gives_other_data(written, cli_twin):
    other = cli_twin[0]  # seed 11
    a, b = _digest(written), _digest(other)
    assert all(a[f] != b[f] for f in ("parents.csv", "children.csv"))
    # the structure fixed by Tabel 2 is the same; the answers are not
    fam_a = pd.read_csv(written / "families.csv")
    fam_b = pd.read_csv(other / "families.csv")
    assert fam_a["group"].value_counts().to_dict() == fam_b["group"].value_counts().to_dict() == {
        "cohort": 921, "control": 65, "VV": 34}


def test_folder_holds_the_three_tables_and_the_marker(written):
    assert sorted(p.name for p in written.iterdir()) == sorted([*TABLE_FILES, MARKER])
    assert MARKER == SYNTHETIC_MARKER
    assert "SYNTHETIC" in (written / MARKER).read_text(encoding="utf-8")


def test_columns_in_codebook_order_rows_sorted_and_plain_numbers(written):
    for table in ("families", "parents", "children"):
        text = (written / f"{table}.csv").read_text(encoding="utf-8")
        header = text.split("\n", 1)[0].split(",")
        spec = contract.table_spec(table)
        expected = list(spec["columns"]) + [c for p in contract.item_prefixes(table) for c in contract.item_columns(p)]
        assert header == expected
        assert "\r" not in text and ".0," not in text          # whole numbers without a decimal point
        frame = pd.read_csv(written / f"{table}.csv", dtype=str)
        keys = frame[spec["key"]]
        assert keys.equals(keys.sort_values(spec["key"]).reset_index(drop=True))


def test_loads_through_the_project_loader_as_synthetic(synthetic_dataset):
    ds = synthetic_dataset  # load_dataset(written), done once per session by conftest
    assert ds.meta.synthetic is True
    assert len(ds.families) == 34 + 65 + 921
    t0 = ds.parents.loc[ds.parents["wave"] == "T0"]
    assert t0["family_id"].nunique() == 1020                    # every family has a parent at T0
    # attrition: some parents miss T1 and/or T2, but most VV and control parents are followed up
    group = ds.parents["family_id"].map(ds.families.set_index("family_id")["group"])
    waves = ds.parents.assign(group=group).groupby("parent_id").agg(group=("group", "first"), n=("wave", "size"),
                                                                    first=("wave", "min"))
    assert (waves["first"] == "T0").all()
    for g in ("VV", "control", "cohort"):
        sub = waves.loc[waves["group"] == g]
        followed = (sub["n"] > 1).mean()
        assert followed >= (0.8 if g != "cohort" else 0.6)         # most are followed up ...
        assert (sub["n"] < 3).any()                                # ... but some miss T1 or T2
    per_family = ds.children.loc[ds.children["wave"] == "T0"].groupby("family_id").size()
    assert per_family.max() == 2                                # report: at most two children


def test_self_reporting_children_are_8_to_18(synthetic_dataset):
    ds = synthetic_dataset  # load_dataset(written), done once per session by conftest
    self_rows = ds.children.loc[ds.children["self_report"] == 1]
    assert self_rows["age_years"].between(8, 18).all()
    assert self_rows["kid_01"].notna().all()
    assert ds.children.loc[ds.children["self_report"] == 0, "kid_01"].isna().all()


def test_failed_write_leaves_the_old_folder_untouched(written, tmp_path, monkeypatch, fast_generate):
    # the old folder: a copy of a twin the generator wrote (the default one, instead of generating seed 3)
    target = Path(shutil.copytree(written, tmp_path / "twin"))
    before = _digest(target)
    calls = []

    def failing(frame, path):
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        frame.to_csv(path, index=False)

    monkeypatch.setattr(writer_mod, "write_csv", failing)
    with pytest.raises(OSError, match="simulated"):
        write_synthetic(target, seed=4)
    assert fast_generate == [4] and calls == ["families.csv", "parents.csv"]  # it failed while writing
    assert _digest(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["twin"]   # no temporary folder left behind


def test_failed_first_write_creates_nothing(tmp_path, monkeypatch, fast_generate):
    def failing(frame, path):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(writer_mod, "write_csv", failing)
    with pytest.raises(OSError):
        write_synthetic(tmp_path / "new")
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_replace_a_folder_that_is_not_synthetic(tmp_path, capsys):
    own = tmp_path / "my_data"
    own.mkdir()
    (own / "families.csv").write_text("family_id,group,region,n_children_over3\n", encoding="utf-8")
    with pytest.raises(SyntheticWriteError, match="not a synthetic dataset folder"):
        write_synthetic(own)
    assert main_cli(own, 1) == 1
    assert "refusing to replace" in capsys.readouterr().err
    assert sorted(p.name for p in own.iterdir()) == ["families.csv"]


def test_main_cli_writes_and_reports(cli_twin):
    folder, code, printed = cli_twin
    assert code == 0
    assert "seed 11" in printed
    assert (folder / MARKER).is_file()


# ------------------------------------------------------------------------------------ reproduction/claims.yml
def _resolve(doc: dict, dotted: str):
    node = doc
    for part in dotted.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def test_every_target_cites_a_report_facts_key_with_the_same_number():
    facts = yaml.safe_load(paths.REPORT_FACTS.read_text(encoding="utf-8"))
    targets = load_targets()
    assert len(targets.entries()) > 150
    for e in targets.entries():
        cited = _resolve(facts, e["source"])                   # KeyError names a wrong key
        if isinstance(e["value"], (int, float)) and isinstance(cited, (int, float)):
            assert float(e["value"]) == pytest.approx(float(cited)), e["id"]
        assert "tolerance" in e or "check" in e or targets.sets[e["set"]].get("tolerance"), e["id"]


# ------------------------------------------------------------------------------------ building blocks
def test_quota_counts_reproduce_printed_percentages():
    # Tabel 3, VV parents (n = 39): 2.6 / 33.3 / 43.6 / 20.5 / 0.0 % -> 1 / 13 / 17 / 8 / 0 parents
    got = quota_counts({"<25": 2.6, "25-34": 33.3, "35-44": 43.6, "45-54": 20.5, ">55": 0.0}, 39)
    assert got == {"<25": 1, "25-34": 13, "35-44": 17, "45-54": 8, ">55": 0}
    # largest remainder: 1/3 each of 10 -> 4, 3, 3 (ties to the first)
    assert quota_counts({"a": 1, "b": 1, "c": 1}, 10) == {"a": 4, "b": 3, "c": 3}


def test_pick_exact_takes_exactly_n_and_never_a_zero_weight():
    rng = np.random.default_rng(0)
    w = np.array([0.0, 1.0, 1.0, 5.0, 0.0, 2.0])
    mask = pick_exact(3, w, rng)
    assert mask.sum() == 3 and not mask[[0, 4]].any()
    assert pick_exact(10, w, rng).sum() == 4                   # no more than the eligible units


def test_raw_bounds_stay_clear_of_the_cut():
    assert raw_bounds(48.0) == (47.0, 49.0)                    # a cut on a whole number: skip it
    assert raw_bounds(12.75) == (12.0, 13.0)
    assert raw_bounds(52.4) == (52.0, 53.0)                    # NOSI-K T >= 60: 40.4 + 12


def test_realize_hits_the_target_exactly_and_respects_the_range():
    rng = np.random.default_rng(1)
    target = np.array([0.0, 7.0, 12.0, 30.0, np.nan])
    b = thresholds(np.zeros(10), np.array([-1.0, 0.0, 1.0]))     # 10 items scored 0-3
    levels, score = realize(target, rng.random((5, 10)), b, a=2.0)
    np.testing.assert_array_equal(score[:4], [0, 7, 12, 30])
    np.testing.assert_array_equal(np.nansum(levels, axis=1)[:4], [0, 7, 12, 30])
    assert np.isnan(levels[4]).all()
    assert np.nanmin(levels) == 0 and np.nanmax(levels) == 3
    # CTS gains (incidents 1, 1, 2, 4, 7, 10 per step): 3 incidents on two items of codes 0-6
    lv, sc = realize(np.array([3.0]), np.array([[0.5, 0.5]]), thresholds(np.zeros(2), np.arange(6.0)), a=1.0,
                     gains=np.array([1.0, 1, 2, 4, 7, 10]))
    assert sc[0] == 3 and np.cumsum([0, 1, 1, 2, 4, 7, 10])[lv[0].astype(int)].sum() == 3


def test_higher_discrimination_gives_higher_alpha():
    rng = np.random.default_rng(2)
    target = np.round(rng.normal(40, 8, 500))
    u = rng.random((500, 20))
    b = thresholds(np.zeros(20), np.linspace(-1.5, 1.5, 4))
    alphas = [cronbach_alpha(realize(target, u, b, a=a)[0]) for a in (0.5, 1.0, 3.0)]
    assert alphas[0] < alphas[1] < alphas[2]


def test_normal_scores_are_the_same_quantiles_for_every_seed():
    groups = np.array(["a"] * 4 + ["b"] * 2)
    x = normal_scores(groups, np.random.default_rng(3))
    y = normal_scores(groups, np.random.default_rng(4))
    q4 = [-1.1503, -0.3186, 0.3186, 1.1503]                    # Phi^-1((i - 0.5) / 4)
    np.testing.assert_allclose(np.sort(x[:4]), q4, atol=1e-4)
    np.testing.assert_allclose(np.sort(x[:4]), np.sort(y[:4]))
    np.testing.assert_allclose(np.sort(x[4:]), [-0.6745, 0.6745], atol=1e-4)


def test_own_anova_equals_the_project_mixed_anova():
    """The generator's 2 x 2 check (Type III) agrees with veiligverder.stats.mixed_anova."""
    rng = np.random.default_rng(5)
    g = np.array(["VV"] * 12 + ["control"] * 20)
    y0 = rng.normal(5, 2, g.size)
    y1 = y0 + rng.normal(np.where(g == "VV", 1.0, 0.2), 1.5)
    own = mixed_anova_2x2(y0, y1, g)
    long = pd.DataFrame({"unit_id": np.tile(np.arange(g.size), 2), "group": np.tile(g, 2),
                         "time": np.repeat(["baseline", "follow_up"], g.size), "value": np.concatenate([y0, y1])})
    ref = stats.mixed_anova(long, dv="value", within="time", subject="unit_id", between="group").set_index("source")
    for source in ("time", "group", "interaction"):
        assert own[source]["F"] == pytest.approx(ref.loc[source, "F"], rel=1e-9)
        assert own[source]["np2"] == pytest.approx(ref.loc[source, "np2"], rel=1e-9)
