"""Every chapter notebook runs as it is, as in JupyterLab: no injected parameters, its parameters
cell's defaults (the embedded synthetic twin, ``out_dir`` None), from a temporary working folder.

Nothing may be written into the repository (``git status`` is the same before and after). The
twin's study cache (``paths.STUDY_CACHE_DIR``) and the summarising chapters' standalone build
(``paths.STANDALONE_BUILD_DIR``) are reused across runs, so that a second run is quick.

All chapters run in two long-lived kernels whose namespace is emptied before each chapter, as the
pipeline's workers do (``pipeline.execute.RESET_CODE``): what is tested here is the notebook (its
parameters cell's defaults), not the kernel. That each chapter also runs in a fresh kernel, and
gives the published outputs there, is what nbval checks (``test_e2e``); a fresh kernel per chapter
here would add some fifteen kernel starts with their imports and test nothing more.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from veiligverder import paths

pytestmark = pytest.mark.book

#: The summarising chapters (they read stage-1 results); the first one starts the standalone build.
SUMMARISING = ("index", "ch6_conclusion", "appendix_scorecard", "appendix_provenance")


def git_status() -> str | None:
    if shutil.which("git") is None or not (paths.PROJECT_ROOT / ".git").exists():
        return None
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=paths.PROJECT_ROOT,
                          capture_output=True, text=True, check=True).stdout


def to_ipynb(source: Path, target: Path, *, data_dir: Path | None = None) -> Path:
    """The MyST chapter as a notebook, as jupytext opens it; ``data_dir`` set in its parameters cell."""
    import jupytext
    import nbformat

    nb = jupytext.read(source)
    if data_dir is not None:
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert cell.source.startswith("data_dir = None")
        cell.source = cell.source.replace("data_dir = None", f"data_dir = {str(data_dir)!r}", 1)
    nbformat.write(nb, target)
    return target


def run_notebook(notebook: Path, cwd: Path) -> subprocess.CompletedProcess:
    """papermill without parameters (so no injected cell), in its own kernel, working in ``cwd``."""
    out = notebook.with_suffix(".out.ipynb")
    return subprocess.run([sys.executable, "-m", "papermill", "--cwd", str(cwd), "-k", "python3",
                           "--log-level", "WARNING", str(notebook), str(out)], capture_output=True, text=True)


def run_in_kernels(notebooks: list[Path], cwd: Path, *, first: int = 1) -> dict[str, str]:
    """Execute each notebook as it is (no parameters injected) in one of two long-lived kernels
    started in ``cwd``, emptied before each notebook; the first ``first`` notebooks go to the first
    kernel before anything else. Writes ``<name>.out.ipynb``; returns {name: error} of the failures."""
    import queue
    import threading

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from veiligverder.pipeline.execute import _connect, _reset
    from veiligverder.pipeline.kernels import SocketKernelManager

    todo: queue.Queue = queue.Queue()
    for nb in notebooks[first:]:
        todo.put(nb)
    failed: dict[str, str] = {}

    def run(nb_path: Path, km, kc) -> None:
        nb = nbformat.read(nb_path, as_version=4)
        _reset(km, kc)
        client = NotebookClient(nb, km=km, timeout=None, resources={"metadata": {"path": str(cwd)}})
        client.kc = kc  # one client per kernel, as the pipeline's workers keep
        try:
            client.execute()
        except CellExecutionError as exc:
            failed[nb_path.stem] = f"{exc.ename}: {exc.evalue}"
        nbformat.write(nb, nb_path.with_suffix(".out.ipynb"))

    def worker(own: list[Path]) -> None:
        km = SocketKernelManager(kernel_name="python3")
        km.start_kernel(cwd=str(cwd))
        kc = None
        try:
            kc = _connect(km)
            for nb_path in own:
                run(nb_path, km, kc)
            while True:
                try:
                    nb_path = todo.get_nowait()
                except queue.Empty:
                    return
                run(nb_path, km, kc)
        finally:
            if kc is not None:
                kc.stop_channels()
            km.shutdown_kernel(now=True)

    threads = [threading.Thread(target=worker, args=(own,)) for own in (notebooks[:first], [])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failed


def streams(notebook: Path) -> str:
    nb = json.loads(notebook.with_suffix(".out.ipynb").read_text())
    return "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


def test_every_chapter_runs_as_it_is(tmp_path):
    from veiligverder.pipeline.build import resolve_dataset

    resolve_dataset(None)  # as `make lab` does: the twin is there (written when absent)
    before = git_status()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    names = sorted(p.stem for p in paths.NOTEBOOKS_DIR.glob("*.md"))
    assert set(SUMMARISING) <= set(names) and len(names) >= 15
    # the first summarising chapter builds the stage-1 chapters while the stage-1 chapters run on
    # their own beside it; the other summarising chapters then find that build in the cache
    order = [SUMMARISING[0], *(n for n in names if n not in SUMMARISING), *SUMMARISING[1:]]
    notebooks = {n: to_ipynb(paths.NOTEBOOKS_DIR / f"{n}.md", tmp_path / f"{n}.ipynb") for n in order}
    failed = run_in_kernels([notebooks[n] for n in order], cwd)
    assert not failed, f"chapters that fail when run as they are: {failed}"
    assert all(notebooks[n].with_suffix(".out.ipynb").exists() for n in order)
    assert list(cwd.iterdir()) == []  # nothing written where the notebook ran
    assert "out_dir is None" in streams(notebooks["index"])  # says where its stage-1 results come from
    assert "/" not in streams(notebooks["ch5_2_violence"])  # a stage-1 chapter prints no path
    if before is not None:
        assert git_status() == before, "running the chapters changed the repository"


def test_a_chapter_runs_on_the_dataset_set_in_its_parameters_cell(tmp_path):
    """A non-synthetic dataset set in the parameters cell: the chapter runs, writes nothing (no study
    cache entry, no fragment), and a summarising chapter without out_dir asks for it."""
    from support.builds import odd_dataset

    data = odd_dataset(tmp_path / "data")
    files = sorted(p.name for p in data.iterdir())
    cache_before = sorted(p.name for p in paths.STUDY_CACHE_DIR.iterdir()) if paths.STUDY_CACHE_DIR.exists() else []
    before = git_status()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    chapter = to_ipynb(paths.NOTEBOOKS_DIR / "ch5_2_violence.md", tmp_path / "ch5_2.ipynb", data_dir=data)
    summary = to_ipynb(paths.NOTEBOOKS_DIR / "index.md", tmp_path / "index.ipynb", data_dir=data)
    with ThreadPoolExecutor(max_workers=2) as pool:
        run, run_summary = pool.map(lambda nb: run_notebook(nb, cwd), [chapter, summary])
    assert run.returncode == 0, run.stderr[-2000:]
    assert run_summary.returncode != 0 and "set out_dir" in run_summary.stderr
    assert list(cwd.iterdir()) == []
    assert sorted(p.name for p in data.iterdir()) == files
    # real data are not cached: no entry under the dataset's own key, and every entry that appeared
    # meanwhile is of proven synthetic data (other tests, in other workers, may be caching the twin
    # or a copy of it with other settings at the same time)
    from veiligverder.analysis import store
    from veiligverder.analysis.study import resolve_data_dir
    from veiligverder.data import load_dataset
    from veiligverder.vocab import CUMULATION_THRESHOLD, DEFAULT_SEED

    def default_key(data_dir):  # the key of a chapter's default load_study call
        return store.study_key(data_dir, keys_dir=None, cumulation_threshold=CUMULATION_THRESHOLD,
                               rematch=False, seed=DEFAULT_SEED)

    own, twin = default_key(data), default_key(resolve_data_dir(None))
    assert own != twin
    cache_after = sorted(p.name for p in paths.STUDY_CACHE_DIR.iterdir()) if paths.STUDY_CACHE_DIR.exists() else []
    assert not any(name.startswith(own) for name in cache_after)
    def meta(name: str) -> dict:  # an entry (its study.json) or a meta sidecar, whole once they exist
        path = paths.STUDY_CACHE_DIR / name
        return json.loads((path / "study.json").read_text())["meta"] if path.is_dir() else json.loads(path.read_text())

    new = sorted(n for n in set(cache_after) - set(cache_before) if not n.startswith("."))  # not the temporary ones
    odd_hash = load_dataset(data).meta.content_hash
    metas = {name: meta(name) for name in new}
    assert all(m["synthetic"] is True and m["content_hash"] != odd_hash for m in metas.values()), metas
    if before is not None:
        assert git_status() == before
