"""Dataset folders: load (CSV, Parquet, SPSS .sav, with ``mapping.yml``) and validate against the codebook."""

from veiligverder.data.dataset import Dataset, DatasetMeta
from veiligverder.data.loader import (
    SYNTHETIC_GENERATOR,
    SYNTHETIC_MARKER,
    load_dataset,
    synthetic_proof,
    validate,
    validate_and_load,
    validate_cli,
)
from veiligverder.data.problems import DataValidationError, Problem, ValidationReport

__all__ = [
    "SYNTHETIC_GENERATOR",
    "SYNTHETIC_MARKER",
    "DataValidationError",
    "Dataset",
    "DatasetMeta",
    "Problem",
    "ValidationReport",
    "load_dataset",
    "synthetic_proof",
    "validate",
    "validate_and_load",
    "validate_cli",
]
