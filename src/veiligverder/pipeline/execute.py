"""Executing the chapter notebooks: worker processes with one long-lived kernel each, stage by stage,
with a chapter cache. Parameters are injected as papermill does; cells run with nbclient."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from veiligverder import paths
from veiligverder.report.results import FRAGMENTS, load_fragments, write_json_atomic
from veiligverder.pipeline.errors import BuildError, ChapterRun
from veiligverder.pipeline.chapters import Chapter, KERNEL, chapter_parameters
from veiligverder.pipeline.folder import CACHE, RUN, WORK, _signals_held, _worker_init, stop_children


def sha256_bytes(*chunks: bytes) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write bytes only when they differ (keeps mtimes, so Sphinx rebuilds only what changed)."""
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


#: Run in a worker's kernel before each chapter: the chapter starts from an empty namespace and no
#: open figures, while the imported modules stay loaded (the point of keeping the kernel).
#: ``%reset -f`` ends with a full garbage collection, which frees the last chapter's objects. What
#: survives it (modules, their caches: some 200,000 objects once statsmodels and matplotlib are in)
#: is then frozen (:func:`gc.freeze`), so that the next reset's collection, and the collector's
#: own full passes during the next chapter, scan only what that chapter made. Without the freeze
#: the two full collections of the reset took 0.3 s per chapter: about 4 s of a 20 s build.
RESET_CODE = "%reset -f\nimport gc as _gc, matplotlib.pyplot as _plt\n_plt.close('all')\n_gc.freeze()\ndel _gc, _plt\n"
_KERNEL: Any = None  # this worker process's kernel manager (one kernel per worker, for every chapter it runs)
_CLIENT: Any = None  # and its client, connected and ready, used for every chapter as well


def _shutdown_kernel() -> None:
    global _KERNEL
    _drop_client()
    if _KERNEL is not None:
        try:
            _KERNEL.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001 - the worker is exiting; stop_children kills what is left
            pass
        _KERNEL = None


def _drop_client() -> None:
    global _CLIENT
    if _CLIENT is not None:
        try:
            _CLIENT.stop_channels()
        except Exception:  # noqa: BLE001 - a client of a dead kernel; nothing left to stop
            pass
        _CLIENT = None


def _connect(km: Any) -> Any:
    """A new client of ``km``'s kernel, connected and ready.

    An asynchronous client (``AsyncKernelClient``), driven with jupyter_core's ``run_sync`` as
    nbclient drives it: with the blocking client that ``km.client()`` makes, nbclient waits for a
    cell's output in a blocking read that keeps its event loop from checking whether the kernel is
    alive, and a chapter that kills its kernel (out of memory, say) would hang the build for ever.
    """
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_core.utils import run_sync

    kc = AsyncKernelClient(**km.get_connection_info(session=True), connection_file=km.connection_file, parent=km)
    kc.start_channels()
    try:
        run_sync(kc.wait_for_ready)(timeout=120)
    except BaseException:
        kc.stop_channels()
        raise
    kc.allow_stdin = False
    return kc


def _client(km: Any) -> Any:
    """This worker's client of ``km``'s kernel (:func:`_connect`), kept for the chapters that follow.

    Connecting a client waits for the kernel's first reply on two channels (``wait_for_ready``;
    about 0.2 s even when the kernel is idle), which nbclient did for every notebook and the reset
    once more: some 0.4 s per chapter, in a build of about 20 s. Replies are matched to their
    request by message id (jupyter_client and nbclient both do), so one client serves every
    chapter; it is replaced when the kernel is.
    """
    global _CLIENT
    if _CLIENT is None or _CLIENT.parent is not km:
        _drop_client()
        _CLIENT = _connect(km)
    return _CLIENT


def _kernel(cwd: str) -> Any:
    """This worker's kernel: started on first use in ``cwd`` and kept for the chapters that follow,
    so that each chapter skips the kernel start and the imports (a few seconds each)."""
    global _KERNEL
    if _KERNEL is not None and _KERNEL.is_alive():
        return _KERNEL
    from multiprocessing import util

    from veiligverder.pipeline.kernels import SocketKernelManager

    _KERNEL = SocketKernelManager(kernel_name=KERNEL)  # Unix sockets: no race for TCP ports
    _KERNEL.start_kernel(cwd=cwd)
    util.Finalize(None, _shutdown_kernel, exitpriority=10)  # pool workers skip atexit; this runs
    return _KERNEL


def _warm_worker(log: str, cwd: str | None, code: str | None) -> None:
    """Pool initializer: :func:`~veiligverder.pipeline.folder._worker_init`, then (with ``code``)
    start this worker's kernel in ``cwd`` and run ``code`` in it. A failure here is only logged:
    the worker's first chapter then starts a kernel again and reports what goes wrong."""
    _worker_init(log)
    if code is None or cwd is None:
        return
    try:
        from jupyter_core.utils import run_sync

        kc = _client(_kernel(cwd))
        run_sync(kc.execute_interactive)(code, timeout=120, store_history=False, output_hook=lambda msg: None)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        print(f"veiligverder: the kernel warm-up failed ({exc!r}); the first chapter starts the kernel", flush=True)
        _shutdown_kernel()


def start_pool(workers: int, tmp_dir: Path, *, warm: str | None = None) -> ProcessPoolExecutor:
    """The chapter workers: ``workers`` spawned processes, each with its kernel started in
    ``tmp_dir`` (the chapters' working folder) on first use.

    With ``warm`` (code: the chapters' imports, :func:`~veiligverder.pipeline.chapters.warm_code`;
    for the book pandas, matplotlib, seaborn, scipy and the package, about 1.5 s), every worker is
    started now and starts its kernel and runs ``warm`` in it at once, so that this happens while
    the caller goes on (the build's stage 0). The pool spawns a worker for each task queued while
    none is idle (for start methods other than fork), so one no-op task per worker starts them all.
    """
    tmp_dir.mkdir(parents=True, exist_ok=True)
    # spawned, not forked: by now this process runs threads (Arrow's CSV and Parquet pools, the
    # study cache), and a child forked while one of them holds a lock can hang for ever
    _main_spec_for_spawn()
    pool = ProcessPoolExecutor(max_workers=max(1, workers), mp_context=_SPAWN, initializer=_warm_worker,
                               initargs=(str(tmp_dir.parent / "workers.log"), str(tmp_dir), warm))
    if warm is not None:
        with _signals_held():  # workers start with signals held, then ignore SIGINT (see _worker_init)
            for _ in range(max(1, workers)):
                pool.submit(int)
    return pool


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop the workers and their kernels at once (a failed or interrupted build)."""
    stop_children(list(pool._processes or {}))
    pool.shutdown(wait=False, cancel_futures=True)


def _reset(km: Any, kc: Any = None) -> None:
    """Empty the kernel's namespace (:data:`RESET_CODE`) before the next chapter, through ``kc``
    (a client from :func:`_connect`) or, without one, a client connected for this alone."""
    from jupyter_core.utils import run_sync

    own = kc is None
    if own:
        kc = _connect(km)
    try:
        run_sync(kc.execute_interactive)(RESET_CODE, timeout=120, store_history=False, output_hook=lambda msg: None)
    finally:
        if own:
            kc.stop_channels()


def _parameterised(source: str, parameters: dict[str, Any]) -> Any:
    """The chapter's MyST text as a notebook with papermill's injected-parameters cell, tagged
    ``remove-cell``: the book shows no paths or settings as code (the provenance appendix lists them)."""
    import jupytext
    from papermill.parameterize import parameterize_notebook

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    nb.metadata["papermill"] = {}
    for cell in nb.cells:  # as papermill's loader does: every cell has a tags list
        cell.metadata.setdefault("tags", [])
    nb = parameterize_notebook(nb, parameters, kernel_name=KERNEL)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    return nb


def _renumber(nb: Any) -> None:
    """Execution counts from 1 in each notebook, as in a fresh kernel (the kernel is shared, and the
    published notebooks must not depend on which chapters ran before in the same worker)."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.get("execution_count") is None:
            continue
        count += 1
        cell.execution_count = count
        for output in cell.get("outputs", []):
            if "execution_count" in output:
                output["execution_count"] = count


def _failed_cell(nb: Any) -> tuple[int, int | None]:
    """Index and execution count of the first cell with an error output (-1, None if none)."""
    for index, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return index, cell.get("execution_count")
    return -1, None


def _execute(name: str, source: str, executed: str, parameters: dict[str, Any], cwd: str) -> float:
    """Worker: parameterise one chapter and execute it in this worker's kernel; returns seconds.

    The kernel is reset between chapters (:data:`RESET_CODE`); a chapter that kills it gets a
    new one for the next. nbval later re-runs every published notebook in a fresh kernel and
    compares the outputs, so a chapter that depended on its predecessor would be caught there.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    global _KERNEL
    start = time.perf_counter()
    nb = _parameterised(source, parameters)
    km = _kernel(cwd)
    kc = _client(km)
    _reset(km, kc)
    client = NotebookClient(nb, km=km, kernel_name=KERNEL, timeout=None, resources={"metadata": {"path": cwd}})
    client.kc = kc  # the worker's ready client: nbclient then neither connects nor waits again
    try:
        client.execute()
    except CellExecutionError as exc:
        index, count = _failed_cell(nb)
        raise BuildError(f"chapter {name!r} failed in cell {count} (cell index {index}): "
                         f"{exc.ename}: {exc.evalue}") from None
    except DeadKernelError:
        _drop_client()
        _KERNEL = None
        raise BuildError(f"chapter {name!r}: the kernel died (out of memory?); see the workers' log") from None
    _renumber(nb)
    nbformat.write(nb, executed)
    return time.perf_counter() - start


_SPAWN = multiprocessing.get_context("spawn")

#: Parameters that change where work runs, never a result: not part of a chapter's cache key.
PLACEMENT = ("scheduler", "study_cache")


def _chapter_key(chapter: Chapter, params: dict[str, Any], dataset_hash: str, source_hash: str, upstream: str) -> str:
    blob = json.dumps(
        {
            "notebook": chapter.source.read_text(encoding="utf-8"),
            "params": {k: v for k, v in params.items() if k not in PLACEMENT},
            "dataset": dataset_hash,
            "package": source_hash,
            "upstream": upstream if chapter.stage > 1 else "",
        },
        sort_keys=True,
    )
    return sha256_bytes(blob.encode())


def _copy_file(src: Path, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def run_chapters(
    chapters: tuple[Chapter, ...],
    *,
    base_params: dict[str, Any],
    out_dir: Path,
    dataset_hash: str,
    jobs: int,
    log: Callable[[str], None],
    run_dir: Path | None = None,
    prepare: Callable[[], None] | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> list[ChapterRun]:
    """Execute (or take from the cache) every chapter, stage by stage; parallel within a stage.

    Executed notebooks go to ``run_dir/notebooks`` and fragments to ``run_dir/.work/fragments``
    (``run_dir`` is the notebooks' ``out_dir``; default ``OUT/.run``); the cache is ``OUT/.cache``.
    ``prepare`` runs once, before the first chapter is executed (the build's stage 0). ``pool``:
    workers started by the caller (:func:`start_pool`), else started at the first chapter to
    execute; either way stopped on return.
    """
    run = run_dir or out_dir / RUN
    nb_dir = run / "notebooks"
    fragments = run / FRAGMENTS
    cache_dir = out_dir / CACHE
    tmp_dir = out_dir / WORK / "executing"
    for d in (nb_dir, fragments, cache_dir, tmp_dir):
        d.mkdir(parents=True, exist_ok=True)
    source_hash = paths.package_source_hash()
    runs: list[ChapterRun] = []
    timings_path = cache_dir / "timings.json"
    try:
        timings: dict[str, float] = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    except ValueError:
        timings = {}
    try:
        for stage in sorted({c.stage for c in chapters}):
            pool = _run_stage(stage, chapters, pool, base_params=base_params, run=run, nb_dir=nb_dir,
                              fragments=fragments, cache_dir=cache_dir, tmp_dir=tmp_dir, jobs=jobs, timings=timings,
                              timings_path=timings_path, runs=runs, source_hash=source_hash,
                              dataset_hash=dataset_hash, log=log, prepare=prepare)
    except BaseException:
        if pool is not None:
            stop_pool(pool)  # the workers and their kernels
        raise
    if pool is not None:
        pool.shutdown(wait=True)  # each worker shuts its kernel down as it exits
    return runs


def _run_stage(stage: int, chapters: tuple[Chapter, ...], pool: ProcessPoolExecutor | None, *, base_params: dict,
               run: Path, nb_dir: Path, fragments: Path, cache_dir: Path, tmp_dir: Path, jobs: int,
               timings: dict[str, float], timings_path: Path, runs: list[ChapterRun], source_hash: str,
               dataset_hash: str, log: Callable[[str], None],
               prepare: Callable[[], None] | None = None) -> ProcessPoolExecutor | None:
    """Take one stage's chapters from the cache or execute them; returns the (possibly new) pool."""
    # a chapter depends on the results of the earlier stages only (not on its own last run)
    earlier = [c.name for c in chapters if c.stage < stage]
    upstream = json.dumps(load_fragments(run, earlier), sort_keys=True)
    todo = []
    for chapter in (c for c in chapters if c.stage == stage):
        params = chapter_parameters(chapter, base_params)
        key = _chapter_key(chapter, params, dataset_hash, source_hash, upstream)
        key_file = cache_dir / f"{chapter.name}.key"
        cached_nb, cached_fragment = cache_dir / f"{chapter.name}.ipynb", cache_dir / f"{chapter.name}.json"
        if key_file.exists() and key_file.read_text() == key and cached_nb.exists():
            _copy_file(cached_nb, nb_dir / cached_nb.name)
            if cached_fragment.exists():
                _copy_file(cached_fragment, fragments / cached_fragment.name)
            runs.append(ChapterRun(chapter.name, timings.get(chapter.name, 0.0), cached=True))
            log(f"  {chapter.name}: unchanged, taken from the cache")
            continue
        key_file.unlink(missing_ok=True)
        todo.append((chapter, params, key))
    if todo:
        if pool is None:
            if prepare is not None:
                prepare()
            pool = start_pool(pool_size(chapters, jobs), tmp_dir)
        failures = _execute_stage(todo, pool, run=run, cache_dir=cache_dir, tmp_dir=tmp_dir, timings=timings,
                                  runs=runs, log=log)
        write_json_atomic(timings_path, timings)
        if failures:
            raise BuildError("the build failed:\n" + "\n".join(f"  - {f}" for f in failures))
    write_json_atomic(run / WORK / "timings.json", timings)  # read by the provenance page
    return pool


def pool_size(chapters: tuple[Chapter, ...], jobs: int) -> int:
    """Workers for ``chapters``: ``jobs``, but no more than the largest stage has chapters."""
    width = max((sum(1 for c in chapters if c.stage == s) for s in {c.stage for c in chapters}), default=1)
    return max(1, min(jobs, width))


def _main_spec_for_spawn() -> None:
    """Give ``__main__`` the ``__spec__`` attribute that spawning workers reads. A Jupyter kernel's
    ``%reset -f`` deletes it (the kernel's namespace is ``__main__``'s), and a summarising chapter run
    on its own builds the stage-1 chapters from inside the kernel; None is what an interactive
    session has."""
    import sys

    main = sys.modules.get("__main__")
    if main is not None and not hasattr(main, "__spec__"):
        main.__spec__ = None


def longest_first(todo: list, timings: dict[str, float]) -> list:
    """``todo`` ((chapter, ...) tuples) ordered by expected time, longest first: the chapter's time
    in the last build when known, else its estimate :attr:`Chapter.seconds`; ties keep their order."""
    return sorted(todo, key=lambda item: -(timings.get(item[0].name) or item[0].seconds))


def _execute_stage(todo: list, pool: ProcessPoolExecutor, *, run: Path, cache_dir: Path, tmp_dir: Path,
                   timings: dict[str, float], runs: list[ChapterRun], log: Callable[[str], None]) -> list[str]:
    """Execute the chapters of one stage in the pool's workers, longest first (by the last build's
    timings, else the chapters' own estimates); returns the failures' messages."""
    failures: list[str] = []
    todo = longest_first(todo, timings)
    with _signals_held():  # workers start with signals held, then ignore SIGINT (see _worker_init)
        futures = {
            pool.submit(_execute, chapter.name, str(chapter.source), str(tmp_dir / f"{chapter.name}.ipynb"),
                        params, str(tmp_dir)): (chapter, key)
            for chapter, params, key in todo
        }
    for future in as_completed(futures):
        chapter, key = futures[future]
        executed = tmp_dir / f"{chapter.name}.ipynb"
        fragment = run / FRAGMENTS / f"{chapter.name}.json"
        try:
            seconds = future.result()
        except BuildError as exc:
            failures.append(str(exc))
            # nothing of a failed chapter may look complete: no executed notebook, no results
            for stale in (executed, fragment):
                stale.unlink(missing_ok=True)
            continue
        # the cache entry first (its key last), then the staged copy
        os.replace(executed, cache_dir / f"{chapter.name}.ipynb")
        if fragment.exists():
            _copy_file(fragment, cache_dir / f"{chapter.name}.json")
        else:
            (cache_dir / f"{chapter.name}.json").unlink(missing_ok=True)
        tmp_key = cache_dir / f".{chapter.name}.key.tmp"
        tmp_key.write_text(key)
        os.replace(tmp_key, cache_dir / f"{chapter.name}.key")
        _copy_file(cache_dir / f"{chapter.name}.ipynb", run / "notebooks" / f"{chapter.name}.ipynb")
        timings[chapter.name] = round(seconds, 2)
        runs.append(ChapterRun(chapter.name, seconds, cached=False))
        log(f"  {chapter.name}: executed in {seconds:.1f} s")
    return failures
