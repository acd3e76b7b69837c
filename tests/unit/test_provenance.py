"""The provenance page's facts: what produced a build, without a reader's local paths."""

from __future__ import annotations

import types
from pathlib import Path

from veiligverder.report import provenance


def test_build_facts_show_folders_by_name_and_every_parameter():
    meta = types.SimpleNamespace(path=Path("/home/someone/secret/wave3_export"), synthetic=False,
                                 content_hash="ab" * 32, files={"families": "families.csv"})
    facts = provenance.build_facts(meta, {"follow_up_rule": "T1", "keys_dir": "/home/someone/keys/licensed",
                                          "seed": 7})
    values = facts["value"]
    assert values["dataset folder"] == "wave3_export"
    assert values["parameter keys_dir"] == "licensed"
    assert values["parameter follow_up_rule"] == "T1" and values["parameter seed"] == "7"
    assert values["synthetic twin"] == "no" and values["content hash (SHA-256)"] == "ab" * 8 + "…"
    assert not any("/home/someone" in str(v) for v in values)
    no_keys = provenance.build_facts(meta, {"keys_dir": None})
    assert no_keys.loc["parameter keys_dir", "value"] == "illustrative keys (shipped)"
