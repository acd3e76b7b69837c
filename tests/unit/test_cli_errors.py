"""Messages, not tracebacks: every user error is one message naming the file or key and the fix,
exit code 2, before any work (no data loaded, no chapter run: checked from what the command did,
not by a clock); ``--debug`` adds the traceback; anything unexpected is an 'internal error'."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from veiligverder import cli
from veiligverder.data import validate
from veiligverder.data.problems import MAX_PER_RULE, Problem, ValidationReport
from veiligverder.params import MAX_YAML_NODES, ParameterError, load_params, load_yaml

from support.datasets import write_contract_dataset

CLI = [sys.executable, "-m", "veiligverder.cli"]
SMALL = {"VV": 3, "control": 3, "cohort": 3}


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A 'billion laughs' YAML document: ``width ** levels`` values from a few hundred bytes."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    lines.append(f"seed: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def run(*args: str, cwd: Path | None = None) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300)
    return proc, time.monotonic() - start


@pytest.fixture
def cli_main(capfd):
    """Run the command in this process (``veiligverder.cli.main``) and return what :func:`run` returns.

    For the tests of a message and an exit code, not of the process: a subprocess pays 1-2 s of
    imports per call. Every command keeps at least one test through :func:`run` (build:
    test_out_that_is_a_file and test_debug_shows_the_traceback; validate: test_validate_a_missing_folder;
    synth: test_synth_errors). Output is captured at the file descriptors, as from a subprocess."""

    def main(*args: str) -> tuple[subprocess.CompletedProcess, None]:
        capfd.readouterr()  # only what this command writes
        try:
            code = cli.main(list(args))
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        out, err = capfd.readouterr()
        return subprocess.CompletedProcess([*CLI, *args], code, out, err), None

    return main


def copy_of(data: Path, folder: Path) -> Path:
    """A copy of the module's dataset (the same as ``write_contract_dataset(folder, families=SMALL)``,
    without generating and writing it again) for a test to add its mapping.yml to."""
    return Path(shutil.copytree(data, folder))


def assert_no_work(proc: subprocess.CompletedProcess) -> None:
    """The command stopped before any work: it loaded no data (stage 0) and ran no chapter."""
    said = proc.stdout + proc.stderr
    assert "stage 0" not in said and "executed in" not in said and "taken from the cache" not in said, said


def assert_message(proc: subprocess.CompletedProcess, *words: str, code: int = 2) -> str:
    """One line on stderr, no traceback, the given exit code; returns the line."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_contract_dataset(tmp_path_factory.mktemp("data") / "d", families=SMALL)


# --- paths ------------------------------------------------------------------------------------


def test_out_that_is_a_file(tmp_path, data):
    (tmp_path / "f").write_text("x")
    proc, _ = run("build", "--data", str(data), "--out", str(tmp_path / "f"), "--no-book")
    assert_message(proc, str(tmp_path / "f"), "is a file")
    assert_no_work(proc)
    assert (tmp_path / "f").read_text() == "x"


def test_out_under_a_file(tmp_path, data, cli_main):
    (tmp_path / "f").write_text("x")
    proc, _ = cli_main("build", "--data", str(data), "--out", str(tmp_path / "f" / "out"), "--no-book")
    assert_message(proc, str(tmp_path / "f"), "is a file")
    assert_no_work(proc)


def test_out_that_cannot_be_written(tmp_path, data, cli_main):
    if os.geteuid() == 0:  # root writes anywhere on a writable file system; /sys refuses new folders
        target = Path("/sys/veiligverder-test-out")
        if os.access("/sys", os.W_OK) and not target.exists():
            try:
                target.mkdir()
            except OSError:
                pass
            else:
                target.rmdir()
                pytest.skip("no read-only place to test with")
    else:
        locked = tmp_path / "ro"
        locked.mkdir()
        locked.chmod(0o555)
        target = locked / "out"
    proc, _ = cli_main("build", "--data", str(data), "--out", str(target), "--no-book")
    assert_message(proc, str(target), "cannot")
    assert_no_work(proc)


def test_out_that_holds_other_files_named_like_outputs(tmp_path, data, cli_main):
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "notebooks" / "ch1.md").write_text("my chapter")
    proc, _ = cli_main("build", "--data", str(data), "--out", str(project), "--no-book")
    assert_message(proc, str(project), "notebooks", "no build wrote")
    assert sorted(p.name for p in project.rglob("*")) == ["ch1.md", "notebooks"]
    proc, _ = cli_main("build", "--data", str(data), "--out", str(data), "--no-book")
    assert_message(proc, "holds the dataset")
    proc, _ = cli_main("build", "--data", str(data), "--out", str(data / "out"), "--no-book")
    assert_message(proc, "inside the dataset folder")
    assert not (data / "out").exists()


def test_data_folder_missing_or_a_file(tmp_path, cli_main):
    proc, _ = cli_main("build", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--no-book")
    assert_message(proc, "--data", str(tmp_path / "nope"), "no such dataset folder")
    (tmp_path / "file").write_text("x")
    proc, _ = cli_main("build", "--data", str(tmp_path / "file"), "--out", str(tmp_path / "o"), "--no-book")
    assert_message(proc, "--data", "is a file")


def test_validate_a_missing_folder(tmp_path):
    proc, _ = run("validate", str(tmp_path / "nope"))
    assert_message(proc, str(tmp_path / "nope"), "no such folder")
    assert_no_work(proc)


def test_synth_errors(tmp_path, cli_main):
    (tmp_path / "f").write_text("x")
    proc, _ = run("synth", "--out", str(tmp_path / "f" / "twin"))  # the command itself, in its own process
    assert_message(proc, str(tmp_path / "f"), "is a file")
    proc, _ = cli_main("synth", "--out", str(tmp_path / "f"))  # an existing file is not replaced
    assert_message(proc, str(tmp_path / "f"), "refusing to replace")
    proc, _ = cli_main("synth", "--out", str(tmp_path / "twin"), "--seed", "-1")
    assert_message(proc, "--seed -1", "0..4294967295")
    assert_no_work(proc)
    assert not (tmp_path / "twin").exists()


# --- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, words",
    [
        ("keys_dir: 12\n", ["keys_dir=12", "path of a folder"]),
        ("keys_dir: /no/such/folder\n", ["keys_dir='/no/such/folder'", "is not a folder"]),
        ("seed: -1\n", ["seed=-1", "0..4294967295"]),
        (f"seed: {2**32}\n", [f"seed={2**32}", "0..4294967295"]),
        ("seed: 1.5\n", ["seed=1.5", "integer"]),
        ("follow_up_rule: 2\n", ["follow_up_rule=2", "latest, T1, T2"]),
        ("follow_up_rule: [T1]\n", ["follow_up_rule=['T1']", "latest, T1, T2"]),
        ("rematch: 1\n", ["rematch=1", "true or false"]),
        ("rematch: 'yes'\n", ["rematch='yes'", "true or false"]),
        ("power_replications: true\n", ["power_replications=True", "integer"]),
        ("power_replications: 5\n", ["power_replications=5", "at least 10"]),
        ("cumulation_threshold: 8\n", ["cumulation_threshold=8", "1..7"]),
        ("disclosure_threshold: 0\n", ["disclosure_threshold=0", "at least 1"]),
        ("folow_up_rule: T1\n", ["unknown parameter(s) ['folow_up_rule']"]),
        ("1: 2\n", ["unknown parameter(s) [1]"]),
        ("- seed\n", ["mapping of name: value"]),
        ("seed: [1\n", ["not a readable YAML"]),
        (alias_bomb(), ["aliases", f"{MAX_YAML_NODES:,}"]),
    ],
)
def test_parameter_errors_are_one_line_and_quick(tmp_path, text, words, cli_main):
    params = tmp_path / "p.yml"
    params.write_text(text)
    proc, _ = cli_main("build", "--out", str(tmp_path / "o"), "--params", str(params), "--no-book")
    assert_message(proc, str(params), *words)
    assert_no_work(proc)
    assert not (tmp_path / "o").exists()  # stopped before touching the output folder


def test_unreadable_parameters_files(tmp_path, cli_main):
    proc, _ = cli_main("build", "--out", str(tmp_path / "o"), "--params", str(tmp_path / "none.yml"))
    assert_message(proc, "none.yml", "cannot read the parameters file")
    proc, _ = cli_main("build", "--out", str(tmp_path / "o"), "--params", str(tmp_path))
    assert_message(proc, "cannot read the parameters file")
    binary = tmp_path / "b.yml"
    binary.write_bytes(b"seed: \xff\xfe\x00\n")
    proc, _ = cli_main("build", "--out", str(tmp_path / "o"), "--params", str(binary))
    assert_message(proc, "b.yml", "not a readable YAML")


def test_load_params_names_the_file(tmp_path):
    params = tmp_path / "p.yml"
    params.write_text("seed: -3\n")
    with pytest.raises(ParameterError, match=r"p\.yml: seed=-3 must lie in 0\.\.4294967295"):
        load_params(params)


# --- YAML and the mapping ---------------------------------------------------------------------


def test_alias_bomb_is_refused_quickly():
    start = time.monotonic()
    with pytest.raises(Exception, match="aliases"):
        load_yaml(alias_bomb())
    assert time.monotonic() - start < 1
    assert load_yaml("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}  # modest aliases are fine
    with pytest.raises(Exception, match="contains it"):
        load_yaml("a: &x [1, *x]\n")
    with pytest.raises(Exception, match="nested too deeply"):
        load_yaml("[" * 5000 + "]" * 5000)


def test_alias_bomb_in_mapping_gives_a_small_report(tmp_path, data):
    folder = copy_of(data, tmp_path / "d")
    (folder / "mapping.yml").write_text(alias_bomb().replace("seed:", "version:"))
    start = time.monotonic()
    report = validate(folder)
    assert time.monotonic() - start < 10
    assert not report.ok and len(report.text()) < 2000
    assert "mapping.yml" in report.text() and "aliases" in report.text()


@pytest.mark.parametrize(
    "source, words",
    [
        ("TSI{n.real.x}", "{n.real.x}"),
        ("TSI{0}", "{0}"),
        ("TSI{x}", "{x}"),
        ("TSI{n[0]}", "{n[0]}"),
        ("TSI{n!r}", "{n!r}"),
        ("TSI{n:{w}}", "{n:{w}}"),
        ("TSI{n:s}", "not an integer format"),
        ("TSI{n", "not a valid pattern"),
        ("TSI", "with {n}"),
    ],
)
def test_mapping_source_with_format_fields_is_a_problem(tmp_path, source, words, data):
    folder = copy_of(data, tmp_path / "d")
    (folder / "mapping.yml").write_text(f'tables:\n  parents:\n    items:\n      - {{source: "{source}", targets: tsi}}\n')
    text = validate(folder).text()
    assert "rule 'items source'" in text and words in text, text


def test_mapping_source_error_in_build_is_a_message(tmp_path, data, cli_main):
    folder = copy_of(data, tmp_path / "d")
    (folder / "mapping.yml").write_text('tables:\n  parents:\n    items:\n      - {source: "TSI{n.real.x}", targets: tsi}\n')
    proc, _ = cli_main("build", "--data", str(folder), "--out", str(tmp_path / "o"), "--no-book")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "mapping.yml" in proc.stderr and "{n.real.x}" in proc.stderr
    proc, _ = cli_main("validate", str(folder))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout


def test_zero_padded_sources_still_work():
    from veiligverder.data.mapping import source_pattern_problem

    assert source_pattern_problem("tsi_{n:03d}") is None
    assert source_pattern_problem("T{{x}}{n}") is None


def test_report_shows_at_most_twenty_problems_per_rule(tmp_path):
    problems = [Problem(file="parents.csv", column=f"c{i}", rule="range 1..4", examples=(f"row {i}",))
                for i in range(50)]
    problems += [Problem(file="mapping.yml", column="x", rule="unknown key", examples=("x" * 10_000,))]
    text = ValidationReport(tmp_path, problems).text()
    assert text.splitlines()[0].endswith("51 problems found; the input files were not changed")
    assert text.count("rule 'range 1..4'") == MAX_PER_RULE + 1  # 20 shown, one line counting the rest
    assert "- ... and 30 more problems of rule 'range 1..4'" in text
    assert "row 19" in text and "row 20" not in text
    assert "rule 'unknown key'" in text and len(text) < 5000


# --- --debug and internal errors --------------------------------------------------------------


def test_debug_shows_the_traceback(tmp_path, cli_main):
    (tmp_path / "f").write_text("x")
    # the option before the command in the command's own process, after it in this one
    for runner, args in ((run, ["--debug", "build"]), (cli_main, ["build", "--debug"])):
        proc, _ = runner(*args, "--out", str(tmp_path / "f"), "--no-book")
        assert proc.returncode == 2
        assert "Traceback" in proc.stderr and proc.stderr.strip().splitlines()[-1].startswith("veiligverder build:")


def test_unexpected_errors_are_internal_errors(monkeypatch, capsys, tmp_path):
    from veiligverder import pipeline

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "build", broken)
    assert cli.main(["build", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err == "veiligverder: internal error: RuntimeError: boom (run with --debug for the traceback)\n"
    assert cli.main(["--debug", "build", "--out", str(tmp_path / "o")]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_failed_chapter_keeps_exit_code_1(monkeypatch, capsys, tmp_path):
    from veiligverder import pipeline

    def failing(**kwargs):
        raise pipeline.BuildError("the build failed:\n  - chapter 'x' failed in cell 3")

    monkeypatch.setattr(pipeline, "build", failing)
    assert cli.main(["build", "--out", str(tmp_path / "o")]) == 1
    assert "chapter 'x' failed" in capsys.readouterr().err
