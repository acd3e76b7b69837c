"""Pipeline robustness: a failing chapter is named with its cell and error, and leaves nothing
half-written that could pass for a result; the cache keys chapters on what they depend on."""

from __future__ import annotations

import json
import threading

import pytest

from veiligverder import paths, pipeline

from support.builds import MYST_HEADER
from support.datasets import write_contract_dataset

PARAMS_CELL = '''```{code-cell} ipython3
:tags: [parameters, remove-cell]
data_dir = None
out_dir = None
follow_up_rule = "latest"
seed = 1
```
'''

GOOD = MYST_HEADER + f"""# Good

{PARAMS_CELL}
```{{code-cell}} ipython3
from veiligverder.report.results import Registry
r = Registry(out_dir, "good")
r.add("good.answer", 42)
r.save()
```
"""

BAD = GOOD.replace("# Good", "# Bad").replace('"good"', '"bad"').replace("good.answer", "bad.answer").replace(
    "r.save()", "r.save()\nx = 1\n```\n\n```{code-cell} ipython3\n1 / 0")


@pytest.fixture()
def notebooks(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "good.md").write_text(GOOD)
    (folder / "bad.md").write_text(BAD)
    monkeypatch.setattr(paths, "NOTEBOOKS_DIR", folder)
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_contract_dataset(tmp_path_factory.mktemp("data") / "d", families={"VV": 3, "control": 3, "cohort": 3})


def test_failed_chapter_is_named_and_leaves_nothing_half_written(notebooks, data, tmp_path):
    out = tmp_path / "out"
    chapters = (pipeline.Chapter("good"), pipeline.Chapter("bad"))
    with pytest.raises(pipeline.BuildError) as err:
        pipeline.build(data_dir=data, out_dir=out, book=False, chapters=chapters, jobs=2, log=lambda m: None)
    message = str(err.value)
    assert "chapter 'bad' failed in cell" in message and "ZeroDivisionError" in message
    assert "good" not in message
    assert (out / "notebooks" / "good.ipynb").exists()
    assert not (out / "notebooks" / "bad.ipynb").exists()
    assert not (out / ".work" / "fragments" / "bad.json").exists()  # its saved result does not survive
    assert not (out / "results.json").exists()  # no results file for a failed build
    assert list((out / ".work" / "executing").iterdir()) == []


def test_a_chapter_that_kills_its_kernel_fails_alone_and_the_worker_goes_on(notebooks, data, tmp_path):
    """One worker runs every chapter in one kernel through one client (pipeline.execute._client).
    A chapter that kills the kernel is named; the worker's next chapters get a new kernel and a new
    client, and share them (the same kernel process)."""
    out = tmp_path / "out"
    for name in ("one", "two"):
        (notebooks / f"{name}.md").write_text(GOOD.replace('"good"', f'"{name}"').replace(
            'r.add("good.answer", 42)', f'import os\nr.add("{name}.kernel_pid", os.getpid())'))
    (notebooks / "crash.md").write_text(GOOD.replace('"good"', '"crash"').replace("good.answer", "crash.answer")
                                        .replace("r.save()", "r.save()\nimport os\nos._exit(1)"))
    # one worker; the longest estimate first: the crash, then one and two
    chapters = (pipeline.Chapter("crash", seconds=9), pipeline.Chapter("one", seconds=2),
                pipeline.Chapter("two", seconds=1))
    # in a daemon thread, so that a build that hangs on the dead kernel fails the test, not CI
    raised: list[BaseException] = []

    def run() -> None:
        try:
            pipeline.build(data_dir=data, out_dir=out, book=False, chapters=chapters, jobs=1, log=lambda m: None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the build hangs after a chapter killed its kernel"
    assert len(raised) == 1 and isinstance(raised[0], pipeline.BuildError), raised
    assert "chapter 'crash': the kernel died" in str(raised[0])
    assert "'one'" not in str(raised[0]) and "'two'" not in str(raised[0])
    assert not (out / "notebooks" / "crash.ipynb").exists()
    assert not (out / ".run" / ".work" / "fragments" / "crash.json").exists()  # saved before the crash, withdrawn
    cached = out / ".cache"  # the chapters that ran are cached with their results
    pids = [json.loads((cached / f"{n}.json").read_text())[f"{n}.kernel_pid"] for n in ("one", "two")]
    assert pids[0] == pids[1]


def test_an_earlier_success_is_withdrawn_when_the_chapter_later_fails(notebooks, data, tmp_path):
    out = tmp_path / "out"
    (notebooks / "bad.md").write_text(GOOD.replace('"good"', '"bad"').replace("good.answer", "bad.answer"))
    chapters = (pipeline.Chapter("bad"),)
    pipeline.build(data_dir=data, out_dir=out, book=False, chapters=chapters, log=lambda m: None)
    assert json.loads((out / "results.json").read_text())["bad.answer"] == 42
    (notebooks / "bad.md").write_text(BAD)
    with pytest.raises(pipeline.BuildError):
        pipeline.build(data_dir=data, out_dir=out, book=False, chapters=chapters, log=lambda m: None)
    assert not (out / "notebooks" / "bad.ipynb").exists()
    assert not (out / ".work" / "fragments" / "bad.json").exists()


def test_cache_key_follows_parameters_data_and_notebook(notebooks, data, tmp_path):
    out = tmp_path / "out"
    chapters = (pipeline.Chapter("good"),)
    logs: list[str] = []
    pipeline.build(data_dir=data, out_dir=out, book=False, chapters=chapters, log=logs.append)
    pipeline.build(data_dir=data, out_dir=out, book=False, chapters=chapters, log=logs.append)
    assert any("good: executed" in m for m in logs[:3]) and any("good: unchanged" in m for m in logs[3:])
    logs.clear()
    from veiligverder.params import Params

    pipeline.build(data_dir=data, out_dir=out, book=False, chapters=chapters, params=Params(seed=2), log=logs.append)
    assert any("good: executed" in m for m in logs)  # a parameter changed
    logs.clear()
    (notebooks / "good.md").write_text(GOOD.replace("42", "43"))
    pipeline.build(data_dir=data, out_dir=out, book=False, chapters=chapters, params=Params(seed=2), log=logs.append)
    assert any("good: executed" in m for m in logs)  # the notebook changed
    assert json.loads((out / "results.json").read_text())["good.answer"] == 43


def test_a_style_sheet_change_alone_reaches_the_html(default_build, tmp_path):
    """Sphinx skips writing (and copying _static) when no page is out of date; the build must still
    publish a changed style sheet. A copy of the project (VEILIGVERDER_ROOT) with one comment line
    added to the CSS, rebuilt into the session's build folder (the same parameters, so every chapter
    comes from the cache): the new CSS in html/_static, and no stale page left from before."""
    import os
    import shutil
    import subprocess
    import sys

    root = tmp_path / "project"
    for name in ("book", "notebooks"):
        shutil.copytree(paths.PROJECT_ROOT / name, root / name)
    shutil.copy(paths.BOOK_CONFIG, root / "_config.yml")
    for name in ("reference", "qualitative"):
        shutil.copytree(paths.DATA_DIR / name, root / "data" / name)
    out = default_build
    stale = out / ".jb" / "_build" / "html" / "genindex.html"
    stale.write_text("an index page of an older build")
    css = root / "book" / "_static" / "compendium.css"
    css.write_text(css.read_text() + "\n/* added by test_a_style_sheet_change_alone_reaches_the_html */\n")
    proc = subprocess.run([sys.executable, "-m", "veiligverder.cli", "build", "--data", str(paths.SYNTHETIC_DATA_DIR),
                           "--out", str(out)], capture_output=True, text=True,
                          env={**os.environ, "VEILIGVERDER_ROOT": str(root)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "executed in" not in proc.stdout and proc.stdout.count("taken from the cache") == len(pipeline.CHAPTERS)
    assert "added by test_a_style_sheet" in (out / "html" / "_static" / "compendium.css").read_text()
    assert not (out / "html" / "genindex.html").exists()
