"""Every path of the project, derived from the project root (never from the working directory)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# src/veiligverder -> src -> project root (an editable install keeps this layout).
PROJECT_ROOT = Path(os.environ.get("VEILIGVERDER_ROOT", PACKAGE_DIR.parent.parent)).resolve()

CODEBOOK = PACKAGE_DIR / "contract" / "codebook.yml"
SPECS_DIR = PACKAGE_DIR / "instruments" / "specs"
ILLUSTRATIVE_KEYS_DIR = PACKAGE_DIR / "instruments" / "keys" / "illustrative"

BOOK_DIR = PROJECT_ROOT / "book"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
BOOK_CONFIG = PROJECT_ROOT / "_config.yml"
DATA_DIR = PROJECT_ROOT / "data"
SYNTHETIC_DATA_DIR = DATA_DIR / "synthetic"
REPORT_FACTS = DATA_DIR / "reference" / "report_facts.yml"
QUALITATIVE_DIR = DATA_DIR / "qualitative"
DEFAULT_OUT_DIR = PROJECT_ROOT / "_build"
SHARED_DIR = PROJECT_ROOT.parent / "shared"
