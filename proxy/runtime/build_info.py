"""Which of the package's modules run compiled (mypyc, see setup.py), and whether that build
still matches the source it came from.

Said by ``dialect --version`` and by the bench, because the same source runs at two speeds: a
number measured on a pure-Python install is not the number of a compiled one.

A compiled module is a C extension next to its ``.py`` file, and Python imports the extension
first: after an edit (or a ``git pull``) without a rebuild, the old build would run, silently. So
a build records the SHA-256 of every source it compiled (``compiled_sources.json`` here, written
by setup.py), and ``guard``, called by ``proxy/__init__.py`` before anything compiled can be
imported, compares the record with the sources on disk.

The choice when they differ (or a build has no record, or only part of its set is on disk):
**fall back, loudly**. Every compiled module is then imported from its source (pure Python: the
code on disk, only slower), a warning naming the changed files goes to stderr at import, and the
same reason shows in ``dialect --version``, in ``dialect serve``'s and ``demo``'s start-up log,
and in the pytest header and summary. Falling back rather than refusing, because a developer who
edits a module and runs ``pytest`` then tests what they edited, and a server restarted after a
hotfix runs the fix; every module rather than the changed ones only, because compiled modules
reach each other's native classes directly and do not mix with interpreted copies of one
another. ``make install`` rebuilds, and the warning goes away.

``DIALECT_PURE=1`` asks for the same thing on purpose, with no warning: every compiled module
runs from its source although the build is current. ``make test`` runs the unit and integration
suites a second time that way, so that both builds are tested by one command (a behaviour that
differs between the compiled and the interpreted module is a bug in one of them), and a developer
can compare the two without reinstalling.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import TextIO

PACKAGE_DIR = Path(__file__).resolve().parents[1]
RECORD = Path(__file__).resolve().with_name("compiled_sources.json")

# Set by ``guard`` at ``import proxy`` when the build is stale: the compiled modules, all of
# which then run from source, and why.
STALE: list[str] = []
STALE_REASON: list[str] = [""]
# Set by ``guard`` when ``DIALECT_PURE=1`` asked for the source over a current build.
PURE_BY_REQUEST: list[str] = []
PURE_ENV = "DIALECT_PURE"


def source_digest(path: Path) -> str:
    """What a build records of a source (setup.py computes the same)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extension_modules(package_dir: Path, package: str) -> dict[str, Path]:
    """Every module under ``package_dir`` that has a C extension file, with its source path."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    found: dict[str, Path] = {}
    for folder, dirs, files in os.walk(package_dir):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        relative = Path(folder).relative_to(package_dir).parts
        for name in files:
            suffix = next((s for s in suffixes if name.endswith(s)), None)
            if suffix is not None:
                stem = name[: -len(suffix)]
                found[".".join((package, *relative, stem))] = Path(folder) / f"{stem}.py"
    return found


def _recorded(record: Path) -> dict[str, str]:
    try:
        modules = json.loads(record.read_text())["modules"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {str(k): str(v) for k, v in modules.items()} if isinstance(modules, dict) else {}


def stale_build(package_dir: Path, package: str, record: Path) -> tuple[dict[str, Path], list[str]]:
    """The compiled modules that must not run from their build, with their sources, and why:
    all of them when any source differs from what the build recorded, when the build has no
    record, or when a recorded module's extension is missing (a partial set); else none."""
    extensions = {m: p for m, p in extension_modules(package_dir, package).items() if p.is_file()}
    if not extensions:
        return {}, []
    recorded = _recorded(record)
    if not recorded:
        reasons = [f"no record of the sources it was built from ({record.name})"]
    else:
        reasons = [
            f"{_shown(p, package_dir)} changed since the build"
            for m, p in sorted(extensions.items())
            if recorded.get(m) != source_digest(p)
        ]
        reasons += [
            f"{m} was built but its extension is missing"
            for m in sorted(set(recorded) - set(extensions))
        ]
    return (dict(sorted(extensions.items())), reasons) if reasons else ({}, [])


class SourceFirst:
    """Imports the named modules from their ``.py`` source, ahead of any extension file (a
    meta path finder; not derived from ``importlib.abc``, whose import costs more than this
    whole check)."""

    def __init__(self, sources: dict[str, Path]) -> None:
        self.sources = sources

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        source = self.sources.get(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def guard(
    package_dir: Path = PACKAGE_DIR,
    package: str = "proxy",
    record: Path = RECORD,
    stream: TextIO | None = None,
) -> SourceFirst | None:
    """Before anything compiled is imported: if the build is stale, import every compiled
    module from its source from now on, and say why on ``stream`` (stderr); with
    ``DIALECT_PURE=1``, import them from source in any case, silently."""
    sources, reasons = stale_build(package_dir, package, record)
    if not sources:
        if os.environ.get(PURE_ENV) != "1":
            return None
        requested = {
            m: p for m, p in extension_modules(package_dir, package).items() if p.is_file()
        }
        if not requested:
            return None
        chosen = SourceFirst(requested)
        sys.meta_path.insert(0, chosen)
        if package == "proxy":
            PURE_BY_REQUEST[:] = list(requested)
        return chosen
    finder = SourceFirst(sources)
    sys.meta_path.insert(0, finder)
    reason = stale_reason(len(sources), reasons)
    if package == "proxy":
        STALE[:] = list(sources)
        STALE_REASON[0] = reason
    print(f"dialect: WARNING: {reason}", file=stream or sys.stderr)
    return finder


def _shown(path: Path, package_dir: Path) -> str:
    return path.relative_to(package_dir.parent).as_posix()


def stale_reason(count: int, reasons: list[str]) -> str:
    shown = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3 else "")
    return (
        f"the compiled build is stale ({shown}): its {count} modules run from source, as pure "
        "Python. `make install` rebuilds them."
    )


def compiled_modules() -> list[str]:
    """The ``proxy`` modules that import from a C extension, found without importing them."""
    import pkgutil

    import proxy

    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    found = []
    for module in pkgutil.walk_packages(proxy.__path__, "proxy."):
        spec = importlib.util.find_spec(module.name)
        if spec is not None and spec.origin and spec.origin.endswith(suffixes):
            found.append(module.name)
    return sorted(found)


def describe() -> str:
    from proxy import __version__

    compiled = compiled_modules()
    if compiled:
        how = f"request path compiled with mypyc ({len(compiled)} modules)"
    elif STALE:
        # Short: argparse wraps a long version line. The reason went to stderr at import.
        how = "pure Python (the compiled build is stale)"
    elif PURE_BY_REQUEST:
        how = f"pure Python ({PURE_ENV}=1 over a compiled build)"
    else:
        how = "pure Python (nothing compiled)"
    return f"dialect {__version__}, {how}"
