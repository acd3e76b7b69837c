"""The stats and analysis packages import their heavy modules on first use (veiligverder.lazy)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from veiligverder.lazy import lazy_exports


def test_loading_and_scoring_do_not_import_scipy_stats():
    """A build's stage 0 and ``veiligverder validate`` load, validate and score: no scipy.stats."""
    code = ("import sys\nimport veiligverder.data, veiligverder.measures, veiligverder.stats, veiligverder.analysis.study\n"
            "print('scipy.stats' in sys.modules)\n"
            "from veiligverder import stats\nstats.mixed_anova\nprint('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def test_lazy_exports_imports_on_first_access_and_keeps_the_name():
    namespace: dict = {}
    getattr_, dir_ = lazy_exports("veiligverder", {"DEFAULT_SEED": "vocab"}, namespace)
    assert "DEFAULT_SEED" in dir_() and namespace == {}
    assert getattr_("DEFAULT_SEED") == 20201231 and namespace == {"DEFAULT_SEED": 20201231}
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        getattr_("missing")
