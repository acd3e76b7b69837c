"""Names a package exports but imports on first use (PEP 562), for the packages whose modules pull
in heavy libraries (``stats``: scipy; ``analysis``: the statistics stack): importing one light module
of such a package then does not import the rest."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, names: Mapping[str, str],
                 namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The package's ``__getattr__`` and ``__dir__``: ``names`` maps each exported name to the module
    of ``package`` that defines it; a name is imported on first access and kept in ``namespace``
    (the package's ``globals()``), so the next access is a plain attribute."""

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(f"{package}.{names[name]}"), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__
