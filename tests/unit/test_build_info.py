"""What an install runs is what its files say: the modules setup.py lists are compiled all or
none, ``dialect --version`` reports it, and a build older than its source never runs."""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import importlib.util
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from proxy.runtime import build_info
from tests.conftest import ROOT

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _setup_value(name: str) -> object:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"setup.py has no {name}")


def _listed_in_setup() -> set[str]:
    paths = _setup_value("COMPILED")
    assert isinstance(paths, list)
    return {p.removesuffix(".py").replace("/", ".") for p in paths}


def _extension_on_disk(module: str) -> bool:
    source = ROOT / (module.replace(".", "/") + ".py")
    return any(
        source.with_name(source.stem + suffix).is_file()
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
    )


def test_the_build_is_what_its_files_say() -> None:
    listed = _listed_in_setup()
    on_disk = {m for m in listed if _extension_on_disk(m)}
    # The compiled modules share one runtime library: a partial set would not import.
    assert on_disk in (set(), listed)
    compiled = set(build_info.compiled_modules())
    if build_info.STALE:
        # A stale build runs nothing compiled: every listed module comes from its source.
        assert compiled == set()
        assert set(build_info.STALE) == on_disk
    elif build_info.PURE_BY_REQUEST:
        # DIALECT_PURE=1 over a current build: the same, asked for.
        assert compiled == set()
        assert set(build_info.PURE_BY_REQUEST) == on_disk
    else:
        assert compiled == on_disk
    for name in sorted(listed):
        origin = importlib.import_module(name).__file__ or ""
        assert origin.endswith(SUFFIX if name in compiled else ".py"), (name, origin)


def test_every_listed_module_exists_and_the_guard_itself_is_never_compiled() -> None:
    listed = _listed_in_setup()
    for name in listed:
        assert (ROOT / (name.replace(".", "/") + ".py")).is_file(), name
    # The guard decides whether compiled code may run, so it must not be compiled code.
    assert not {"proxy", "proxy.runtime", "proxy.runtime.build_info"} & listed
    assert _setup_value("RECORD") == build_info.RECORD.relative_to(ROOT).as_posix()


def test_version_says_how_the_request_path_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "proxy", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("dialect 0.1.0, ")
    if build_info.compiled_modules():
        assert f"compiled with mypyc ({len(_listed_in_setup())} modules)" in out
    elif build_info.STALE:
        assert "pure Python (the compiled build is stale)" in out
    elif build_info.PURE_BY_REQUEST:
        assert "pure Python (DIALECT_PURE=1 over a compiled build)" in out
    else:
        assert "pure Python (nothing compiled)" in out


# -- a tiny package in a known state: a source, a "build" of it, and the build's record ------


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``stalepkg.mod`` with an extension file next to its source, as a compiled build leaves
    it. The extension is not loadable: importing it would fail, so an import that succeeds
    came from the source. ``DIALECT_PURE`` is unset (``make test``'s pure pass sets it): the
    tests that want it set it themselves."""
    monkeypatch.delenv("DIALECT_PURE", raising=False)
    root = tmp_path / "stalepkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "mod.py").write_text("WHERE = 'source'\n")
    (root / f"mod{SUFFIX}").write_bytes(b"not a real extension")
    record = tmp_path / "record.json"
    digest = build_info.source_digest(root / "mod.py")
    record.write_text(json.dumps({"modules": {"stalepkg.mod": digest}}))
    sys.path.insert(0, str(tmp_path))
    finders = list(sys.meta_path)
    try:
        yield root
    finally:
        sys.path.remove(str(tmp_path))
        sys.meta_path[:] = finders
        for name in ("stalepkg", "stalepkg.mod"):
            sys.modules.pop(name, None)


def _guard(root: Path) -> tuple[object, str]:
    out = io.StringIO()
    finder = build_info.guard(root, "stalepkg", root.parent / "record.json", stream=out)
    return finder, out.getvalue()


def test_a_build_that_matches_its_source_is_left_alone(package: Path) -> None:
    # Touched but unchanged (a checkout, a copy): the content decides, not the time.
    os.utime(package / "mod.py", (1, 1))
    finder, said = _guard(package)
    assert finder is None and said == ""
    # Python itself prefers the extension: this is what runs when nothing intervenes.
    spec = importlib.util.find_spec("stalepkg.mod")
    assert spec is not None and (spec.origin or "").endswith(SUFFIX)


def test_dialect_pure_runs_a_current_build_from_source_silently(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIALECT_PURE", "1")
    finder, said = _guard(package)
    assert finder is not None and said == ""
    # The extension file is not loadable: the import succeeding proves the source ran.
    assert importlib.import_module("stalepkg.mod").WHERE == "source"


def test_dialect_pure_other_than_1_leaves_a_current_build_alone(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIALECT_PURE", "0")
    finder, said = _guard(package)
    assert finder is None and said == ""


def test_a_changed_source_runs_from_source_with_a_warning(package: Path) -> None:
    (package / "mod.py").write_text("WHERE = 'edited source'\n")
    finder, said = _guard(package)
    assert finder is not None
    assert "stale" in said and "stalepkg/mod.py changed since the build" in said
    assert importlib.import_module("stalepkg.mod").WHERE == "edited source"


def test_a_build_without_a_record_is_not_trusted(package: Path) -> None:
    (package.parent / "record.json").unlink()
    finder, said = _guard(package)
    assert finder is not None and "no record" in said
    assert importlib.import_module("stalepkg.mod").WHERE == "source"


def test_a_partial_build_runs_wholly_from_source(package: Path) -> None:
    (package / "other.py").write_text("")
    record = package.parent / "record.json"
    data = json.loads(record.read_text())
    data["modules"]["stalepkg.other"] = build_info.source_digest(package / "other.py")
    record.write_text(json.dumps(data))
    finder, said = _guard(package)
    assert finder is not None and "stalepkg.other was built but its extension is missing" in said
    assert importlib.import_module("stalepkg.mod").WHERE == "source"


def _reused_except_names(source: str) -> list[str]:
    found = []
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        kinds: dict[str, str] = {}
        for node in ast.walk(func):
            if isinstance(node, ast.ExceptHandler) and node.name and node.type is not None:
                kind = ast.unparse(node.type)
                if kinds.setdefault(node.name, kind) != kind:
                    found.append(f"{func.name}:{node.lineno} {node.name}")
    return found


def test_compiled_modules_give_each_except_clause_its_own_name() -> None:
    # Compiled, a name bound by ``except A as e`` keeps A's type in the whole function: a
    # later ``except B as e`` fails with a TypeError instead of handling B.
    for name in sorted(_listed_in_setup()):
        source = (ROOT / (name.replace(".", "/") + ".py")).read_text()
        assert _reused_except_names(source) == [], name
