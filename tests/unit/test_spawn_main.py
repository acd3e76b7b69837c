"""A chapter worker pool can be spawned from a Jupyter kernel after ``%reset -f``."""

from __future__ import annotations

import sys
import types

from veiligverder.pipeline.execute import _main_spec_for_spawn


def test_a_main_module_without_spec_gets_none(monkeypatch):
    main = types.ModuleType("__main__")  # as after %reset -f: no __spec__ attribute at all
    del main.__spec__
    monkeypatch.setitem(sys.modules, "__main__", main)
    _main_spec_for_spawn()
    assert main.__spec__ is None


def test_a_main_module_with_a_spec_keeps_it(monkeypatch):
    main = types.ModuleType("__main__")
    main.__spec__ = spec = types.SimpleNamespace(name="runner")
    monkeypatch.setitem(sys.modules, "__main__", main)
    _main_spec_for_spawn()
    assert main.__spec__ is spec
