"""Shared fixtures (one default build of the whole book per test session) and the ``book`` marker.

Layout: ``unit/`` (the package piece by piece), ``oracle/`` (statistics against R, statsmodels,
pingouin and published values), ``book/`` (builds of the book and what readers see), ``support/``
(datasets, build helpers, the headless browser). Every test that builds the book, or needs a
build, carries the ``book`` marker, so ``pytest -m "not book"`` (``make test-fast``) is the quick set.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.builds import OTHER_BUILD_KEYS, OTHER_BUILD_RULE, licensed_keys, odd_dataset, run_cli

#: Fixtures that build the book (or run every chapter); a test using one is a ``book`` test.
BUILD_FIXTURES = {"default_build", "default_results", "attack_build", "other_build", "other_sites"}
BOOK_DIR = Path(__file__).parent / "book"


#: The build each ``book`` test shares, in the order a test that uses several is grouped by: under
#: ``pytest -n 2 --dist loadgroup`` every test of one build runs in the same worker, so that each
#: session build is made once (session fixtures are per worker).
BUILD_GROUPS = (("default", {"default_build", "default_results"}), ("attack", {"attack_build"}),
                ("other", {"other_build", "other_sites"}))
#: Modules whose tests reach a build at run time (``request.getfixturevalue``), not by argument.
MODULE_GROUPS = {"test_browser.py": "default"}
#: Where the workers leave the groups of the tests they collected, for the controller's scheduler.
GROUPS_ENV = "VV_TEST_GROUPS"


def build_group(fixturenames, module: str = "") -> str | None:
    """The group of a test using these fixtures (in this module): the first build it uses, or None."""
    uses = set(fixturenames)
    return next((name for name, fixtures in BUILD_GROUPS if uses & fixtures), MODULE_GROUPS.get(module))


def pytest_configure(config):
    """On the controller of ``--dist loadgroup``: a file for the workers to name each test's group.

    pytest-xdist's own ``xdist_group`` marks do not work with pytest 9 (xdist 3.8 renames the
    collected items' ``_nodeid``, which pytest 9 no longer reads), so the groups travel by file and
    :func:`pytest_xdist_make_scheduler` schedules by them."""
    if not hasattr(config, "workerinput") and config.getoption("dist", "no") == "loadgroup":
        os.environ[GROUPS_ENV] = str(Path(tempfile.mkdtemp(prefix="vv-test-groups-")) / "groups.json")


def pytest_collection_modifyitems(config, items):
    """Mark as ``book`` every test under tests/book/, every e2e or browser test and every test that
    uses a build fixture, wherever it lives; on an xdist worker, write each test's build group."""
    groups = {}
    for item in items:
        path = Path(str(item.fspath))
        uses = set(getattr(item, "fixturenames", ()))
        if (BOOK_DIR in path.parents or uses & BUILD_FIXTURES
                or item.get_closest_marker("e2e") or item.get_closest_marker("browser")):
            item.add_marker(pytest.mark.book)
        group = build_group(uses, path.name)
        if group is not None:
            groups[item.nodeid] = group
    target = os.environ.get(GROUPS_ENV)
    if target and hasattr(config, "workerinput"):  # every worker collects the same tests: last write wins
        tmp = Path(f"{target}.{os.getpid()}")
        tmp.write_text(json.dumps(groups))
        os.replace(tmp, target)


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup``: whole groups (a build and every test that reads it) to one worker, the
    other tests one by one (xdist's scope scheduling with the groups written by the workers)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BuildGroups(LoadScopeScheduling):
        _groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:
                self._groups = json.loads(Path(os.environ[GROUPS_ENV]).read_text())
            return self._groups.get(nodeid, nodeid)

    return BuildGroups(config, log)


@pytest.fixture(scope="session")
def default_build(tmp_path_factory) -> Path:
    """The whole book built from the default (synthetic) dataset into a temporary folder."""
    out = tmp_path_factory.mktemp("build") / "out"
    run_cli("build", "--out", str(out))
    return out


@pytest.fixture(scope="session")
def default_results(default_build) -> dict:
    return json.loads((default_build / "results.json").read_text())


@pytest.fixture(scope="session")
def synthetic_dataset(tmp_path_factory):
    """The default synthetic twin (seed 20201231), written and loaded once per session."""
    from veiligverder.data import load_dataset
    from veiligverder.synthetic import write_synthetic

    return load_dataset(write_synthetic(tmp_path_factory.mktemp("twin") / "default"))


@pytest.fixture(scope="session")
def attack_build(tmp_path_factory, synthetic_dataset):
    """One whole book built from a NON-synthetic copy of the twin whose VV group is cut to 3 families
    (one extreme), with a unique marker in every id and in the free text of the study families, and
    an empty ``SYNTHETIC`` file that must not switch disclosure control off. Shared by the privacy and
    the disclosure attack tests. Returns (data folder, output folder, markers, input digest before)."""
    import hashlib

    from support.attack_datasets import small_group_copy

    tmp = tmp_path_factory.mktemp("attack")
    data, markers = small_group_copy(Path(synthetic_dataset.meta.path), tmp / "vv3", n_vv=3)
    (data / "SYNTHETIC").write_text("")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(data.iterdir())}
    out = tmp / "out"
    run_cli("build", "--data", str(data), "--out", str(out))
    return data, out, markers, before


@dataclass(frozen=True)
class OtherSites:
    """The ``veiligverder sites`` run behind :func:`other_build` (see there)."""

    data: Path  # the odd dataset (site "odd")
    broken: Path  # a site whose build fails at once (site "broken")
    params: Path  # the parameters file both sites were built with
    out: Path  # the sites' output folder: odd/, broken.log, comparison.csv and .md
    proc: subprocess.CompletedProcess  # the command's exit code and output


@pytest.fixture(scope="session")
def other_sites(tmp_path_factory) -> OtherSites:
    """``veiligverder sites`` on :func:`odd_dataset` and an empty folder, with local dispatch (two
    builds at a time), once per session. The odd site's build is :func:`other_build`; the sites test
    runs the same on a Dask cluster and compares (one build of every chapter fewer than running the
    local dispatch there). Both builds use a parameters file setting ``follow_up_rule: T1`` and
    ``keys_dir`` to a licensed-marked copy of the illustrative keys (:func:`licensed_keys`), so that
    one build proves both reach the chapters."""
    import yaml

    tmp = tmp_path_factory.mktemp("other")
    data = odd_dataset(tmp / "odd")
    broken = tmp / "broken"  # no table files: its build fails at once with a validation report
    broken.mkdir()
    keys = licensed_keys(tmp / OTHER_BUILD_KEYS)
    params = tmp / "params.yml"
    # few power replications: the power chapter runs on this odd dataset as on any other, only quicker
    params.write_text(yaml.safe_dump({"follow_up_rule": OTHER_BUILD_RULE, "keys_dir": str(keys),
                                      "power_replications": 10}))
    out = tmp / "sites"
    proc = run_cli("sites", "--data", str(data), str(broken), "--out", str(out), "--jobs", "2",
                   "--params", str(params), check=False)
    return OtherSites(data, broken, params, out, proc)


@pytest.fixture(scope="session")
def other_build(other_sites) -> tuple[Path, Path]:
    """Every chapter run (no HTML) on :func:`odd_dataset` (its site build in :func:`other_sites`):
    the build of another dataset for the end-to-end, disclosure, interrupt and parameter tests,
    with ``follow_up_rule: T1`` and a licensed keys folder. Returns (data folder, output folder)."""
    odd = other_sites.out / "odd"
    if not (odd / "results.json").exists():
        raise AssertionError(f"the odd site's build failed:\n{other_sites.proc.stdout}\n{other_sites.proc.stderr}")
    return other_sites.data, odd
