"""Veilig Verder compendium: load, score and analyse the evaluation data, and build the book."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("veiligverder")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
