"""Test support: datasets, builds and the headless browser (not part of the package)."""
