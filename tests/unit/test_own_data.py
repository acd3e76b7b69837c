"""The appendix 'Run it on your own data' and its shipped example (data/examples/).

Every command the appendix shows is either run here on the shipped example, in a scratch folder
laid out like the project root, or (``veiligverder build``, which the end-to-end tests run) parsed
by the real command-line parser with its inputs checked.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import shlex
import shutil
import subprocess
import sys
import traceback
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
import yaml

from veiligverder import cli, paths
from veiligverder.cli import _parser
from veiligverder.contract import item_columns
from veiligverder.data import load_dataset, validate, validate_cli
from veiligverder.data.mapping import parse_mapping
from veiligverder.instruments import keys_in_force
from veiligverder.params import Params, load_params

ROOT = paths.PROJECT_ROOT
EXAMPLES = ROOT / "data" / "examples"
EXAMPLE = EXAMPLES / "spss_export"
TEMPLATE = EXAMPLES / "keys_template"
APPENDIX = paths.BOOK_DIR / "appendix_own_data.md"
SHIPPED = ("families.sav", "parents.sav", "children.sav", "mapping.yml")
TABLES = ("families", "parents", "children")


def _script():
    spec = importlib.util.spec_from_file_location("make_spss_export", EXAMPLES / "make_spss_export.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def appendix_text() -> str:
    return APPENDIX.read_text(encoding="utf-8")


def code_blocks(language: str) -> list[str]:
    """Fenced code blocks of one language, at any indentation (blocks inside list items too)."""
    blocks = re.findall(r"^( *)```" + language + r"\n(.*?)^\1```", appendix_text(), flags=re.S | re.M)
    return [re.sub(rf"^{indent}", "", body, flags=re.M) for indent, body in blocks]


def shell_commands() -> list[str]:
    return [line.strip() for block in code_blocks("bash") for line in block.splitlines() if line.strip()]


def strip_comment(line: str) -> str:
    return re.sub(r"\s+#.*$", "", line).rstrip()


@pytest.fixture(scope="module")
def script():
    return _script()


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(EXAMPLE)


# --- the example loads as real (not synthetic) data, and is what the script generated ------------


def item_columns_of(table: str) -> list[str]:
    """Every item column of a contract table (all its item blocks)."""
    from veiligverder.contract import item_prefixes

    return [c for prefix in item_prefixes(table) for c in item_columns(prefix)]


def test_example_loads_as_real_data_equal_to_the_generated_tables(dataset, script):
    assert not (EXAMPLE / "SYNTHETIC").exists()
    assert dataset.meta.synthetic is False
    assert dataset.meta.files == {t: f"{t}.sav" for t in TABLES}
    assert dataset.families["group"].value_counts().to_dict() == {"VV": 7, "control": 7, "cohort": 6}
    expected = script.contract_tables()
    for table in TABLES:
        loaded = getattr(dataset, table)
        # item answers load as float32 (small whole codes, NaN for missing: the codebook's item type)
        items = [c for c in loaded.columns if loaded[c].dtype == "float32"]
        assert set(items) == set(item_columns_of(table))  # every item column, and only those
        pd.testing.assert_frame_equal(loaded, expected[table].astype({c: "float32" for c in items}))


def test_export_really_uses_its_own_names_codes_and_missing_values(dataset):
    raw, meta = pyreadstat.read_sav(EXAMPLE / "parents.sav", user_missing=True)
    assert "respnr" in raw and "parent_id" not in raw and "filter_$" in raw
    assert meta.variable_value_labels["geslacht"][1.0] == "vrouw"
    assert meta.missing_ranges["veiligheid"] == [{"lo": 99.0, "hi": 99.0}]
    assert meta.missing_ranges["inkomen"] == [{"lo": 99.0, "hi": 99.0}]  # 9 is not declared in SPSS
    cts = raw.filter(regex=r"^CTS\d+$")
    assert cts.shape[1] == 78 and (cts == 99).to_numpy().sum() > 0
    assert (raw["inkomen"] == 9).sum() > 0
    parents = dataset.parents
    assert parents["income"][raw["inkomen"] == 9].isna().all()
    assert parents["cts2s_01"][raw["CTS1"] == 99].isna().all()
    assert set(parents["sex"]) == {"female", "male"} and set(parents["wave"]) == {"T0", "T1", "T2"}
    assert parents["parent_id"].iloc[0] == "100101" and raw["respnr"].iloc[0] == 100101.0  # number -> text id


@pytest.mark.parametrize(("pair", "contract_item"), [
    # Straus, Hamby, Boney-McCoy & Sugarman 1996, CTS2 scoring key: form item (odd) -> scale; the
    # contract numbers the blocks negotiation 1-6, psych. minor 7-10, ..., injury minor 34-35 (codebook).
    (1, 1),    # form items 1/2: negotiation, first of its block
    (3, 7),    # items 5/6: psychological aggression, minor; first of that block
    (6, 34),   # items 11/12: injury, minor; first of that block
    (11, 20),  # items 21/22: physical assault, severe; first of that block
    (39, 6),   # items 77/78: negotiation, last of its block
])
def test_cts2_pairs_of_the_published_form_land_on_the_contract_items(dataset, pair, contract_item):
    raw, _ = pyreadstat.read_sav(EXAMPLE / "parents.sav")  # user-missing 99 read as missing
    own, partner = item_columns("cts2s", [contract_item])[0], item_columns("cts2p", [contract_item])[0]
    for column, form in ((own, 2 * pair - 1), (partner, 2 * pair)):
        assert dataset.parents[column].dtype == "float32"  # item answers: the loader's item type
        pd.testing.assert_series_equal(dataset.parents[column], raw[f"CTS{form}"].astype("float32"), check_names=False)


def test_cts2_order_is_a_permutation_that_keeps_every_block(script):
    order = script.cts2_form_order()
    assert sorted(order) == list(range(1, 40))
    assert [order[(form_item - 1) // 2] for form_item in (25, 29, 65, 69)] == [11, 12, 13, 14]  # psych. severe


def test_lists_not_asked_are_empty_and_skipped_ones_are_99():
    raw, _ = pyreadstat.read_sav(EXAMPLE / "children.sav", user_missing=True)
    over_12 = raw["leeftijd"] > 12
    assert over_12.any() and raw.loc[over_12, "TSCYC1"].isna().all()  # not asked: system-missing
    no_self = raw["zelf"] == 0
    assert no_self.any() and raw.loc[no_self, "KIDS1"].isna().all()
    asked = raw.loc[raw["zelf"] == 1, [f"KIDS{n}" for n in range(1, 28)]]
    assert asked.notna().all().all() and (asked == 99).to_numpy().any()  # skipped: 99


# --- the script: same seed, same bytes -----------------------------------------------------------


def test_rerunning_the_script_gives_identical_files(workspace):
    # the appendix's own `python data/examples/make_spss_export.py --out my_export`, run as a script by
    # the workspace fixture: the files as it wrote them, before the appendix's edit of mapping.yml
    work, outputs = workspace
    assert outputs["python data/examples/make_spss_export.py --out my_export"].returncode == 0
    for name in SHIPPED:
        assert (work / AS_WRITTEN / name).read_bytes() == (EXAMPLE / name).read_bytes(), name


def test_header_creation_time_is_fixed(script):
    """Guard for the test above: ReadStat writes the current time; the script overwrites it."""
    for table in TABLES:
        data = (EXAMPLE / f"{table}.sav").read_bytes()
        assert data[:4] == b"$FL2"
        assert data[script.HEADER_TIME_OFFSET:script.HEADER_TIME_OFFSET + 17] == b"01 Jan 2100:00:00"


def test_another_seed_gives_other_data(tmp_path, script):
    script.write_export(tmp_path, seed=1)
    assert (tmp_path / "parents.sav").read_bytes() != (EXAMPLE / "parents.sav").read_bytes()
    assert (tmp_path / "mapping.yml").read_bytes() == (EXAMPLE / "mapping.yml").read_bytes()


# --- the keys template -----------------------------------------------------------------------------


def test_keys_template_is_read_by_the_key_loader():
    in_force = keys_in_force(TEMPLATE)
    assert set(in_force) == set(keys_in_force(None)) == {"kid", "nosic", "nosik", "tscc", "tscyc", "tsi"}
    for name, info in in_force.items():
        assert Path(info["path"]) == TEMPLATE.resolve() / f"{name}.yml"
        assert info["illustrative"] is True


@pytest.mark.parametrize("name", ["kid", "nosic", "nosik", "tscc", "tscyc", "tsi"])
def test_keys_template_is_the_illustrative_key_with_instructions(name):
    text = (TEMPLATE / f"{name}.yml").read_text(encoding="utf-8")
    assert text.startswith(f"# TEMPLATE of a licensed scoring key: {name}.yml\n")
    assert "set to false only when every value below comes from the licensed material" in text
    assert yaml.safe_load(text) == yaml.safe_load((paths.ILLUSTRATIVE_KEYS_DIR / f"{name}.yml").read_text())


# --- the appendix: every command works on the shipped example --------------------------------------


#: Where the workspace keeps a copy of ``my_export`` as the script wrote it (before the edit).
AS_WRITTEN = "my_export_as_written"


def run_here(argv: list[str], work: Path) -> subprocess.CompletedProcess:
    """``veiligverder ...`` (``cli.main``) or ``python -c CODE`` run in this process, in ``work``:
    what they print and their exit code, as from a shell. These steps are about what the commands
    do and print, not about starting a process, which costs 1-2 s of imports each (the script
    ``make_spss_export.py`` and ``cp`` still run as processes; the end-to-end tests start the
    ``veiligverder`` command itself)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(work), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        if argv[0] == "veiligverder":
            code = cli.main(argv[1:])
        else:
            try:
                exec(compile(argv[2], "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102
                code = 0
            except Exception:  # noqa: BLE001 - as python -c: the traceback and exit code 1
                traceback.print_exc()
                code = 1
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A scratch folder laid out like the project root (``data`` linked), where the appendix's
    commands are run in order: all but ``veiligverder build`` and the reading of its output."""
    work = tmp_path_factory.mktemp("own_data")
    (work / "data").symlink_to(ROOT / "data", target_is_directory=True)
    outputs = {}
    for command in shell_commands():
        argv = shlex.split(command)
        if argv[0] == "veiligverder" and argv[1] == "build" or "_build_example" in command:
            continue
        if argv[0] == "veiligverder" and argv[-1] == "my_export":
            shutil.copytree(work / "my_export", work / AS_WRITTEN)  # for test_rerunning_the_script_...
            edited = work / "my_export" / "mapping.yml"  # the editor step of the appendix
            edited.write_text(edited.read_text().replace("respnr: parent_id", "resp_nr: parent_id"))
        if argv[0] == "veiligverder" or argv[:2] == ["python", "-c"]:
            outputs[command] = run_here(argv, work)
            continue
        proc = subprocess.run([sys.executable, *argv[1:]] if argv[0] == "python" else argv, cwd=work,
                              capture_output=True, text=True)
        outputs[command] = proc
    params_block = next(b for b in code_blocks("yaml") if b.startswith("# my_params.yml"))
    (work / "my_params.yml").write_text(params_block, encoding="utf-8")
    return work, outputs


def test_appendix_shows_each_step(workspace):
    _, outputs = workspace
    programs = [shlex.split(c)[:2] for c in shell_commands()]
    assert ["veiligverder", "validate"] in programs and ["veiligverder", "build"] in programs
    assert any(c.startswith("cp -r data/examples/keys_template ") for c in shell_commands())
    assert len(outputs) == len(shell_commands()) - 2  # all but the build and the reading of its results


def test_every_command_run_on_the_example_succeeds(workspace):
    _, outputs = workspace
    for command, proc in outputs.items():
        expected = 1 if command.endswith("validate my_export") else 0
        assert proc.returncode == expected, f"{command}\n{proc.stdout}\n{proc.stderr}"


def test_commands_print_what_the_appendix_says(workspace):
    work, outputs = workspace
    pyreadstat_run = next(p for c, p in outputs.items() if "read_sav" in c)
    assert pyreadstat_run.stdout.splitlines()[0] == "(89, 286)"
    assert "89 rows" in appendix_text() and "286 variables" in appendix_text()
    keys_run = next(p for c, p in outputs.items() if "keys_in_force" in c)
    assert keys_run.stdout.count("'illustrative': True") == 6 and str(work / "my_keys") in keys_run.stdout
    assert "change `respnr: parent_id` into `resp_nr: parent_id`" in appendix_text()  # the edit made above
    broken = next(p for c, p in outputs.items() if c.endswith("validate my_export"))
    for column, rule in (("resp_nr", "mapped column present"), ("respnr", "unmapped column"),
                         ("parent_id", "missing column")):
        assert f"column '{column}', rule '{rule}'" in broken.stdout


def test_fresh_copy_from_the_appendix_equals_the_shipped_example(workspace):
    work, _ = workspace
    for name in ("families.sav", "parents.sav", "children.sav"):
        assert (work / "my_export" / name).read_bytes() == (EXAMPLE / name).read_bytes()


def test_validate_prints_the_lines_shown_in_the_appendix(monkeypatch, capsys):
    from veiligverder.analysis.analysability import validate_cli as validate_command  # what `veiligverder validate` runs

    monkeypatch.chdir(ROOT)
    assert validate_command("data/examples/spss_export") == 0
    shown = next(b for b in code_blocks("text") if "valid (" in b)
    assert capsys.readouterr().out == shown
    assert validate_cli("data/examples/spss_export") == 0  # the data layer's report alone still works


def test_every_veiligverder_command_is_valid_for_the_cli(workspace, monkeypatch):
    work, _ = workspace
    monkeypatch.chdir(work)
    commands = [c for c in shell_commands() if c.startswith("veiligverder ")]
    assert commands
    for command in commands:
        args = _parser().parse_args(shlex.split(command)[1:])  # SystemExit (a failure) on a bad option
        if args.command == "build":
            assert validate(args.data).ok
            params = load_params(args.params)
            assert Path(params.keys_dir) == work / "my_keys"
            assert set(keys_in_force(params.keys_dir)) == set(keys_in_force(None))


def test_make_command_uses_the_makefile_variables():
    line = next(line for line in appendix_text().splitlines() if "make book DATA=" in line)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for variable in re.findall(r"\b([A-Z]+)=", line):
        assert f"$({variable})" in makefile, variable


def test_paths_named_in_the_appendix_exist():
    named = set(re.findall(r"data/examples/[\w./-]*\w", appendix_text()))
    assert {"data/examples/spss_export", "data/examples/keys_template"} <= named
    for path in named:
        assert (ROOT / path).exists(), path


def test_mapping_excerpt_is_taken_from_the_shipped_mapping():
    excerpt = next(b for b in code_blocks("yaml") if b.startswith("version: 1"))
    assert parse_mapping(excerpt.encode())[1] == []
    shipped = {strip_comment(line) for line in (EXAMPLE / "mapping.yml").read_text(encoding="utf-8").splitlines()}
    for line in excerpt.splitlines():
        if line.strip() and not line.strip().startswith("#"):
            assert strip_comment(line) in shipped, line


def test_parameter_table_matches_the_parameters():
    section = appendix_text().split("| Parameter | Default |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, flags=re.M)
    shown = {name: default.strip() for name, default in rows}
    defaults = {f.name: f.default for f in fields(Params)}
    assert set(shown) == set(defaults)
    for name, default in defaults.items():
        if name == "keys_dir":
            assert "illustrative" in shown[name]
        elif name == "scheduler":
            assert default is None and shown[name] == "none (local processes)"
        else:
            assert shown[name] == str(default).lower(), name


def test_number_of_vv_families_stated_in_the_appendix(dataset):
    stated = int(re.search(r"`n\.VV\.families` is (\d+)", appendix_text()).group(1))
    parents = dataset.parents
    at_baseline = parents.loc[parents["wave"] == "T0", "family_id"]
    vv = set(dataset.families.loc[dataset.families["group"] == "VV", "family_id"])
    assert stated == len(vv & set(at_baseline))

