"""The report's published claims, recomputed and judged.

- ``claims.yml`` -- every published number or direction once: its ``report_facts.yml`` key, value,
  result id, what the calibration recomputes and its tolerance (read by
  :mod:`veiligverder.contract.claims`, where the twin's generator reads it too);
- :mod:`~veiligverder.reproduction.verdict` -- the one verdict engine (:func:`judge`);
- :mod:`~veiligverder.reproduction.scorecard` -- the book's scorecard, claims against ``results.json``;
- :mod:`~veiligverder.reproduction.calibration` -- the twin's calibration, claims recomputed from a dataset;
- :mod:`~veiligverder.reproduction.reliability` -- Cronbach's alpha as reported next to alpha computed.
"""
