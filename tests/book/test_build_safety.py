"""Builds that never mix or half-write: the lock on OUT, interrupts, publishing in one step.

Most tests run `veiligverder build` on small fake chapter notebooks (a driver points the pipeline at
them), so that a build takes seconds and an interrupt can be aimed at a chapter that is running;
one end-to-end test interrupts a real build.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from veiligverder import pipeline

from support.builds import MYST_HEADER
from support.datasets import write_contract_dataset

CLI = [sys.executable, "-m", "veiligverder.cli"]

# Runs the `veiligverder` command with the pipeline pointed at the fake notebooks in argv[1].
DRIVER = """
import sys
from pathlib import Path
from veiligverder import cli, paths, pipeline
paths.NOTEBOOKS_DIR = Path(sys.argv[1])
pipeline.chapters.CHAPTERS = tuple(pipeline.Chapter(p.stem) for p in sorted(paths.NOTEBOOKS_DIR.glob("*.md")))
sys.exit(cli.main(sys.argv[2:]))
"""

# A chapter that records its dataset and, when VV_TEST_SLEEP is set, marks that it runs and sleeps.
CHAPTER = MYST_HEADER + '''# {name}

```{{code-cell}} ipython3
:tags: [parameters, remove-cell]
data_dir = None
out_dir = None
follow_up_rule = "latest"
seed = 1
```

```{{code-cell}} ipython3
import os, time
from pathlib import Path
from veiligverder.report.results import Registry
r = Registry(out_dir, "{name}")
r.add("{name}.data_dir", data_dir)
r.add("{name}.seed", seed)
r.save()
if os.environ.get("VV_TEST_SLEEP"):
    Path(os.environ["VV_TEST_MARK"]).mkdir(parents=True, exist_ok=True)
    Path(os.environ["VV_TEST_MARK"], "{name}").touch()
    time.sleep(float(os.environ["VV_TEST_SLEEP"]))
```
'''


@pytest.fixture()
def fake(tmp_path):
    """Two fake chapters and two small datasets."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("alpha", "beta"):
        (notebooks / f"{name}.md").write_text(CHAPTER.format(name=name))
    small = {"VV": 3, "control": 3, "cohort": 3}
    first = write_contract_dataset(tmp_path / "first", families=small, seed=1)
    second = write_contract_dataset(tmp_path / "second", families=small, seed=2)
    return notebooks, first, second


def tagged_env(tag: str, **extra: str) -> dict[str, str]:
    """The environment of a build whose processes (kernels included) can be found by ``tag``."""
    return {**os.environ, "VV_TEST_TAG": tag, **extra}


def processes_tagged(tag: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("VV_TEST_TAG") == tag:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def kernel_running(tag: str) -> bool:
    """Whether a Jupyter kernel of the build tagged ``tag`` is running."""
    for proc in processes_tagged(tag):
        try:
            if "ipykernel" in " ".join(proc.cmdline()):
                return True
        except psutil.Error:
            continue
    return False


def kill_tagged(tag: str) -> None:
    for proc in processes_tagged(tag):
        try:
            proc.kill()
        except psutil.Error:
            pass


def fake_build(notebooks: Path, *args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", DRIVER, str(notebooks), "build", *args, "--no-book"],
                          capture_output=True, text=True, env=env, timeout=timeout)


def start_fake_build(notebooks: Path, *args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(notebooks), "build", *args, "--no-book"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the build ended early ({proc.returncode}):\n{proc.stdout.read()}\n{proc.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {timeout} s")
        time.sleep(0.2)


def injected(notebook: Path) -> dict:
    """The parameters papermill injected into an executed notebook."""
    return json.loads(notebook.read_text())["metadata"]["papermill"]["parameters"]


def assert_consistent_build(out: Path, data: Path, *, fragments: bool = True) -> None:
    """OUT holds one complete build of ``data``: results.json, every notebook (and every fragment)."""
    results = json.loads((out / "results.json").read_text())
    assert results["_meta"]["dataset_path"] == str(data)
    notebooks = sorted((out / "notebooks").glob("*.ipynb"))
    assert [p.stem for p in notebooks] == ["alpha", "beta"]
    for nb in notebooks:
        assert injected(nb)["data_dir"] == str(data)
        assert results[f"{nb.stem}.data_dir"] == str(data)
    if fragments:
        found = sorted(pipeline.published_fragments(out).glob("*.json"))
        assert [json.loads(f.read_text())[f"{f.stem}.data_dir"] for f in found] == [str(data)] * 2


def test_second_build_into_the_same_out_refuses_at_once(fake, tmp_path):
    notebooks, first, second = fake
    out, tag = tmp_path / "out", uuid.uuid4().hex
    env = tagged_env(tag, VV_TEST_SLEEP="60", VV_TEST_MARK=str(tmp_path / "mark"))
    running = start_fake_build(notebooks, "--data", str(first), "--out", str(out), env=env)
    try:
        wait_for(tmp_path / "mark" / "alpha", running)  # a chapter runs: the build holds the lock
        start = time.monotonic()
        proc = subprocess.run([*CLI, "build", "--data", str(second), "--out", str(out), "--no-book"],
                              capture_output=True, text=True, timeout=60)
        elapsed = time.monotonic() - start
        assert proc.returncode == 2, proc.stderr
        assert elapsed < 5
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "in use by another build" in lines[0] and f"pid {running.pid}" in lines[0]
        assert str(first) in lines[0]  # the running build's dataset
        assert not (out / "results.json").exists()
        # SIGTERM stops the running build like Ctrl-C
        os.killpg(running.pid, signal.SIGTERM)
        assert running.wait(timeout=10) == 130
    finally:
        kill_tagged(tag)
        if running.poll() is None:
            os.killpg(running.pid, signal.SIGKILL)
    assert "interrupted" in running.stderr.read()


def test_lock_names_the_holder_and_is_released(tmp_path, fake):
    _, first, _ = fake
    out = tmp_path / "out"
    out.mkdir()
    with pipeline.output_lock(out, first):
        proc = subprocess.run([*CLI, "build", "--data", str(first), "--out", str(out)], capture_output=True, text=True)
        assert proc.returncode == 2
        assert f"pid {os.getpid()}" in proc.stderr and str(first) in proc.stderr
        with pytest.raises(pipeline.OutputInUse):
            with pipeline.output_lock(out, first):
                pass
    with pipeline.output_lock(out, first):  # released on leaving
        pass


def test_interrupt_stops_everything_and_keeps_the_previous_build(fake, tmp_path):
    notebooks, first, second = fake
    out, tag = tmp_path / "out", uuid.uuid4().hex
    done = fake_build(notebooks, "--data", str(first), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert_consistent_build(out, first)
    before = (out / "results.json").read_bytes()

    mark = tmp_path / "mark"
    env = tagged_env(tag, VV_TEST_SLEEP="120", VV_TEST_MARK=str(mark))
    proc = start_fake_build(notebooks, "--data", str(second), "--out", str(out), "--jobs", "2", env=env)
    try:
        wait_for(mark / "alpha", proc)
        wait_for(mark / "beta", proc)
        assert kernel_running(tag)
        start = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        elapsed = time.monotonic() - start
        stderr = proc.stderr.read()
        assert proc.returncode == 130, stderr
        assert elapsed < 5, elapsed
        assert stderr.strip().splitlines() == [f"veiligverder build: interrupted; {out.resolve()} still holds the previous build"]
        time.sleep(0.5)
        assert processes_tagged(tag) == []  # no worker, no kernel left
    finally:
        kill_tagged(tag)
    assert (out / "results.json").read_bytes() == before
    assert_consistent_build(out, first)
    assert list((out / ".work" / "executing").iterdir()) == []

    again = fake_build(notebooks, "--data", str(second), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert_consistent_build(out, second)


def test_a_killed_build_leaves_no_stale_lock(fake, tmp_path):
    notebooks, first, second = fake
    out, tag = tmp_path / "out", uuid.uuid4().hex
    assert fake_build(notebooks, "--data", str(first), "--out", str(out)).returncode == 0
    mark = tmp_path / "mark"
    proc = start_fake_build(notebooks, "--data", str(second), "--out", str(out),
                            env=tagged_env(tag, VV_TEST_SLEEP="120", VV_TEST_MARK=str(mark)))
    try:
        wait_for(mark / "alpha", proc)
        os.killpg(proc.pid, signal.SIGKILL)  # no chance to clean up
        proc.wait(timeout=10)
    finally:
        kill_tagged(tag)
    # the published outputs are untouched; the fragments the published notebooks read are put
    # back by the next build's start (a killed build cannot do it itself)
    assert_consistent_build(out, first, fragments=False)
    with pipeline.output_lock(out, first):
        pipeline.recover(out)
    assert_consistent_build(out, first)
    # the next build succeeds; being --no-book, it also removes an HTML book of other notebooks
    (out / "html").mkdir()
    (out / "html" / "index.html").write_text("an older book")
    again = fake_build(notebooks, "--data", str(second), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "html/ removed" in again.stdout
    assert not (out / "html").exists()
    assert_consistent_build(out, second)


def test_results_list_the_suppressed_ids(fake, tmp_path):
    notebooks, first, _ = fake
    (notebooks / "gamma.md").write_text(CHAPTER.format(name="gamma").replace(
        "r.save()", 'r.withhold({"gamma.small": "primary: fewer than 5 units"})\nr.save()'))
    out = tmp_path / "out"
    assert fake_build(notebooks, "--data", str(first), "--out", str(out)).returncode == 0
    results = json.loads((out / "results.json").read_text())
    assert results["gamma.small"] is None
    assert results["_meta"]["suppressed"] == {"gamma.small": "primary: fewer than 5 units"}


# --- publishing: a publish cut short by a killed process is completed by the next build --------


def staged_build(out: Path, label: str, *, html: bool = True) -> None:
    """Write a fake complete build labelled ``label`` into OUT/.run (as a build stages it)."""
    run = out / pipeline.RUN
    (run / "notebooks").mkdir(parents=True)
    (run / "notebooks" / "a.ipynb").write_text(label)
    (run / "results.json").write_text(label)
    if html:
        (run / "html").mkdir()
        (run / "html" / "index.html").write_text(label)


def published(out: Path) -> dict[str, str | None]:
    files = {"notebooks": out / "notebooks" / "a.ipynb", "results.json": out / "results.json",
             "html": out / "html" / "index.html"}
    return {k: p.read_text() if p.exists() else None for k, p in files.items()}


@pytest.mark.parametrize("moved", [0, 1, 2, 3])
def test_a_cut_publish_is_completed_at_the_next_start(tmp_path, moved):
    out = tmp_path / "out"
    out.mkdir()
    staged_build(out, "old")
    pipeline.publish(out, {"notebooks": "new", "results.json": "new", "html": "new"})
    assert published(out) == {"notebooks": "old", "results.json": "old", "html": "old"}
    staged_build(out, "new")
    plan = {"notebooks": "new", "results.json": "new", "html": "new"}
    (out / pipeline.JOURNAL).write_text(json.dumps({"plan": plan}))
    # the process is killed after moving ``moved`` of the three entries
    pipeline._apply_publish(out, dict(list(plan.items())[:moved]) | {k: "keep" for k in list(plan)[moved:]})
    (out / pipeline.JOURNAL).write_text(json.dumps({"plan": plan}))
    pipeline.recover(out)
    assert published(out) == {"notebooks": "new", "results.json": "new", "html": "new"}
    assert not (out / pipeline.JOURNAL).exists() and not (out / pipeline.PREVIOUS).exists()


def test_publish_can_drop_and_keep(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    staged_build(out, "old")
    pipeline.publish(out, {"notebooks": "new", "results.json": "new", "html": "new"})
    staged_build(out, "new", html=False)
    pipeline.publish(out, {"notebooks": "new", "results.json": "drop", "html": "keep"})
    assert published(out) == {"notebooks": "new", "results.json": None, "html": "old"}


@pytest.mark.e2e
def test_interrupting_a_real_build_keeps_the_previous_build(tmp_path, other_build):
    """SIGINT to a real build over a complete earlier build of another dataset (a copy of the
    session's ``other_build``), a few seconds after its first chapter kernel started, so that
    chapters are executing. That the next build then succeeds is shown with the fake chapters
    above (test_interrupt_stops_everything_and_keeps_the_previous_build)."""
    import shutil

    earlier, built = other_build
    out, tag = tmp_path / "out", uuid.uuid4().hex
    shutil.copytree(built, out, symlinks=True)
    before = {p.name: p.read_bytes() for p in [out / "results.json", *(out / "notebooks").glob("*.ipynb")]}
    proc = subprocess.Popen([*CLI, "build", "--out", str(out), "--no-book"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=tagged_env(tag), start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not kernel_running(tag):
            assert proc.poll() is None, "the build ended before it could be interrupted"
            assert time.monotonic() < deadline, "no chapter kernel started within 120 s"
            time.sleep(0.2)
        time.sleep(3)  # the kernels run chapters now
        assert proc.poll() is None, "the build ended before it could be interrupted"
        start = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        elapsed = time.monotonic() - start
        stderr = proc.stderr.read()
        assert proc.returncode == 130 and elapsed < 5, (proc.returncode, elapsed, stderr)
        assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
        time.sleep(0.5)
        assert [p.cmdline() for p in processes_tagged(tag)] == []
    finally:
        kill_tagged(tag)
    after = {p.name: p.read_bytes() for p in [out / "results.json", *(out / "notebooks").glob("*.ipynb")]}
    assert after == before
    results = json.loads(before["results.json"])
    for name, data in before.items():
        if name.endswith(".ipynb"):
            assert json.loads(data)["metadata"]["papermill"]["parameters"]["data_dir"] == str(earlier)
    assert results["_meta"]["dataset_path"] == str(earlier)
    assert not (out / ".publish.json").exists()  # no half-done publish left for the next build


def test_bad_data_stop_the_workers_started_beside_stage_0(fake, tmp_path):
    """A build of the book's own chapters on a new dataset starts its workers, and their kernels
    with the chapters' imports, while stage 0 loads the data (``pipeline.execute.start_pool``).
    When the data break the contract, the build reports that (exit code 2, the validation report)
    and leaves no worker or kernel behind."""
    import shutil

    _, first, _ = fake
    bad = tmp_path / "bad"
    shutil.copytree(first, bad)
    families = bad / "families.csv"
    families.write_text(families.read_text().replace(",VV,", ",XX,", 1))
    out, tag = tmp_path / "out", uuid.uuid4().hex
    env = tagged_env(tag)
    try:
        proc = subprocess.run([*CLI, "build", "--data", str(bad), "--out", str(out), "--no-book"],
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "families.csv" in proc.stderr and "XX" in proc.stderr and "Traceback" not in proc.stderr
        time.sleep(0.5)
        assert [p.cmdline() for p in processes_tagged(tag)] == []  # no worker, no kernel left
    finally:
        kill_tagged(tag)
    assert not (out / "results.json").exists()
    assert (out / ".work" / "workers.log").exists()  # the workers had started
