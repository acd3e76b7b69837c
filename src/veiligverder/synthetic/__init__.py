"""The synthetic twin: a calibrated stand-in for the Veilig Verder data, in the contract's form.

Public API
----------
write_synthetic(out_dir, *, seed=vocab.DEFAULT_SEED) -> Path
    Generate and write the dataset folder (families/parents/children CSV + the ``SYNTHETIC``
    manifest: generator, version, seed and the SHA-256 of each file; see ``write_manifest``).
write_manifest(folder, *, seed, comment=None) -> Path
    Write the ``SYNTHETIC`` manifest for the dataset files in ``folder``. The loader treats data
    as synthetic (disclosure control off) only when this manifest matches the files it reads.
generate(seed=vocab.DEFAULT_SEED) -> dict of DataFrame
    The three contract tables in memory.
main_cli(out, seed) -> int
    The ``veiligverder synth`` command.

The model is described in :mod:`veiligverder.synthetic.model`; the targets (each citing its key in
``report_facts.yml``) are the published claims of ``reproduction/claims.yml``, read through
:func:`veiligverder.contract.claims.load_targets` (re-exported here); the model's own choices in
``params.yml``.
"""

from veiligverder.contract.claims import load_targets
from veiligverder.synthetic.model import DEFAULT_SEED, generate
from veiligverder.synthetic.writer import (MARKER, MODEL_VERSION, SyntheticWriteError, main_cli, write_manifest,
                                          write_synthetic)


__all__ = ["DEFAULT_SEED", "MARKER", "MODEL_VERSION", "SyntheticWriteError", "generate",
           "load_targets", "main_cli", "write_manifest", "write_synthetic"]
