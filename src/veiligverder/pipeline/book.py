"""The HTML book: stage the book sources with the executed notebooks, run Jupyter Book 1.x."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from veiligverder import paths
from veiligverder.pipeline.errors import BuildError
from veiligverder.pipeline.folder import BOOK_KEY, CACHE, RUN
from veiligverder.pipeline.execute import sha256_bytes, write_if_changed


#: Parameters that hold a place on the builder's machine (a folder name can say whose data it is).
PATH_PARAMETERS = ("data_dir", "out_dir", "study_cache", "keys_dir")
#: What the book's copy of a notebook says instead of the injected parameters.
WITHHELD_NOTE = "# the build's parameters; folders are not published (the provenance appendix lists the settings)"


def for_readers(notebook: bytes) -> bytes:
    """The book's copy of an executed notebook (the page and its download button): folder
    parameters set to None in the injected-parameters cell and in the papermill metadata. Every
    other parameter, cell and output is kept as executed; OUT/notebooks keeps the original."""
    nb = json.loads(notebook)
    meta = nb.get("metadata", {}).get("papermill", {})
    params = meta.get("parameters", {})

    def hidden(name: str, value: object) -> bool:
        return name in PATH_PARAMETERS or isinstance(value, str) and Path(value).is_absolute()

    if params:
        meta["parameters"] = {k: None if hidden(k, v) else v for k, v in params.items()}
    for key in ("input_path", "output_path", "cwd"):
        meta.pop(key, None)
    for cell in nb.get("cells", []):
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            lines = [f"{k} = {None if hidden(k, v) else v!r}" for k, v in params.items()]
            cell["source"] = "\n".join([WITHHELD_NOTE, *lines])
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    # and wherever an output printed one of those folders (or a file in it): its name instead
    for name, value in sorted(params.items(), key=lambda kv: -len(str(kv[1]))):
        if isinstance(value, str) and hidden(name, value) and len(value) > 1:
            text = text.replace(json.dumps(value)[1:-1], f"<{name}>")
    return text.encode()


def stage_book(out_dir: Path, notebooks: Path | None = None) -> Path:
    """Copy the book sources and executed notebooks into ``OUT/.stage`` (only changed files)."""
    stage = out_dir / ".stage"
    stage.mkdir(parents=True, exist_ok=True)
    wanted: dict[Path, bytes] = {stage / "_config.yml": paths.BOOK_CONFIG.read_bytes()}
    for src in paths.BOOK_DIR.rglob("*"):
        if src.is_file() and "__pycache__" not in src.parts:
            wanted[stage / src.relative_to(paths.BOOK_DIR)] = src.read_bytes()
    for src in (notebooks or out_dir / "notebooks").glob("*.ipynb"):
        wanted[stage / src.name] = for_readers(src.read_bytes())
    for dest, data in wanted.items():
        write_if_changed(dest, data)
    for old in stage.rglob("*"):
        if old.is_file() and old not in wanted:
            old.unlink()
    return stage


def book_stamp(out_dir: Path, notebooks: Path) -> str:
    """Hash of the staged book sources (what ``html/`` is built from)."""
    stage = stage_book(out_dir, notebooks)
    return sha256_bytes(*(p.read_bytes() + str(p).encode() for p in sorted(stage.rglob("*")) if p.is_file()))


def _published_stamp(out_dir: Path) -> str | None:
    key = out_dir / "html" / BOOK_KEY
    return key.read_text() if key.is_file() and (out_dir / "html" / "index.html").exists() else None


def build_html(out_dir: Path, *, log: Callable[[str], None], run_dir: Path | None = None) -> str:
    """Build the book of the staged notebooks into ``run_dir/html``; any Sphinx warning fails the build.

    Returns ``"keep"`` when the published ``html/`` was built from the same sources (nothing is
    built), else ``"new"``.
    """
    run = run_dir or out_dir / RUN
    stamp = book_stamp(out_dir, run / "notebooks")
    if _published_stamp(out_dir) == stamp:
        log("  book: sources unchanged, HTML kept")
        return "keep"
    jb_out = out_dir / ".jb"
    unfinished = out_dir / CACHE / "jb.unfinished"
    if unfinished.exists():  # a stopped Sphinx run may leave its environment ahead of its output
        shutil.rmtree(jb_out, ignore_errors=True)
    unfinished.parent.mkdir(parents=True, exist_ok=True)
    unfinished.touch()
    # Sphinx keeps its parsed pages (.doctrees) but writes pages, and copies _static, only for
    # pages it finds out of date: a changed style sheet alone would never reach the HTML, and a
    # page no longer built would stay. Without its old HTML every page is written again (cheap).
    shutil.rmtree(jb_out / "_build" / "html", ignore_errors=True)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(out_dir / ".stage"), "--path-output", str(jb_out), "--builder", "html",
           "-n", "-W", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise BuildError(f"jupyter-book build failed (warnings count as errors):\n{tail}")
    unfinished.unlink()
    html = run / "html"
    shutil.rmtree(html, ignore_errors=True)
    shutil.copytree(jb_out / "_build" / "html", html)
    (html / BOOK_KEY).write_text(stamp)
    return "new"
