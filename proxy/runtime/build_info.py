"""Which of the package's modules run compiled (mypyc, see setup.py) and which interpreted.

Said by ``dialect --version`` and by the bench, because the same source runs at two speeds:
a number measured on a pure-Python install is not the number of a compiled one.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import pkgutil

import proxy


def compiled_modules() -> list[str]:
    """The ``proxy`` modules that import from a C extension, found without importing them."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    found = []
    for module in pkgutil.walk_packages(proxy.__path__, "proxy."):
        spec = importlib.util.find_spec(module.name)
        if spec is not None and spec.origin and spec.origin.endswith(suffixes):
            found.append(module.name)
    return sorted(found)


def describe() -> str:
    compiled = compiled_modules()
    how = (
        f"request path compiled with mypyc ({len(compiled)} modules)"
        if compiled
        else "pure Python (nothing compiled)"
    )
    return f"dialect {proxy.__version__}, {how}"
