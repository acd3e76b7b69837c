"""The stage-1 results a summarising chapter reads when it runs on its own, outside a build.

The landing page, the conclusion, the scorecard and the provenance appendix (stages 2 and 3) read
the results that the stage-1 chapters recorded in the build's output folder (their ``out_dir``
parameter). Opened on their own in JupyterLab, ``out_dir`` is None; :func:`results_folder` then
builds the stage-1 chapters with the pipeline (``--no-book``) into
:data:`veiligverder.paths.STANDALONE_BUILD_DIR` and returns that build's folder. The pipeline's
chapter cache makes a second run take seconds. This is done on the synthetic twin only: results of
real data are written only to an output folder the user chose, so there ``out_dir`` must be set.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from veiligverder import paths
from veiligverder.params import Params
from veiligverder.pipeline.errors import OutputError, OutputInUse
from veiligverder.analysis.store import sidecar, study_key
from veiligverder.pipeline.folder import CACHE, RUN, STUDY

#: How long a chapter waits for another standalone build of the same folder (a second notebook).
WAIT_SECONDS = 900.0


def results_folder(out_dir: str | Path | None, *, data_dir: str | Path | None = None,
                   log: Callable[[str], None] = print, **params: Any) -> Path:
    """The folder whose fragments (``load_fragments``) and timings a summarising chapter reads.

    ``out_dir`` given (a build, or a folder of a build the user names): that folder, unchanged.
    ``out_dir`` None on the synthetic twin (``data_dir`` None) or on another proven synthetic
    dataset: the stage-1 chapters are built with ``params`` (the chapter's parameters; unknown
    names are ignored) into :data:`~veiligverder.paths.STANDALONE_BUILD_DIR`, and its published
    run is returned; one line says so. On data that are not proven synthetic an ``OutputError``
    asks for ``out_dir``.
    """
    if out_dir is not None:
        return Path(out_dir)
    from veiligverder.data import synthetic_proof
    from veiligverder.pipeline import chapters as book_chapters
    from veiligverder.pipeline.build import build, resolve_dataset

    data = resolve_dataset(data_dir)  # the twin is generated when absent
    proven, _ = synthetic_proof(data)
    if not proven:
        raise OutputError(
            "out_dir is None and the dataset is not the synthetic twin: this chapter summarises the "
            "results of the other chapters, which are written only to an output folder you choose. "
            "Build them with `veiligverder build --data DATA --out OUT --no-book` and set out_dir = OUT.")
    known = {f.name for f in dataclasses.fields(Params)}
    settings = Params(**{k: v for k, v in params.items() if k in known})
    stage1 = tuple(c for c in book_chapters.CHAPTERS if c.stage == 1)
    out = paths.STANDALONE_BUILD_DIR
    key = study_key(data, keys_dir=settings.keys_dir, cumulation_threshold=settings.cumulation_threshold,
                    rematch=settings.rematch, seed=settings.seed)
    _share_entry(paths.STUDY_CACHE_DIR / key, out / CACHE / STUDY / key)  # the twin's study, loaded once
    deadline = time.monotonic() + WAIT_SECONDS
    start = time.perf_counter()
    while True:
        try:
            build(data_dir=data, out_dir=out, params=settings, book=False, chapters=stage1, log=lambda line: None)
            break
        except OutputInUse:  # another chapter builds the same folder now: its results will do
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
    _share_entry(out / CACHE / STUDY / key, paths.STUDY_CACHE_DIR / key)
    where = out.relative_to(paths.PROJECT_ROOT) if out.is_relative_to(paths.PROJECT_ROOT) else out.name
    log(f"out_dir is None: the results of the {len(stage1)} stage-1 chapters come from a build of them on the "
        f"synthetic twin in {where}/ ({time.perf_counter() - start:.0f} s; cached, so it is quick the next time)")
    return out / RUN


def _share_entry(source: Path, target: Path) -> None:
    """Copy the study cache entry ``source`` (with its meta sidecar) to ``target`` when only the
    first exists: a standalone chapter and the standalone build then load the twin once between
    them. Only ever called for proven synthetic data; a copy that fails is simply not made."""
    if not (source / "study.json").exists() or (target / "study.json").exists():
        return
    tmp = target.with_name(f".{target.name}.copy")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source, tmp)
        if sidecar(source).exists():
            shutil.copy2(sidecar(source), sidecar(target))
        os.replace(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
