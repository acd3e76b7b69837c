"""The study cache: a loaded, scored dataset written once as Parquet and opened by every chapter.

Loading, validating and scoring the whole dataset takes seconds (minutes on registry-sized data);
the chapters need the same result. The build does it once (stage 0) and writes it here; each
chapter then opens the Parquet files in a fraction of a second.

An entry is a folder ``<cache>/<key>/`` named by :func:`study_key`, which changes whenever anything
that shapes the loaded study changes: the dataset files and the scoring keys (their content), the
cumulation threshold, rematching and its seed, and the package source. The key does not hold the
dataset's location: two folders with the same files share an entry (opened with its own path). It
does hold the location of a user's keys folder, which the study records and the book names.
Settings that do not change the loaded frames (disclosure threshold, follow-up rule) are not in
the key. Entries are written whole or not at all (a temporary folder renamed into place), readable
by the owner only: on real data they hold row-level answers, which is why the pipeline removes the
cache of a non-synthetic dataset when its build ends.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any

from veiligverder import paths

FORMAT = 1  # raise when the layout of an entry changes
_FRAMES = ("dataset.families", "dataset.parents", "dataset.children", "measures.parents", "measures.children",
           "measures.families", "scores.parents", "scores.children")


def _files_digest(folder: Path) -> str:
    """SHA-256 over the names and bytes of the files directly in ``folder``, read in blocks (about
    a second per GB: small next to loading the data, and exact where file times are not)."""
    h = hashlib.sha256()
    for p in sorted(Path(folder).iterdir()):
        if p.is_file():
            h.update(p.name.encode() + b"\0")
            with p.open("rb") as fh:
                h.update(hashlib.file_digest(fh, "sha256").digest())
    return h.hexdigest()


def study_key(data_dir: str | Path, *, keys_dir: str | Path | None, cumulation_threshold: int, rematch: bool,
              seed: int) -> str:
    """The cache key of a study: what the loaded frames depend on (see the module docstring)."""
    blob = {
        "format": FORMAT,
        "data": _files_digest(Path(data_dir)),
        "keys": _files_digest(Path(keys_dir) if keys_dir else paths.ILLUSTRATIVE_KEYS_DIR),
        # the study records where its keys came from (``keys_dir``, each key's path: the banner and
        # the instruments table name them), so a user's keys folder is part of the key as well
        "keys_dir": str(Path(keys_dir).resolve()) if keys_dir else None,
        "cumulation_threshold": cumulation_threshold,
        "rematch": [rematch, seed if rematch else None],
        "package": paths.package_source_hash(),
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:32]


def _frames(study: Any) -> dict[str, Any]:
    d, m = study.dataset, study.measures
    return {"dataset.families": d.families, "dataset.parents": d.parents, "dataset.children": d.children,
            "measures.parents": m.parents, "measures.children": m.children, "measures.families": m.families,
            "scores.parents": m.scores.get("parents", _empty()),
            "scores.children": m.scores.get("children", _empty())}


def _empty() -> Any:
    import pandas as pd

    return pd.DataFrame()


def _object_columns(frame: Any) -> list[str]:
    return [c for c in frame.columns if frame[c].dtype == object]


def save(study: Any, folder: str | Path) -> Path:
    """Write ``study`` as the cache entry ``folder`` (whole or not at all; owner-only permissions)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(folder.parent, 0o700)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        objects = {}
        for name, frame in _frames(study).items():
            frame.to_parquet(tmp / f"{name}.parquet", index=True)
            objects[name] = _object_columns(frame)
        meta = study.dataset.meta
        doc = {
            "format": FORMAT,
            "meta": {"path": str(meta.path), "content_hash": meta.content_hash, "synthetic": meta.synthetic,
                     "files": meta.files, "synthetic_reason": meta.synthetic_reason},
            "measures": {"keys": study.measures.keys, "cumulation_threshold": study.measures.cumulation_threshold},
            "study": {"norms": study.norms, "keys": study.keys, "rematched": study.rematched,
                      "keys_dir": None if study.keys_dir is None else str(study.keys_dir), "seed": study.seed},
            "object_columns": objects,
        }
        (tmp / "study.json").write_text(json.dumps(doc, sort_keys=True, default=str), encoding="utf-8")
        for p in tmp.iterdir():
            os.chmod(p, 0o600)
        try:
            os.replace(tmp, folder)
        except OSError:  # another process wrote the same entry first: same content, keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
        _write_json(sidecar(folder), doc["meta"])
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _read(folder: Path, name: str, objects: list[str]) -> Any:
    import numpy as np
    import pandas as pd

    frame = pd.read_parquet(folder / f"{name}.parquet")
    for column in objects:  # Arrow gives None for a missing text value; the loader gives NaN
        values = frame[column]
        if values.dtype == object:
            frame[column] = values.where(values.notna(), np.nan)
    return frame


def open_entry(folder: str | Path, study_type: type, data_dir: str | Path, **settings: Any) -> Any | None:
    """The study of cache entry ``folder`` for the dataset in ``data_dir``, with ``settings``
    applied, or None when there is no complete entry of this format (the caller then loads)."""
    from veiligverder.data.dataset import Dataset, DatasetMeta
    from veiligverder.measures import Measures

    folder = Path(folder)
    try:
        doc = json.loads((folder / "study.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if doc.get("format") != FORMAT:
        return None
    try:
        f = {name: _read(folder, name, doc["object_columns"][name]) for name in _FRAMES}
    except (OSError, ValueError, KeyError):  # pruned or damaged while opened: the caller loads
        return None
    m = doc["meta"]
    dataset = Dataset(families=f["dataset.families"], parents=f["dataset.parents"], children=f["dataset.children"],
                      meta=DatasetMeta(path=Path(data_dir).resolve(), content_hash=m["content_hash"], synthetic=m["synthetic"],
                                       files=m["files"], synthetic_reason=m["synthetic_reason"]))
    scores = {k: f[f"scores.{k}"] for k in ("parents", "children") if len(f[f"scores.{k}"].columns)}
    measures = Measures(parents=f["measures.parents"], children=f["measures.children"],
                        families=f["measures.families"], keys=doc["measures"]["keys"], scores=scores,
                        cumulation_threshold=doc["measures"]["cumulation_threshold"])
    s = doc["study"]
    known = {fl.name for fl in fields(study_type)}
    return study_type(dataset, measures, s["norms"], s["keys"], rematched=s["rematched"],
                      **{k: v for k, v in {"keys_dir": s["keys_dir"], "seed": s["seed"], **settings}.items()
                         if k in known})


def sidecar(folder: str | Path) -> Path:
    """``<key>.json`` next to the entry ``<key>/``: the dataset's meta (hash, files, synthetic or
    not), no row of data. It outlives the entry, so that a build where nothing changed knows the
    dataset's hash without loading it."""
    folder = Path(folder)
    return folder.with_name(folder.name + ".json")


def read_meta(folder: str | Path) -> dict[str, Any] | None:
    """The meta of the dataset whose study is (or was) cached as ``folder``, or None."""
    try:
        meta = json.loads(sidecar(folder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and "content_hash" in meta else None


def _write_json(path: Path, doc: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, sort_keys=True, default=str), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def prune(cache: str | Path, keep: str, *, older_than: float = 0.0) -> None:
    """Remove every entry of ``cache`` but ``keep`` (the build's) that is older than ``older_than``
    seconds: entries of older package versions or settings would otherwise pile up, tens of
    megabytes each. Sidecars stay (meta only). A shared cache (``paths.STUDY_CACHE_DIR``) is pruned
    with a delay, so that another process never loses the entry it is opening."""
    import time

    cache = Path(cache)
    if cache.is_dir():
        now = time.time()
        for p in cache.iterdir():
            if p.is_dir() and p.name != keep and now - p.stat().st_mtime >= older_than:
                shutil.rmtree(p, ignore_errors=True)


def discard(cache: str | Path) -> None:
    """Remove every study entry of a cache folder (the end of a build on real data): the row-level
    frames go; the sidecars (meta only) stay."""
    cache = Path(cache)
    if cache.is_dir():
        for p in cache.iterdir():
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
