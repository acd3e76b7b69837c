"""Every path of the project, derived from the project root (never from the working directory)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# src/veiligverder -> src -> project root (an editable install keeps this layout).
PROJECT_ROOT = Path(os.environ.get("VEILIGVERDER_ROOT", PACKAGE_DIR.parent.parent)).resolve()

CODEBOOK = PACKAGE_DIR / "contract" / "codebook.yml"
CONTRACT_DOC = PACKAGE_DIR / "contract" / "CONTRACT.md"  # the contract document the code cites as "CONTRACT §n"
SPECS_DIR = PACKAGE_DIR / "instruments" / "specs"
ILLUSTRATIVE_KEYS_DIR = PACKAGE_DIR / "instruments" / "keys" / "illustrative"
CLAIMS = PACKAGE_DIR / "reproduction" / "claims.yml"  # published claims and tolerances (contract.claims)

BOOK_DIR = PROJECT_ROOT / "book"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
BOOK_CONFIG = PROJECT_ROOT / "_config.yml"
DATA_DIR = PROJECT_ROOT / "data"
SYNTHETIC_DATA_DIR = DATA_DIR / "synthetic"
REPORT_FACTS = DATA_DIR / "reference" / "report_facts.yml"
QUALITATIVE_DIR = DATA_DIR / "qualitative"
DEFAULT_OUT_DIR = PROJECT_ROOT / "_build"
SHARED_DIR = PROJECT_ROOT.parent / "shared"
STUDY_CACHE_DIR = DEFAULT_OUT_DIR / ".cache" / "study"  # where a notebook run outside a build caches the twin
# where a summarising chapter run outside a build (out_dir None) has the stage-1 chapters built, on the twin only
STANDALONE_BUILD_DIR = DEFAULT_OUT_DIR / ".cache" / "standalone"


def dataset_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The dataset folder a chapter reads: ``data_dir`` as an absolute path, or the embedded
    synthetic twin (:data:`SYNTHETIC_DATA_DIR`) when it is None, the default of every notebook's
    parameters cell. Whether the folder holds a dataset is the loader's to tell."""
    return SYNTHETIC_DATA_DIR if data_dir is None else Path(data_dir).expanduser().resolve()


def package_source_hash() -> str:
    """SHA-256 of every file of the installed package source (code, specs, keys, claims): builds and
    the study cache are keyed by it, so a changed package never reuses an old result."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(PACKAGE_DIR)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()
