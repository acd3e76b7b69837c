"""Where a build came from: package versions, git commit, run time per chapter."""

from __future__ import annotations

import json
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from veiligverder import paths

PACKAGES = ("veiligverder", "numpy", "pandas", "scipy", "statsmodels", "pingouin", "pyarrow", "pyreadstat",
            "matplotlib", "seaborn", "papermill", "jupytext", "jupyter-book", "myst-nb", "sphinx")


def package_versions(packages: tuple[str, ...] = PACKAGES) -> pd.DataFrame:
    """Installed version of each package the computation and the book depend on."""
    rows = []
    for name in packages:
        try:
            rows.append({"package": name, "version": version(name)})
        except PackageNotFoundError:
            rows.append({"package": name, "version": "not installed"})
    return pd.DataFrame(rows)


def git_commit(root: Path = paths.PROJECT_ROOT) -> str:
    """The commit the project tree is at, with '+changes' when the tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+changes" if dirty else "")


def chapter_timings(out_dir: str | Path) -> pd.DataFrame:
    """Seconds each chapter notebook took at its last execution (the pipeline's timing log)."""
    path = Path(out_dir) / ".work" / "timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    return pd.DataFrame({"chapter": list(data), "seconds": list(data.values())})


def build_facts(meta, params: dict) -> pd.DataFrame:
    """The data and settings of a build, one row each: dataset folder (by name), synthetic or not,
    content hash, files, git commit, then every parameter. A keys folder shows by its name only,
    like the dataset: the book never shows a reader's local paths."""
    shown = dict(params)
    keys = shown.get("keys_dir")
    shown["keys_dir"] = Path(str(keys)).name if keys else "illustrative keys (shipped)"
    rows = [("dataset folder", meta.path.name), ("synthetic twin", "yes" if meta.synthetic else "no"),
            ("content hash (SHA-256)", meta.content_hash[:16] + "…"),
            ("files", ", ".join(meta.files.values())), ("git commit", git_commit())]
    rows += [(f"parameter {k}", str(v)) for k, v in shown.items()]
    return pd.DataFrame(rows, columns=["item", "value"]).set_index("item")
